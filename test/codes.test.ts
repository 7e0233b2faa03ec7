/**
 * README guarantee 3: with `code: { enabled: true }` the email also carries a
 * numeric code; codes are stored hashed, allow `maxAttempts` wrong guesses per
 * user and then stop working, and a new code does not reset that count.
 */
import { createHash, createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { MemoryTokenStore, OptionsError, OutboxMailer, passwordReset, type PasswordResetOptions } from '../lib';
import {
  ADA,
  GOOD_PASSWORD,
  GRACE,
  MemoryUsers,
  TEST_SECRET,
  createApp,
  manualClock,
  type TestApp,
} from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function codeApp(
  code: { digits?: number; maxAttempts?: number } = {},
  extra: { now?: () => Date } = {},
): Promise<TestApp> {
  return createApp({ options: { code: { enabled: true, ...code }, ...extra } });
}

/** Requests a reset for `email` and returns the code of the email. */
async function requestCode(app: TestApp, email = ADA.email): Promise<string> {
  await app.forgot(email);
  const code = app.mailer.last(email)?.data.code;
  if (code === undefined) throw new Error('no code in the email');
  return code;
}

/** A code of the same length that is not `code`. */
function wrong(code: string, offset = 1): string {
  return ((Number(code) + offset) % 10 ** code.length).toString().padStart(code.length, '0');
}

describe('the code flow', () => {
  test('the reset email carries a 6-digit code in its text and HTML, beside the link', async () => {
    t = await codeApp();
    const code = await requestCode(t);
    expect(code).toMatch(/^\d{6}$/);
    const message = t.mailer.last()!;
    expect(message.text).toContain(code);
    expect(message.html).toContain(code);
    expect(message.data.resetUrl).toContain('token=');
  });

  test('code.digits sets the length of the code', async () => {
    t = await codeApp({ digits: 8 });
    expect(await requestCode(t)).toMatch(/^\d{8}$/);
  });

  test('/verify with email and code checks without consuming; /reset with them sets the password', async () => {
    t = await codeApp();
    const code = await requestCode(t);
    const verify = await t.post('/verify', { email: ADA.email, code });
    expect(verify.status).toBe(200);
    expect(verify.body).toEqual({ success: true, valid: true, expiresAt: expect.any(String), kind: 'reset' });
    expect((await t.post('/verify', { email: ADA.email, code })).status).toBe(200);

    const reset = await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ success: true });
    expect(t.users.updates).toEqual([{ id: ADA.id, passwordHash: expect.stringMatching(/^\$2b\$04\$/) }]);
    // Used once: neither the code nor the link work again.
    expect((await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD })).body.error.code).toBe(
      'TOKEN_INVALID',
    );
  });

  test('the address is matched case-insensitively', async () => {
    t = await codeApp();
    const code = await requestCode(t);
    expect((await t.post('/verify', { email: 'ADA@EXAMPLE.COM', code })).status).toBe(200);
  });

  test('the link of a code email still works, and using it kills the code', async () => {
    t = await codeApp();
    const code = await requestCode(t);
    const token = new URL(t.mailer.last()!.data.resetUrl!).searchParams.get('token')!;
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await t.post('/verify', { email: ADA.email, code })).body.error.code).toBe('TOKEN_INVALID');
  });

  test('a wrong code and an address without an account are both TOKEN_INVALID', async () => {
    t = await codeApp();
    const code = await requestCode(t);
    const wrongCode = await t.post('/verify', { email: ADA.email, code: wrong(code) });
    const noAccount = await t.post('/verify', { email: 'nobody@example.com', code });
    expect(wrongCode.status).toBe(400);
    expect(wrongCode.body).toEqual(noAccount.body);
    expect(wrongCode.body.error.code).toBe('TOKEN_INVALID');
  });

  test('a code only works for the address it was sent to', async () => {
    t = await codeApp();
    const adaCode = await requestCode(t, ADA.email);
    // Two random codes can be equal; ask again until they differ so the test proves something.
    let graceCode = await requestCode(t, GRACE.email);
    while (graceCode === adaCode) graceCode = await requestCode(t, GRACE.email);
    expect((await t.post('/verify', { email: GRACE.email, code: adaCode })).status).toBe(400);
  });

  test('an expired code is TOKEN_EXPIRED', async () => {
    const clock = manualClock();
    t = await codeApp({}, { now: clock.now });
    const code = await requestCode(t);
    clock.advance(30 * 60_000);
    const response = await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('TOKEN_EXPIRED');
  });

  test('a superseded code stops working', async () => {
    t = await codeApp();
    const first = await requestCode(t);
    let second = await requestCode(t);
    // Two random codes can be equal; ask again until they differ so the test proves something.
    while (second === first) second = await requestCode(t);
    expect((await t.post('/verify', { email: ADA.email, code: first })).status).toBe(400);
    expect((await t.post('/verify', { email: ADA.email, code: second })).status).toBe(200);
  });
});

