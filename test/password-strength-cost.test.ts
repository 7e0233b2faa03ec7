/**
 * Guarantee 10 for `minStrength`: what one request costs in zxcvbn is bounded, whatever `maxLength` allows, since
 * a rejected password leaves the link usable and one token can be replayed. Counted as work (what reaches zxcvbn),
 * not time; weak passwords are still rejected.
 */
import { createHash, randomBytes } from 'node:crypto';
import { zxcvbn } from '@zxcvbn-ts/core';
import type { PasswordResetOptions } from '../lib';
import { SCORED_CHARACTERS } from '../lib/core/password-policy';
import { createApp, type TestApp } from './helpers/create-app';

jest.mock('@zxcvbn-ts/core', () => {
  const actual = jest.requireActual<typeof import('@zxcvbn-ts/core')>('@zxcvbn-ts/core');
  return { ...actual, zxcvbn: jest.fn(actual.zxcvbn) };
});
const scored = jest.mocked(zxcvbn);

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  scored.mockClear();
});

/** A custom hash lifts bcrypt's 72 bytes, so `maxLength` may go up to 1,024 characters. */
const LONG_PASSWORDS: Partial<PasswordResetOptions> = {
  bcryptRounds: undefined,
  hashPassword: async (password: string) => `sha256:${createHash('sha256').update(password).digest('hex')}`,
  password: { minStrength: 3, maxLength: 1024 },
};

/** Characters zxcvbn has no pattern for. */
function randomText(length: number): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}

async function resetWith(password: string): Promise<{ status: number; rules: unknown[] }> {
  t ??= await createApp({ options: LONG_PASSWORDS });
  const response = await t.post('/reset', { token: await t.requestToken(), password });
  const details = (response.body as { error?: { details?: { rule: string }[] } }).error?.details ?? [];
  return { status: response.status, rules: details.map((detail) => detail.rule) };
}

/** The longest input zxcvbn was given since the last `mockClear`, in characters. */
function longestScored(): number {
  return Math.max(0, ...scored.mock.calls.map(([password]) => [...password].length));
}

describe('guarantee 10: scoring a password costs the same bounded work, whatever its length', () => {
  test('a 1,000-character password reaches zxcvbn as its first 16 characters, once per request', async () => {
    const { status } = await resetWith(randomText(1000));
    expect(status).toBe(200);
    expect(scored).toHaveBeenCalledTimes(1);
    expect(longestScored()).toBe(SCORED_CHARACTERS);
  });

  test('replaying one token with rejected 1,000-character passwords scores 16 characters each time', async () => {
    t = await createApp({ options: LONG_PASSWORDS });
    const token = await t.requestToken();
    for (let i = 0; i < 5; i++) {
      const response = await t.post('/reset', { token, password: 'qwertyuiop'.repeat(100) });
      expect(response.status).toBe(422);
    }
    expect(scored).toHaveBeenCalledTimes(5);
    expect(longestScored()).toBe(SCORED_CHARACTERS);
    // The link was not spent on them.
    expect((await t.post('/reset', { token, password: randomText(40) })).status).toBe(200);
  });

  test('characters are counted as code points: an emoji at the cut is not split', async () => {
    await resetWith(`${randomText(15)}🔑${randomText(30)}`);
    const [first] = scored.mock.calls[0] ?? [''];
    expect([...first]).toHaveLength(SCORED_CHARACTERS);
    expect(first.endsWith('🔑')).toBe(true);
  });
});

describe('guarantee 10: the bound lets no weak password through', () => {
  test.each([
    ['a keyboard walk repeated to 1,000 characters', 'qwertyuiop'.repeat(100)],
    ['a common word repeated past 16 characters', 'password'.repeat(12)],
    ['a repeated character, 500 times', 'a'.repeat(500)],
  ])('%s is rejected with rule strength', async (_name, password) => {
    const { status, rules } = await resetWith(password);
    expect(status).toBe(422);
    expect(rules).toEqual(['strength']);
  });

  test('a weak start is refused even with a strong tail: the bound errs only towards refusing', async () => {
    const { status, rules } = await resetWith(`password12345678${randomText(200)}`);
    expect(status).toBe(422);
    expect(rules).toEqual(['strength']);
  });

  test('a password whose first 16 characters are strong passes, however it goes on', async () => {
    expect((await resetWith(`kitten-tuesday-42${'a'.repeat(500)}`)).status).toBe(200);
  });
});
