/**
 * Issue 16.1: `rateLimit.store` on a real redis-server through rate-limit-redis and node-redis, set up as the
 * README's "Redis for the limits" section does (examples/redis-rate-limits.ts). Two instances (two routers, two
 * Express apps, two Redis connections) share every limit; a Redis that dies or stalls mid-test lets requests
 * through (fail open, as the README says) without a 5xx and without a request waiting on Redis.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'redis';
import type request from 'supertest';
import type { PasswordResetOptions, RateLimitOptions, User, UserAdapter } from '../lib';
import { createRedisClient, redisRateLimitStore } from '../examples/redis-rate-limits';
import { createApp, type TestApp } from './helpers/create-app';
import { describeRedis, startRedisServer, type RedisServer } from './support/redis';

type RedisClient = ReturnType<typeof createRedisClient>;

const MINUTE = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

/** Ada's account, found under any case and with dots anywhere in the local part, as some user stores do. */
const adaAccount: UserAdapter = {
  findByEmail: async (email: string): Promise<User | null> => {
    const [local = '', domain = ''] = email.toLowerCase().split('@');
    return local.replace(/\./g, '') === 'ada' && domain === 'example.com'
      ? { id: 'u1', email: 'ada@example.com', name: 'Ada' }
      : null;
  },
  updatePassword: async () => undefined,
};