describe('wrong-code attempts', () => {
  test('after maxAttempts wrong codes even the right code fails', async () => {
    t = await codeApp({ maxAttempts: 3 });
    const code = await requestCode(t);
    for (let i = 1; i <= 3; i += 1) {
      expect((await t.post('/verify', { email: ADA.email, code: wrong(code, i) })).body.error.code).toBe(
        'TOKEN_INVALID',
      );
    }
    expect((await t.post('/verify', { email: ADA.email, code })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD })).body.error.code).toBe(
      'TOKEN_INVALID',
    );
    expect(t.users.updates).toHaveLength(0);
    expect(t.events.filter((e) => e.type === 'code.locked')).toEqual([expect.objectContaining({ userId: ADA.id })]);
  });

  test('right codes do not use up attempts', async () => {
    t = await codeApp({ maxAttempts: 2 });
    const code = await requestCode(t);
    for (let i = 0; i < 5; i += 1) expect((await t.post('/verify', { email: ADA.email, code })).status).toBe(200);
    expect((await t.post('/verify', { email: ADA.email, code: wrong(code) })).status).toBe(400);
    expect((await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('a rejected password does not use up an attempt', async () => {
    t = await codeApp({ maxAttempts: 1 });
    const code = await requestCode(t);
    expect((await t.post('/reset', { email: ADA.email, code, password: 'short' })).status).toBe(422);
    expect((await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('asking for a new code does not reset the count of wrong attempts', async () => {
    t = await codeApp({ maxAttempts: 3 });
    const first = await requestCode(t);
    await t.post('/verify', { email: ADA.email, code: wrong(first, 1) });
    await t.post('/verify', { email: ADA.email, code: wrong(first, 2) });
    const second = await requestCode(t);
    await t.post('/verify', { email: ADA.email, code: wrong(second, 1) });
    const third = await requestCode(t);
    const response = await t.post('/reset', { email: ADA.email, code: third, password: GOOD_PASSWORD });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('TOKEN_INVALID');
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'verify.failed', reason: 'locked', userId: ADA.id }),
    );
  });

  test("one user's wrong guesses do not lock another user", async () => {
    t = await codeApp({ maxAttempts: 2 });
    const adaCode = await requestCode(t, ADA.email);
    const graceCode = await requestCode(t, GRACE.email);
    await t.post('/verify', { email: ADA.email, code: wrong(adaCode, 1) });
    await t.post('/verify', { email: ADA.email, code: wrong(adaCode, 2) });
    expect((await t.post('/verify', { email: GRACE.email, code: graceCode })).status).toBe(200);
  });

  test('20 parallel wrong guesses count at most maxAttempts, then the right code fails', async () => {
    t = await codeApp({ maxAttempts: 5 });
    const code = await requestCode(t);
    const guesses = Array.from({ length: 20 }, (_, i) => wrong(code, i + 1));
    const responses = await Promise.all(guesses.map((guess) => t!.post('/verify', { email: ADA.email, code: guess })));
    expect(responses.every((r) => r.status === 400 && r.body.error.code === 'TOKEN_INVALID')).toBe(true);

    const failures = t.events.filter((e) => e.type === 'verify.failed');
    expect(failures.filter((e) => e.type === 'verify.failed' && e.reason === 'wrong_code')).toHaveLength(5);
    expect(failures.filter((e) => e.type === 'verify.failed' && e.reason === 'locked')).toHaveLength(15);
    expect((await t.post('/verify', { email: ADA.email, code })).status).toBe(400);
  });
});

describe('code storage', () => {
  test('the code is stored only as a salted hash', async () => {
    t = await codeApp();
    const save = jest.spyOn(t.store, 'save');
    const code = await requestCode(t);
    const saved = save.mock.calls[0]![0];
    expect(saved.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(saved.codeSalt).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.values(saved)).not.toContain(code);
    expect(JSON.stringify(saved)).not.toContain(code);
  });

  test('the same code for two users is stored as two different hashes', async () => {
    t = await codeApp();
    const save = jest.spyOn(t.store, 'save');
    await requestCode(t, ADA.email);
    await requestCode(t, GRACE.email);
    const [first, second] = save.mock.calls.map((call) => call[0]);
    expect(first!.codeSalt).not.toBe(second!.codeSalt);
  });

  test('without the code flow, the email has no code and code fields are refused', async () => {
    t = await createApp();
    await t.forgot(ADA.email);
    expect(t.mailer.last()!.data.code).toBeUndefined();
    const response = await t.post('/verify', { email: ADA.email, code: '123456' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('guarantee 3: codes are keyed by the secret', () => {
  const SECRET = 'S3cr3t-of-this-test-only-0123456789-abcdefghij';

  test('a stored code hash cannot be recomputed from the database alone, only with the secret', async () => {
    t = await createApp({ options: { code: { enabled: true }, secret: SECRET } });
    const save = jest.spyOn(t.store, 'save');
    const code = await requestCode(t);
    const { codeHash, codeSalt } = save.mock.calls[0]![0];
    expect(codeHash).toMatch(/^[0-9a-f]{64}$/);
    // What 0.1 stored, and what anyone holding a copy of the database could try for every code:
    const unkeyed = createHash('sha256').update(`${codeSalt}:${code}`, 'utf8').digest('hex');
    expect(codeHash).not.toBe(unkeyed);
    expect(codeHash).toBe(createHmac('sha256', SECRET).update(`${codeSalt}:${code}`, 'utf8').digest('hex'));
    // Another secret gives another hash, so a guess needs the secret too.
    expect(codeHash).not.toBe(createHmac('sha256', `${SECRET}x`).update(`${codeSalt}:${code}`).digest('hex'));
    expect((await t.post('/verify', { email: ADA.email, code })).status).toBe(200);
  });

  test('without a secret, the default memory store hashes under a random key of its own and codes work', async () => {
    const save = jest.spyOn(MemoryTokenStore.prototype, 'save');
    try {
      t = await createApp({ options: { code: { enabled: true }, secret: undefined, store: undefined } });
      const code = await requestCode(t);
      const { codeHash, codeSalt } = save.mock.calls[0]![0];
      const input = `${codeSalt}:${code}`;
      expect(codeHash).not.toBe(createHash('sha256').update(input).digest('hex'));
      expect(codeHash).not.toBe(createHmac('sha256', TEST_SECRET).update(input).digest('hex'));
      expect((await t.post('/verify', { email: ADA.email, code })).status).toBe(200);
    } finally {
      save.mockRestore();
    }
  });
});

describe('guarantee 3: the secret option', () => {
  const base = (): PasswordResetOptions => ({
    users: new MemoryUsers([ADA]),
    resetUrl: 'https://app.example/reset',
    mailer: new OutboxMailer({ logger: false }),
    logger: false,
  });
  const failure = (options: Partial<PasswordResetOptions>): OptionsError => {
    try {
      passwordReset({ ...base(), ...options });
    } catch (error) {
      if (error instanceof OptionsError) return error;
      throw error;
    }
    throw new Error('built without an OptionsError');
  };
  const builds = (options: Partial<PasswordResetOptions>): void => {
    void passwordReset({ ...base(), ...options }).close();
  };

  test.each([
    ['store', { store: new MemoryTokenStore() }],
    ['mongoose', { mongoose: { connection: { model: () => undefined } as never } }],
  ])('is required with the code flow on and %s set, naming secret and what is allowed', (_name, given) => {
    const error = failure({ ...given, code: { enabled: true } });
    expect(error).toMatchObject({ code: 'ERR_EPR_OPTION_REQUIRED', option: 'secret' });
    expect(error.message).toMatch(/option "secret" is required .*at least 32 characters/);
  });

  test('is optional without the code flow, or on the default memory store', () => {
    expect(() => builds({ store: new MemoryTokenStore() })).not.toThrow();
    expect(() => builds({ store: new MemoryTokenStore(), code: { enabled: false } })).not.toThrow();
    expect(() => builds({ code: { enabled: true } })).not.toThrow();
    expect(() =>
      builds({ store: new MemoryTokenStore(), code: { enabled: true }, secret: 'x'.repeat(32) }),
    ).not.toThrow();
  });

  test('a secret under 32 characters or not a string is refused without showing it', () => {
    const short = 'hunter2-hunter2-hunter2-hunter2';
    const error = failure({ secret: short, code: { enabled: true } });
    expect(error).toMatchObject({ code: 'ERR_EPR_OPTION_INVALID', option: 'secret' });
    expect(error.message).toContain('must be a string of at least 32 characters, got a string of length 31');
    expect(error.message).not.toContain('hunter2');
    expect(inspect(error)).not.toContain('hunter2');
    expect(failure({ secret: 42 as never })).toMatchObject({ code: 'ERR_EPR_OPTION_INVALID', option: 'secret' });
  });

  test('the secret never reaches events, logs, the store or an inspection of the router', async () => {
    const secret = 'never-printed-secret-0123456789-abcdefghijklmnop';
    t = await createApp({ options: { code: { enabled: true, maxAttempts: 2 }, secret, pages: true, openapi: true } });
    const save = jest.spyOn(t.store, 'save');
    const code = await requestCode(t);
    await t.post('/verify', { email: ADA.email, code: wrong(code) });
    await t.post('/verify', { email: 'nobody@example.com', code });
    await t.post('/reset', { email: ADA.email, code: wrong(code, 2), password: GOOD_PASSWORD });
    await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD });
    const seen = [
      JSON.stringify(t.events),
      JSON.stringify(t.logs),
      JSON.stringify(save.mock.calls),
      JSON.stringify(t.mailer.messages),
      inspect(t.router, { depth: null, showHidden: true }),
    ];
    for (const text of seen) expect(text).not.toContain(secret);
    expect(t.events.some((e) => e.type === 'code.locked')).toBe(true);
  });
});

describe('guarantee 3: a locked code flow never blocks the emailed link', () => {
  test('after the code flow is locked, the link in the same email still verifies and resets', async () => {
    t = await codeApp({ maxAttempts: 3 });
    const code = await requestCode(t);
    const token = new URL(t.mailer.last(ADA.email)!.data.resetUrl!).searchParams.get('token')!;
    // Anyone who knows the address can spend its attempts, and renew the lock whenever it runs out.
    for (let i = 1; i <= 5; i += 1) await t.post('/verify', { email: ADA.email, code: wrong(code, i) });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'code.locked', userId: ADA.id }));
    expect((await t.post('/verify', { email: ADA.email, code })).body.error.code).toBe('TOKEN_INVALID');

    const verified = await t.post('/verify', { token });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ success: true, valid: true });
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    expect(t.users.updates).toEqual([{ id: ADA.id, passwordHash: expect.any(String) }]);
  });

  test('a reset through the link frees the locked code flow for the next email', async () => {
    t = await codeApp({ maxAttempts: 2 });
    const code = await requestCode(t);
    const token = new URL(t.mailer.last(ADA.email)!.data.resetUrl!).searchParams.get('token')!;
    for (let i = 1; i <= 2; i += 1) await t.post('/verify', { email: ADA.email, code: wrong(code, i) });
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);

    const next = await requestCode(t);
    expect((await t.post('/verify', { email: ADA.email, code: next })).status).toBe(200);
  });
});
