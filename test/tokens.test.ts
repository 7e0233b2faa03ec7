/**
 * README guarantee 2: tokens are 256-bit base64url, stored only as SHA-256
 * hashes, work once (also under concurrency), expire, are superseded by a
 * newer request, and all die with a successful reset or `revokeTokens`.
 */
import { createHash } from 'node:crypto';
import { ADA, GOOD_PASSWORD, GRACE, RESET_URL, createApp, manualClock, type TestApp } from './helpers/create-app';

// TokenRecord.tokenHash is documented as SHA-256, base64url.
const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('token format and storage', () => {
  test('the emailed link carries a base64url token of at least 256 bits', async () => {
    t = await createApp();
    const token = await t.requestToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32);
    const link = new URL(t.mailer.last()!.data.resetUrl!);
    expect(`${link.origin}${link.pathname}`).toBe(RESET_URL);
    expect(link.searchParams.get('token')).toBe(token);
  });

  test('two requests never get the same token', async () => {
    t = await createApp();
    const tokens = new Set([
      await t.requestToken(ADA.email),
      await t.requestToken(GRACE.email),
      await t.requestToken(ADA.email),
    ]);
    expect(tokens.size).toBe(3);
  });

  test('only the SHA-256 hash of the token reaches the store', async () => {
    t = await createApp();
    const save = jest.spyOn(t.store, 'save');
    const token = await t.requestToken();

    expect(save).toHaveBeenCalledTimes(1);
    const saved = save.mock.calls[0]![0];
    expect(saved.tokenHash).toBe(sha256(token));
    expect(JSON.stringify(saved)).not.toContain(token);
    expect(await t.store.find(sha256(token))).toMatchObject({ userId: ADA.id, email: ADA.email });
    expect(await t.store.find(token)).toBeNull();
  });

  test('/verify accepts a live token without consuming it and tells when it expires', async () => {
    const clock = manualClock();
    t = await createApp({ options: { now: clock.now } });
    const token = await t.requestToken();
    const first = await t.post('/verify', { token });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      success: true,
      valid: true,
      expiresAt: new Date(clock.now().getTime() + 30 * 60_000).toISOString(),
      kind: 'reset',
    });
    expect((await t.post('/verify', { token })).status).toBe(200);
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('an unknown token is TOKEN_INVALID', async () => {
    t = await createApp();
    const made_up = Buffer.alloc(32, 7).toString('base64url');
    for (const path of ['/verify', '/reset']) {
      const response = await t.post(path, { token: made_up, password: path === '/reset' ? GOOD_PASSWORD : undefined });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('TOKEN_INVALID');
    }
  });
});

describe('a token works once', () => {
  test('a used token is TOKEN_INVALID on /reset and /verify', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const first = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ success: true });
    const hashAfterFirst = t.users.hashOf(ADA.id);

    const second = await t.post('/reset', { token, password: 'another good passphrase' });
    expect(second.status).toBe(400);
    expect(second.body).toEqual({ success: false, error: { code: 'TOKEN_INVALID', message: expect.any(String) } });
    expect((await t.post('/verify', { token })).body.error.code).toBe('TOKEN_INVALID');
    expect(t.users.hashOf(ADA.id)).toBe(hashAfterFirst);
  });

  test('of 50 parallel resets with one token exactly one succeeds', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const passwords = Array.from({ length: 50 }, (_, i) => `${GOOD_PASSWORD} ${i}`);
    const responses = await Promise.all(passwords.map((password) => t!.post('/reset', { token, password })));

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(49);
    expect(responses.filter((r) => r.status === 400).every((r) => r.body.error.code === 'TOKEN_INVALID')).toBe(true);
    expect(t.users.updates).toHaveLength(1);
    expect(t.events.filter((e) => e.type === 'reset.completed')).toHaveLength(1);
  });
});

describe('expiry', () => {
  test('a token past tokenTtl is TOKEN_EXPIRED, one just before it still works', async () => {
    const clock = manualClock();
    t = await createApp({ options: { now: clock.now, tokenTtl: '10m' } });
    const token = await t.requestToken();

    clock.advance(10 * 60_000 - 1000);
    expect((await t.post('/verify', { token })).status).toBe(200);
    clock.advance(1000);
    const verify = await t.post('/verify', { token });
    expect(verify.status).toBe(400);
    expect(verify.body.error.code).toBe('TOKEN_EXPIRED');
    const reset = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(reset.status).toBe(400);
    expect(reset.body.error.code).toBe('TOKEN_EXPIRED');
    expect(t.users.updates).toHaveLength(0);
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'verify.failed', reason: 'expired', userId: ADA.id }),
    );
  });

  test('the default lifetime is 30 minutes and the email says so', async () => {
    const clock = manualClock();
    t = await createApp({ options: { now: clock.now } });
    const token = await t.requestToken();
    expect(t.mailer.last()!.data.expiresInMinutes).toBe(30);
    expect(t.mailer.last()!.text).toContain('30 minutes');
    clock.advance(30 * 60_000 - 1000);
    expect((await t.post('/verify', { token })).status).toBe(200);
    clock.advance(1000);
    expect((await t.post('/verify', { token })).body.error.code).toBe('TOKEN_EXPIRED');
  });

  test('tokenTtl in milliseconds', async () => {
    const clock = manualClock();
    t = await createApp({ options: { now: clock.now, tokenTtl: 90_000 } });
    const token = await t.requestToken();
    clock.advance(90_000);
    expect((await t.post('/verify', { token })).body.error.code).toBe('TOKEN_EXPIRED');
  });
});

describe('supersede and revoke', () => {
  test('a second /forgot kills the first link', async () => {
    t = await createApp();
    const first = await t.requestToken();
    const second = await t.requestToken();
    expect((await t.post('/verify', { token: first })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/reset', { token: first, password: GOOD_PASSWORD })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/reset', { token: second, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test("one user's request does not supersede another user's link", async () => {
    t = await createApp();
    const ada = await t.requestToken(ADA.email);
    await t.requestToken(GRACE.email);
    expect((await t.post('/verify', { token: ada })).status).toBe(200);
  });

  test('a successful reset removes every token of the user', async () => {
    t = await createApp();
    const revokeUser = jest.spyOn(t.store, 'revokeUser');
    const token = await t.requestToken();
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    expect(revokeUser).toHaveBeenCalledWith(ADA.id);
    expect(await t.store.findByUser(ADA.id)).toBeNull();
  });

  test('router.revokeTokens(userId) kills outstanding links of that user only', async () => {
    t = await createApp();
    const ada = await t.requestToken(ADA.email);
    const grace = await t.requestToken(GRACE.email);
    await t.router.revokeTokens(ADA.id);
    expect((await t.post('/reset', { token: ada, password: GOOD_PASSWORD })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/verify', { token: grace })).status).toBe(200);
  });

  test('a link dies when the account no longer has the address it was sent to', async () => {
    t = await createApp();
    const token = await t.requestToken();
    t.users.users[0]!.email = 'ada.lovelace@example.com';
    const response = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('TOKEN_INVALID');
    expect(t.users.updates).toHaveLength(0);
  });
});