/** Resolves with the response, or fails with a message saying the request is stuck (a hang is the bug here). */
async function answered(test: request.Test, what: string): Promise<request.Response> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still unanswered after 10 s: it waits on Redis`)), 10_000);
  });
  try {
    return await Promise.race([test.then((response) => response), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i += 1) {
    if (condition()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describeRedis('rate limits on a real Redis, shared by two app instances', () => {
  let server: RedisServer;
  let admin: RedisClient;
  const clients: RedisClient[] = [];
  const apps: TestApp[] = [];
  const redisWarnings: string[] = [];

  /** One instance as its own process would build it: its own Redis connection, router and Express app. */
  async function instance(rateLimit: RateLimitOptions, options: Partial<PasswordResetOptions> = {}): Promise<TestApp> {
    const client = createRedisClient(server.url);
    clients.push(client);
    await client.connect();
    const app = await createApp({
      options: { rateLimit: { ...rateLimit, store: redisRateLimitStore(client) }, ...options },
    });
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    // The example's 'error' listener writes reconnection failures to console.warn; kept here to check them.
    jest.spyOn(console, 'warn').mockImplementation((message: unknown) => {
      redisWarnings.push(String(message));
    });
    server = await startRedisServer();
    admin = createRedisClient(server.url);
    await admin.connect();
  });
  beforeEach(async () => {
    if (!server) return;
    await server.start();
    await until(() => admin.isReady, 'the admin connection');
    await admin.flushAll();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(async () => {
    admin?.destroy();
    await server?.dispose();
    jest.restoreAllMocks();
  });

  test('the per-IP limits of /forgot, /verify and /reset are one count across both instances', async () => {
    const limit = { windowMs: MINUTE, limit: 3 };
    const [a, b] = [
      await instance({ forgot: limit, verify: limit, reset: limit, perEmail: false }),
      await instance({ forgot: limit, verify: limit, reset: limit, perEmail: false }),
    ];
    const bodies = {
      forgot: { email: 'nobody@example.com' },
      verify: { token: 'A'.repeat(43) },
      reset: { token: 'A'.repeat(43), password: 'correct horse battery staple' },
    };
    for (const [path, body] of Object.entries(bodies)) {
      const responses: request.Response[] = [];
      for (const app of [a, b, a, b]) responses.push(await app.post(`/${path}`, body));
      expect(responses.map((r) => r.headers['ratelimit-remaining'])).toEqual(['2', '1', '0', '0']);
      expect(responses.slice(0, 3).map((r) => r.status)).not.toContain(429);
      expect(responses[3]!.status).toBe(429);
      expect(responses[3]!.body).toEqual({
        success: false,
        error: { code: 'RATE_LIMITED', message: expect.any(String) },
      });
    }
    expect(
      b.events.filter((e) => e.type === 'rate_limited').map((e) => e.type === 'rate_limited' && e.limiter),
    ).toEqual(['forgot', 'verify', 'reset']);
    // One key per limiter and client, under the limiter's own prefix.
    expect((await admin.keys('password-reset:*')).map((key) => key.split(':')[1]).sort()).toEqual([
      'forgot',
      'reset',
      'verify',
    ]);
  });

  test('the per-email limit counts one account across both instances, however its address is spelled', async () => {
    const limits: RateLimitOptions = {
      forgot: false,
      verify: false,
      reset: false,
      perEmail: { windowMs: MINUTE, limit: 3 },
    };
    const [a, b] = [await instance(limits, { users: adaAccount }), await instance(limits, { users: adaAccount })];
    // Two spellings that fold to one address key, then two the user store finds as the same account: four requests
    // for one account, the fourth over the limit only by its `account:` count, which lives in Redis.
    await a.forgot('ada@example.com');
    await b.forgot('ADA@example.com');
    await a.forgot('a.da@example.com');
    await b.forgot('ad.a@Example.com');

    expect([...a.mailer.messages, ...b.mailer.messages].map((m) => m.to)).toEqual([
      'ada@example.com',
      'ada@example.com',
      'ada@example.com',
    ]);
    expect(b.events).toContainEqual(
      expect.objectContaining({ type: 'rate_limited', limiter: 'perEmail', email: 'ad.a@Example.com' }),
    );
    expect(a.events.filter((e) => e.type === 'rate_limited')).toEqual([]);
    // Redis sees hashes only: no address (or any part of one) in a key.
    const keys = await admin.keys('*');
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(keys.every((key) => key.startsWith('password-reset:perEmail:'))).toBe(true);
    expect(keys.join(' ')).not.toMatch(/ada|example|u1/i);
  });

  test('Redis killed mid-test: limits fail open, no 5xx, no request waits; counting resumes with Redis', async () => {
    const limit = { windowMs: MINUTE, limit: 2 };
    const limits: RateLimitOptions = {
      forgot: limit,
      verify: limit,
      reset: limit,
      perEmail: { windowMs: MINUTE, limit: 1 },
    };
    const [a, b] = [await instance(limits), await instance(limits)];
    // A client as `createClient({ url })` makes it, to show what the README's settings avoid.
    const queueing = createClient({ url: server.url });
    queueing.on('error', () => undefined);
    // Destroyed by afterEach even when an expectation fails: its reconnection loop would keep jest from exiting.
    clients.push(queueing);
    await queueing.connect();

    expect((await a.forgot('ada@example.com')).status).toBe(202);
    expect(a.mailer.messages).toHaveLength(1);
    await server.stop();
    await until(() => !clients.some((client) => client.isReady) && !queueing.isReady, 'the clients to see the outage');

    let queued: 'pending' | 'settled' = 'pending';
    void queueing.sendCommand(['PING']).then(
      () => (queued = 'settled'),
      () => (queued = 'settled'),
    );
    const forgotten: request.Response[] = [];
    for (const app of [b, a, b])
      forgotten.push(await answered(app.post('/forgot', { email: 'ada@example.com' }), '/forgot'));
    const verified = await answered(a.post('/verify', { token: 'A'.repeat(43) }), '/verify');
    const reset = await answered(
      b.post('/reset', { token: 'A'.repeat(43), password: 'correct horse battery staple' }),
      '/reset',
    );
    // The default client still holds its command in the offline queue; the README's client failed its commands at once.
    expect(queued).toBe('pending');

    // Over the /forgot limit (2 per IP) and the per-email limit (1), yet let through: the limits fail open.
    expect(forgotten.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(verified.status).toBe(400);
    expect(reset.status).toBe(400);
    await Promise.all([a.router.settled(), b.router.settled()]);
    expect(a.mailer.messages.length + b.mailer.messages.length).toBe(4);
    // Each skipped count is said: an `error` event per per-email count (one per /forgot: the address as typed is the
    // account's own), a logger line per per-IP one.
    expect([...a.events, ...b.events].filter((e) => e.type === 'error' && e.stage === 'perEmail')).toHaveLength(3);
    const lines = [...a.logs, ...b.logs].filter((line) => line.message.includes('let through'));
    expect(lines).toHaveLength(5);
    expect(lines.every((line) => line.level === 'warn' && /offline|closed/i.test(line.message))).toBe(true);

    // Nothing secret in what the outage produced.
    const tokens = [...a.mailer.messages, ...b.mailer.messages].map((m) => /token=([\w-]+)/.exec(m.text)![1]!);
    const said = JSON.stringify([a.events, b.events, a.logs, b.logs, redisWarnings]);
    for (const token of tokens) expect(said).not.toContain(token);

    // Back (empty: no persistence): the script is loaded again on NOSCRIPT and both instances count as one again.
    await server.start();
    await until(() => clients.every((client) => client.isReady), 'the clients to reconnect');
    const again: number[] = [];
    for (const app of [a, b, a]) again.push((await app.post('/forgot', { email: 'nobody@example.com' })).status);
    expect(again).toEqual([202, 202, 429]);
  });

  test('a Redis that stops answering costs a request the store timeout, not forever', async () => {
    const limit = { windowMs: MINUTE, limit: 2 };
    const a = await instance({ forgot: limit, verify: limit, reset: limit, perEmail: { windowMs: MINUTE, limit: 1 } });
    expect((await a.forgot('ada@example.com')).status).toBe(202);
    server.pause();
    try {
      const forgotten = await answered(a.post('/forgot', { email: 'ada@example.com' }), '/forgot');
      const verified = await answered(a.post('/verify', { token: 'A'.repeat(43) }), '/verify');
      expect([forgotten.status, verified.status]).toEqual([202, 400]);
      await a.router.settled();
      expect(a.mailer.messages).toHaveLength(2);
      expect(a.events).toContainEqual(
        expect.objectContaining({
          type: 'error',
          stage: 'perEmail',
          error: expect.objectContaining({ message: 'Redis did not answer within 500 ms' }),
        }),
      );
      expect(a.logs.filter((line) => line.message.includes('let through'))).toHaveLength(2);
    } finally {
      server.resume();
    }
  });

  test('a router built while Redis is unreachable keeps the process up, saying each store failed to start', () => {
    // Its own process: an unhandled rejection there ends the process, which is what this guards against.
    const script = `
      import { passwordReset } from './lib';
      import { createRedisClient, redisRateLimitStore } from './examples/redis-rate-limits';
      const redis = createRedisClient('redis://127.0.0.1:1');
      const router = passwordReset({
        users: { findByEmail: async () => null, updatePassword: async () => undefined },
        resetUrl: 'https://app.example/reset',
        rateLimit: { store: redisRateLimitStore(redis) },
      });
      setTimeout(() => { console.log('still running'); void router.close(); }, 300);
    `;
    const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), '-e', script], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.stdout).toBe('still running\n');
    expect(run.status).toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      ...['forgot', 'verify', 'reset'].map(() =>
        expect.stringMatching(/during store initialization.*: The client is closed$/),
      ),
      '[express-password-reset] the per-email counter store failed to start: The client is closed',
    ]);
  });
});
