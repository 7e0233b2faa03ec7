/**
 * Guarantee 9, the races of settling: a write that failed and may still land is settled in the background, and a
 * reset that goes through while that write is still in flight wins: no used link comes back, no older password is
 * written over the newer one. The slow store and user store here are in memory, with the failure a timed-out
 * database call gives (the write landed, the caller was told it timed out).
 */
import { createHash } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import {
  MemoryTokenStore,
  OutboxMailer,
  passwordReset,
  type PasswordResetEvent,
  type TokenStore,
  type UserAdapter,
} from '../lib';

const ADA = { id: 'ada', email: 'ada@example.com' };

class TimeoutError extends Error {
  override name = 'DatabaseTimeoutError';
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

function setup(options: { slowClaimOf?: () => string | undefined; slowPasswordWrite?: () => boolean }) {
  const inner: TokenStore = new MemoryTokenStore();
  let inFlight: () => void = () => undefined;
  /** Resolves once the slow write has been sent. */
  const slowWriteSent = new Promise<void>((resolve) => (inFlight = resolve));
  let holdDelivery = false;
  const store: TokenStore = {
    save: (record) => inner.save(record),
    // A second link whose delivery mark was refused stays live beside the first, as guarantee 9 allows.
    markDelivered: (tokenHash) => (holdDelivery ? Promise.resolve() : inner.markDelivered!(tokenHash)),
    find: (tokenHash) => inner.find(tokenHash),
    findByUser: (userId) => inner.findByUser(userId),
    claim: async (tokenHash) => {
      if (options.slowClaimOf?.() !== tokenHash) return inner.claim(tokenHash);
      const claimed = await inner.claim(tokenHash);
      inFlight();
      await sleep(300);
      if (claimed) throw new TimeoutError('the claim did not answer in time');
      return claimed;
    },
    revokeUser: (userId) => inner.revokeUser(userId),
    takeAttempt: (key, limit, expiresAt) => inner.takeAttempt(key, limit, expiresAt),
    releaseAttempt: (key, slot) => inner.releaseAttempt(key, slot),
    clearAttempts: (key) => inner.clearAttempts(key),
    close: () => inner.close(),
  };
  const written: string[] = [];
  let password = 'old-hash';
  const users: UserAdapter = {
    findByEmail: async (email) => (email === ADA.email ? ADA : null),
    updatePassword: async (_id, hash) => {
      if (options.slowPasswordWrite?.()) {
        inFlight();
        await sleep(300);
        throw new TimeoutError('the password write did not answer in time');
      }
      written.push(hash);
      password = hash;
    },
  };
  const events: PasswordResetEvent[] = [];
  const mailer = new OutboxMailer({ logger: false });
  const router = passwordReset({
    users,
    store,
    mailer,
    resetUrl: 'https://app.example/reset',
    bcryptRounds: 4,
    rateLimit: false,
    logger: false,
    hooks: { onEvent: (event) => void events.push(event) },
  });
  const app = express().use(router);
  const link = async (): Promise<string> => {
    const before = mailer.messages.length;
    await request(app).post('/forgot').send({ email: ADA.email }).expect(202);
    for (let i = 0; i < 100 && mailer.messages.length === before; i += 1) await sleep(10);
    return /token=([\w-]+)/.exec(mailer.messages.at(-1)!.text)![1]!;
  };
  const hashOf = (token: string): string => createHash('sha256').update(token).digest('base64url');
  return {
    app,
    router,
    events,
    link,
    hashOf,
    holdDelivery: () => (holdDelivery = true),
    slowWriteSent,
    password: () => password,
    written,
  };
}

describe('guarantee 9: a reset that goes through while a failed write is in flight wins', () => {
  test('a claim that landed while another link reset the password is not put back (the used link stays dead)', async () => {
    const slowClaim: { of?: string } = {};
    const t = setup({ slowClaimOf: () => slowClaim.of });
    const first = await t.link();
    t.holdDelivery();
    const second = await t.link();
    slowClaim.of = t.hashOf(first);

    // `.then` sends it now (supertest sends lazily).
    const failing = request(t.app)
      .post('/reset')
      .send({ token: first, password: 'the first new password' })
      .then((response) => response);
    await t.slowWriteSent;
    const winning = await request(t.app).post('/reset').send({ token: second, password: 'the second new password' });
    expect(winning.status).toBe(200);
    expect((await failing).status).toBe(503);
    await t.router.close();

    expect(t.events.some((event) => event.type === 'token.restored')).toBe(false);
    expect((await request(t.app).post('/verify').send({ token: first })).body.error?.code).toBe('TOKEN_INVALID');
  });

  test('a password write that timed out is not repeated over a reset that went through meanwhile', async () => {
    let slowOnce = true;
    const t = setup({
      slowPasswordWrite: () => {
        const slow = slowOnce;
        slowOnce = false;
        return slow;
      },
    });
    const first = await t.link();
    t.holdDelivery();
    const second = await t.link();

    // `.then` sends it now (supertest sends lazily).
    const failing = request(t.app)
      .post('/reset')
      .send({ token: first, password: 'the first new password' })
      .then((response) => response);
    await t.slowWriteSent;
    const winning = await request(t.app).post('/reset').send({ token: second, password: 'the second new password' });
    expect(winning.status).toBe(200);
    const failed = await failing;
    expect(failed.status).toBe(503);
    expect(failed.body.error.message).toMatch(/may still take effect/);
    await t.router.close();

    expect(t.written).toHaveLength(1);
    expect(t.password()).toBe(t.written[0]);
    const completed = t.events.filter((event) => event.type === 'reset.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).not.toHaveProperty('late');
  });
});
