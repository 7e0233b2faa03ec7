/**
 * SPEC 0.2 router members `sendResetLink(email, { ttl? })` and `createResetLink(email, { ttl? })`: links issued by
 * the app (an admin, a support tool), awaited, without the limits, failing loudly, and superseding older links like
 * `/forgot`'s do.
 */
import { MemoryTokenStore, OptionsError, PasswordResetError, type Mailer } from '../lib';
import { ADA, createApp, tokenOf, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const tokenIn = (url: string): string => new URL(url).searchParams.get('token')!;

describe('app-issued links: router.sendResetLink and router.createResetLink', () => {
  test('sendResetLink emails a working link, resolves once the mailer accepted it, and supersedes older links', async () => {
    t = await createApp({ options: { rateLimit: { perEmail: { windowMs: 60_000, limit: 1 } } } });
    const older = await t.requestToken();
    const started = Date.now();
    const issued = await t.router.sendResetLink(ADA.email, { ttl: '2h' });
    expect(issued).toEqual({ userId: ADA.id, expiresAt: expect.any(Date) });
    expect(Math.abs(issued.expiresAt.getTime() - (started + 2 * 3_600_000))).toBeLessThan(5000);
    // Already in the outbox when the promise resolved: no waiting for background work. The per-email limit (1) did
    // not apply to it.
    const token = tokenOf(t.mailer.last(ADA.email));
    expect(token).not.toBe(older);
    expect((await t.post('/verify', { token: older })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/reset', { token, password: 'a brand new passphrase' })).status).toBe(200);
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'reset.requested', userId: ADA.id, issuedBy: 'app' }),
    );
    expect(JSON.stringify(t.events)).not.toContain(token);
  });

  test('createResetLink sends nothing and hands the app a working link', async () => {
    t = await createApp();
    const before = t.mailer.messages.length;
    const { url, userId, expiresAt } = await t.router.createResetLink(ADA.email);
    expect(t.mailer.messages).toHaveLength(before);
    expect(userId).toBe(ADA.id);
    expect(url).toMatch(/token=[\w-]{43}/);
    expect((await t.post('/verify', { token: tokenIn(url) })).body).toEqual({
      success: true,
      valid: true,
      expiresAt: expiresAt.toISOString(),
      kind: 'reset',
    });
  });

  test('an unknown address rejects with ACCOUNT_NOT_FOUND; a failing mailer rejects with its error', async () => {
    const failing: Mailer = {
      send: () => Promise.reject(new Error('mail relay refused the connection')),
    };
    t = await createApp({ options: { mailer: failing } });
    const unknown = await t.router.sendResetLink('nobody@example.com').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(PasswordResetError);
    expect((unknown as PasswordResetError).code).toBe('ACCOUNT_NOT_FOUND');
    await expect(t.router.createResetLink('nobody@example.com')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    const { url } = await t.router.createResetLink(ADA.email);
    await expect(t.router.sendResetLink(ADA.email)).rejects.toThrow('mail relay refused the connection');
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'email.failed', kind: 'reset', userId: ADA.id }));
    // The link of an email that never went out supersedes nothing: the one from before still works.
    expect((await t.post('/verify', { token: tokenIn(url) })).status).toBe(200);
  });

  test('a store that fails to mark the link delivered after the email went out: resolves, and says so in an event', async () => {
    class RefusingStore extends MemoryTokenStore {
      override markDelivered(): Promise<void> {
        return Promise.reject(new Error('write refused'));
      }
    }
    t = await createApp({ options: { store: new RefusingStore() } });
    await expect(t.router.sendResetLink(ADA.email)).resolves.toMatchObject({ userId: ADA.id });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'error', stage: 'store' }));
    const token = tokenOf(t.mailer.last(ADA.email));
    expect((await t.post('/verify', { token })).status).toBe(200);
  });

  test('bad options name the option', async () => {
    t = await createApp();
    await expect(t.router.sendResetLink(ADA.email, { ttl: '3 fortnights' })).rejects.toThrow(OptionsError);
    await expect(t.router.sendResetLink(ADA.email, { ttl: '3 fortnights' })).rejects.toThrow(/sendResetLink\.ttl/);
    await expect(t.router.createResetLink(ADA.email, { kind: 'welcome' as unknown as 'reset' })).rejects.toThrow(
      /createResetLink\.kind/,
    );
  });
});
