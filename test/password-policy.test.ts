/**
 * README guarantee 5 and the `password` options: the policy is checked on the
 * NFKC form before the token is consumed, a rejected password leaves the link
 * usable, `details` name the rule, and nothing is ever truncated.
 */
import { createHash } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { PasswordResetOptions } from '../lib';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Sets up an app, requests a link for Ada and tries `password` with it. */
async function tryPassword(
  password: string,
  options: Partial<PasswordResetOptions> = {},
): Promise<{ status: number; body: any; token: string }> {
  t = await createApp({ options });
  const token = await t.requestToken();
  const response = await t.post('/reset', { token, password });
  return { status: response.status, body: response.body, token };
}

function rulesOf(body: { error?: { details?: { rule?: string }[] } }): (string | undefined)[] {
  return (body.error?.details ?? []).map((detail) => detail.rule);
}

describe('length', () => {
  test.each([
    ['shorter than 8 characters', 'minLength', 'Tr0ub4d'],
    ['that is empty', 'minLength', ''],
    ['longer than 64 characters', 'maxLength', 'x'.repeat(40) + '-correct-horse-battery-st'],
  ])('a password %s is rejected with rule %s', async (_name, rule, password) => {
    const { status, body } = await tryPassword(password);
    expect(status).toBe(422);
    expect(body).toEqual({
      success: false,
      error: {
        code: 'PASSWORD_REJECTED',
        message: expect.any(String),
        details: [{ field: 'password', rule, message: expect.any(String) }],
      },
    });
    expect(t!.users.updates).toHaveLength(0);
  });

  test('exactly 8 and exactly 64 characters are accepted', async () => {
    t = await createApp();
    expect((await t.post('/reset', { token: await t.requestToken(), password: 'Tr0ub4d!' })).status).toBe(200);
    expect(
      (
        await t.post('/reset', {
          token: await t.requestToken(),
          password: 'x'.repeat(39) + '-correct-horse-battery-st',
        })
      ).status,
    ).toBe(200);
  });

  test('minLength and maxLength are options, counted in characters rather than bytes', async () => {
    t = await createApp({ options: { password: { minLength: 12, maxLength: 16 } } });
    expect(rulesOf((await t.post('/reset', { token: await t.requestToken(), password: 'elevenchars' })).body)).toEqual([
      'minLength',
    ]);
    expect(
      rulesOf((await t.post('/reset', { token: await t.requestToken(), password: 'seventeen-chars!!' })).body),
    ).toEqual(['maxLength']);
    // 12 characters but 36 bytes.
    expect((await t.post('/reset', { token: await t.requestToken(), password: '€'.repeat(12) })).status).toBe(200);
  });
});

describe("bcrypt's 72-byte limit", () => {
  test('a password over 72 UTF-8 bytes is rejected even though it has few characters', async () => {
    // 25 characters, 75 bytes: bcrypt would silently ignore the last 3 bytes.
    const { status, body } = await tryPassword('€'.repeat(25));
    expect(status).toBe(422);
    expect(rulesOf(body)).toEqual(['maxBytes']);
    expect(t!.users.updates).toHaveLength(0);
  });

  test('emoji count as one character but four bytes', async () => {
    const { status, body } = await tryPassword('😀'.repeat(19));
    expect(status).toBe(422);
    expect(rulesOf(body)).toEqual(['maxBytes']);
  });

  test('exactly 72 bytes is accepted and stored whole', async () => {
    const password = '€'.repeat(24);
    const { status } = await tryPassword(password);
    expect(status).toBe(200);
    const hash = t!.users.hashOf(ADA.id)!;
    expect(await bcrypt.compare(password, hash)).toBe(true);
    expect(await bcrypt.compare('€'.repeat(23) + 'abc', hash)).toBe(false);
  });
});

describe('Unicode normalization (NFKC)', () => {
  test('a password typed in a compatibility form verifies with bcrypt.compare of its NFKC form', async () => {
    const typed = 'ｃｏｒｒｅｃｔ ｈｏｒｓｅ ﬁsh ②'; // full-width letters, the "ﬁ" ligature, a circled digit
    const normalized = typed.normalize('NFKC');
    expect(normalized).toBe('correct horse fish 2');
    const { status } = await tryPassword(typed);
    expect(status).toBe(200);
    const hash = t!.users.hashOf(ADA.id)!;
    expect(await bcrypt.compare(normalized, hash)).toBe(true);
    expect(await bcrypt.compare(typed, hash)).toBe(false);
  });

  test('decomposed and composed accents give the same password', async () => {
    const decomposed = 'cafe\u0301 au lait, s\u030Cpatne\u030C';
    const { status } = await tryPassword(decomposed);
    expect(status).toBe(200);
    expect(await bcrypt.compare(decomposed.normalize('NFC'), t!.users.hashOf(ADA.id)!)).toBe(true);
  });

  test('the policy sees the normalized form: a ligature-shortened password that is long enough once expanded passes', async () => {
    // 7 code points as typed, 8 after NFKC ("ﬀ" becomes "ff").
    const { status } = await tryPassword('ﬀ-Zq7#x');
    expect(status).toBe(200);
  });
});

