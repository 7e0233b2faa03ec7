/**
 * README guarantee 3: with `code: { enabled: true }` the email also carries a
 * numeric code; codes are stored hashed, allow `maxAttempts` wrong guesses per
 * user and then stop working, and a new code does not reset that count.
 */
import { ADA, GOOD_PASSWORD, GRACE, createApp, manualClock, type TestApp } from './helpers/create-app';

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
    expect(verify.body).toEqual({ success: true, valid: true, expiresAt: expect.any(String) });
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