describe('common, weak and breached passwords', () => {
  test('a password from the common list is rejected, whatever its case', async () => {
    t = await createApp();
    for (const password of ['iloveyou', 'SunShine', 'trustno1']) {
      const response = await t.post('/reset', { token: await t.requestToken(), password });
      expect(response.status).toBe(422);
      expect(rulesOf(response.body)).toEqual(['common']);
    }
  });

  test('blockCommon: false lets a common password through', async () => {
    const { status } = await tryPassword('iloveyou', { password: { blockCommon: false } });
    expect(status).toBe(200);
  });

  test('minStrength rejects a password zxcvbn scores lower, and accepts a strong one', async () => {
    t = await createApp({ options: { password: { minStrength: 3 } } });
    const weak = await t.post('/reset', { token: await t.requestToken(), password: 'Summer2024' });
    expect(weak.status).toBe(422);
    expect(rulesOf(weak.body)).toEqual(['strength']);
    expect((await t.post('/reset', { token: await t.requestToken(), password: 'kitten-tuesday-42' })).status).toBe(200);
  });

  test('isBreached gets the normalized password; true rejects it', async () => {
    const isBreached = jest.fn(async (password: string) => password === 'correct horse fish');
    t = await createApp({ options: { password: { isBreached } } });
    const response = await t.post('/reset', { token: await t.requestToken(), password: 'correct horse ﬁsh' });
    expect(response.status).toBe(422);
    expect(rulesOf(response.body)).toEqual(['breached']);
    expect(isBreached).toHaveBeenCalledWith('correct horse fish', { reportError: expect.any(Function) });
    expect((await t.post('/reset', { token: await t.requestToken(), password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('a failing isBreached is a 503 and leaves the link usable', async () => {
    let down = true;
    t = await createApp({
      options: {
        password: {
          isBreached: async () => {
            if (down) throw new Error('HIBP timeout');
            return false;
          },
        },
      },
    });
    const token = await t.requestToken();
    const response = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
    down = false;
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('every rule the password breaks is listed', async () => {
    const { body } = await tryPassword('iloveyou', { password: { isBreached: () => true, validate: () => 'No.' } });
    expect(body.error.details).toEqual([
      { field: 'password', rule: 'common', message: expect.any(String) },
      { field: 'password', rule: 'breached', message: expect.any(String) },
      { field: 'password', rule: 'custom', message: 'No.' },
    ]);
  });
});

describe('validate(password, user)', () => {
  const noName = (password: string, user: { name?: string }): true | string =>
    user.name && password.toLowerCase().includes(user.name.toLowerCase())
      ? 'Do not use your name in your password.'
      : true;

  test('a message returned by validate is the detail the client sees', async () => {
    const validate = jest.fn(noName);
    const { status, body } = await tryPassword('ada rides a bicycle', { password: { validate } });
    expect(status).toBe(422);
    expect(body.error.details).toEqual([
      { field: 'password', rule: 'custom', message: 'Do not use your name in your password.' },
    ]);
    expect(validate).toHaveBeenCalledWith(
      'ada rides a bicycle',
      expect.objectContaining({ id: ADA.id, email: ADA.email, name: 'Ada' }),
    );
  });

  test('false from validate rejects with a generic message; true accepts', async () => {
    t = await createApp({ options: { password: { validate: (password) => !password.startsWith('x') } } });
    const rejected = await t.post('/reset', { token: await t.requestToken(), password: 'xylophone music' });
    expect(rejected.body.error.details).toEqual([
      { field: 'password', rule: 'custom', message: 'This password is not allowed.' },
    ]);
    expect((await t.post('/reset', { token: await t.requestToken(), password: GOOD_PASSWORD })).status).toBe(200);
  });
});

describe('the policy runs before the token is consumed', () => {
  test('a rejected password leaves the link usable: 422, then 200 with the same token', async () => {
    const { status, token } = await tryPassword('short');
    expect(status).toBe(422);
    expect((await t!.post('/verify', { token })).status).toBe(200);
    expect((await t!.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    expect(t!.users.updates).toHaveLength(1);
  });

  test('a password.rejected event names the rules and not the password', async () => {
    await tryPassword('iloveyou');
    const event = t!.events.find((e) => e.type === 'password.rejected');
    expect(event).toMatchObject({ userId: ADA.id, rules: ['common'] });
    expect(JSON.stringify(event)).not.toContain('iloveyou');
  });
});

describe('hashing', () => {
  test('hashPassword replaces bcrypt and lifts the 72-byte guard', async () => {
    const hashPassword = jest.fn(
      async (password: string) => `sha256:${createHash('sha256').update(password).digest('hex')}`,
    );
    const password = '€'.repeat(30); // 90 bytes
    const { status } = await tryPassword(password, { bcryptRounds: undefined, hashPassword });
    expect(status).toBe(200);
    expect(hashPassword).toHaveBeenCalledWith(password);
    expect(t!.users.hashOf(ADA.id)).toBe(`sha256:${createHash('sha256').update(password).digest('hex')}`);
  });

  test('bcryptRounds sets the cost factor', async () => {
    await tryPassword(GOOD_PASSWORD, { bcryptRounds: 11 });
    expect(t!.users.hashOf(ADA.id)).toMatch(/^\$2b\$11\$/);
  });

  // The only test at the default cost: 12 rounds take a noticeable fraction of a second.
  test('bcrypt cost 12 is the default', async () => {
    const { status } = await tryPassword(GOOD_PASSWORD, { bcryptRounds: undefined });
    expect(status).toBe(200);
    expect(t!.users.hashOf(ADA.id)).toMatch(/^\$2b\$12\$/);
  });
});
