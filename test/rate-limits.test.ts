/**
 * Per-IP limits (429 `RATE_LIMITED` with standard headers), per endpoint,
 * configurable, off with `rateLimit: false`, on any express-rate-limit store,
 * and keyed by the client IP `trust proxy` resolves.
 */
import { MemoryStore, type Store } from 'express-rate-limit';
import type { RateLimitOptions } from '../lib';
import { ADA, createApp, type TestApp } from './helpers/create-app';
import { DEFAULT_LIMITS } from '../lib/options/defaults';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ONLY = (name: 'forgot' | 'verify' | 'reset', limit: number): RateLimitOptions => ({
  forgot: false,
  verify: false,
  reset: false,
  perEmail: false,
  [name]: { windowMs: 60_000, limit },
});

describe('per-IP limits', () => {
  test('over the /forgot limit: 429 RATE_LIMITED with RateLimit headers and Retry-After', async () => {
    t = await createApp({ options: { rateLimit: ONLY('forgot', 2) } });
    const first = await t.post('/forgot', { email: ADA.email });
    expect(first.status).toBe(202);
    expect(first.headers['ratelimit-limit']).toBe('2');
    expect(first.headers['ratelimit-remaining']).toBe('1');
    expect(first.headers['ratelimit-policy']).toBe('2;w=60');
    expect(first.headers.ratelimit).toMatch(/^limit=2, remaining=1, reset=\d+$/);
    expect((await t.post('/forgot', { email: ADA.email })).status).toBe(202);

    const limited = await t.post('/forgot', { email: ADA.email });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ success: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(limited.headers['referrer-policy']).toBe('no-referrer');
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'rate_limited', limiter: 'forgot', ip: expect.any(String) }),
    );
    // The refused request did no work.
    await t.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'reset');
    expect(t.events.filter((e) => e.type === 'reset.requested')).toHaveLength(2);
  });

  test.each(['verify', 'reset'] as const)('over the /%s limit: 429', async (name) => {
    t = await createApp({ options: { rateLimit: ONLY(name, 1) } });
    const body = name === 'verify' ? { token: 'abc' } : { token: 'abc', password: 'whatever it is' };
    expect((await t.post(`/${name}`, body)).status).toBe(400);
    const limited = await t.post(`/${name}`, body);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    // The window is 60 s and began with the first request: the client is told to wait what is left of it.
    const retryAfter = Number(limited.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  test('limits are per endpoint: using up /forgot leaves /verify and /reset open', async () => {
    t = await createApp({
      options: {
        rateLimit: {
          forgot: { windowMs: 60_000, limit: 1 },
          verify: { windowMs: 60_000, limit: 5 },
          reset: { windowMs: 60_000, limit: 5 },
          perEmail: false,
        },
      },
    });
    await t.forgot(ADA.email);
    expect((await t.post('/forgot', { email: ADA.email })).status).toBe(429);
    const verify = await t.post('/verify', { token: 'abc' });
    expect(verify.status).toBe(400);
    expect(verify.headers['ratelimit-limit']).toBe('5');
    expect(verify.headers['ratelimit-remaining']).toBe('4');
    expect((await t.post('/reset', { token: 'abc', password: 'whatever it is' })).headers['ratelimit-remaining']).toBe(
      '4',
    );
  });

  test('requests the router refuses as malformed still count', async () => {
    t = await createApp({ options: { rateLimit: ONLY('forgot', 2) } });
    await t.post('/forgot', '{');
    await t.post('/forgot', { email: 42 });
    expect((await t.post('/forgot', { email: ADA.email })).status).toBe(429);
  });

  test('limits are on by default', async () => {
    t = await createApp({ options: { rateLimit: undefined } });
    const response = await t.post('/verify', { token: 'abc' });
    expect(response.headers['ratelimit-limit']).toBe(String(DEFAULT_LIMITS.verify.limit));
    const forgot = await t.post('/forgot', { email: ADA.email });
    expect(forgot.headers['ratelimit-limit']).toBe(String(DEFAULT_LIMITS.forgot.limit));
    expect(forgot.headers['ratelimit-policy']).toBe(
      `${DEFAULT_LIMITS.forgot.limit};w=${DEFAULT_LIMITS.forgot.windowMs / 1000}`,
    );
    await t.waitForEvent((e) => e.type === 'email.sent');
  });

  test('rateLimit: false turns every limit off', async () => {
    t = await createApp({ options: { rateLimit: false } });
    const responses = await Promise.all(Array.from({ length: 30 }, () => t!.post('/verify', { token: 'abc' })));
    expect(responses.every((r) => r.status === 400)).toBe(true);
    expect(responses[0]!.headers['ratelimit-limit']).toBeUndefined();
    for (let i = 0; i < 8; i += 1) await t.forgot(ADA.email);
    expect(t.mailer.messages).toHaveLength(8);
  });

  test('one limiter can be turned off on its own', async () => {
    t = await createApp({ options: { rateLimit: { verify: false } } });
    expect((await t.post('/verify', { token: 'abc' })).headers['ratelimit-limit']).toBeUndefined();
    expect((await t.post('/reset', { token: 'abc', password: 'whatever it is' })).headers['ratelimit-limit']).toBe(
      String(DEFAULT_LIMITS.reset.limit),
    );
  });
});

describe('stores', () => {
  test('a custom store factory is called once per limiter, with distinct names, and its stores are used', async () => {
    const stores = new Map<string, MemoryStore>();
    const store = jest.fn((name: string): Store => {
      const created = new MemoryStore();
      stores.set(name, created);
      return created;
    });
    t = await createApp({ options: { rateLimit: { store } } });
    expect(store).toHaveBeenCalledTimes(4);
    expect(store.mock.calls.map(([name]) => name).sort()).toEqual(['forgot', 'perEmail', 'reset', 'verify']);

    const increments = jest.spyOn(stores.get('verify')!, 'increment');
    const perEmail = jest.spyOn(stores.get('perEmail')!, 'increment');
    await t.post('/verify', { token: 'abc' });
    await t.forgot(ADA.email);
    expect(increments).toHaveBeenCalledTimes(1);
    // Once, before the lookup: the account counts under its own address, and that is the address typed.
    expect(perEmail).toHaveBeenCalledTimes(1);
    // A spelling that folds to the stored address is that address: one count per request again.
    await t.forgot(ADA.email.toUpperCase());
    expect(perEmail).toHaveBeenCalledTimes(2);
    // The per-email store never sees the address or the user id itself.
    for (const [key] of perEmail.mock.calls) expect(key).not.toMatch(/ada|u1/);
  });

  test('the factory is called only for limiters that are on', async () => {
    const store = jest.fn((_name: string) => new MemoryStore());
    t = await createApp({ options: { rateLimit: { store, verify: false, perEmail: false } } });
    expect(store.mock.calls.map(([name]) => name).sort()).toEqual(['forgot', 'reset']);
  });

  test('an unreachable store lets requests through instead of failing them', async () => {
    const broken = (): Store => ({
      increment: async () => {
        throw new Error('redis down');
      },
      decrement: async () => undefined,
      resetKey: async () => undefined,
    });
    t = await createApp({ options: { rateLimit: { store: broken } } });
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const forgot = await t.post('/forgot', { email: ADA.email });
      expect(forgot.status).toBe(202);
      expect((await t.post('/verify', { token: 'abc' })).status).toBe(400);
      await t.waitForEvent((e) => e.type === 'error' || e.type === 'email.sent');
      // express-rate-limit's report goes to the package's logger as one line, not to console.error.
      expect(consoleError).not.toHaveBeenCalled();
      const warning = t.logs.find((line) => line.level === 'warn' && line.message.includes('error from store'));
      expect(warning?.message).toContain('redis down');
    } finally {
      consoleError.mockRestore();
    }
  });

  test('router.close() shuts the stores down', async () => {
    const shutdowns: string[] = [];
    const store = (name: string): Store =>
      Object.assign(new MemoryStore(), {
        shutdown: () => {
          shutdowns.push(name);
        },
      });
    t = await createApp({ options: { rateLimit: { store } } });
    await t.close();
    t = undefined;
    expect(shutdowns.sort()).toEqual(['forgot', 'perEmail', 'reset', 'verify']);
  });
});

describe('client IP', () => {
  test('behind trust proxy, each X-Forwarded-For client is counted on its own', async () => {
    t = await createApp({ options: { rateLimit: ONLY('verify', 2) }, configure: (app) => app.set('trust proxy', 1) });
    const from = (ip: string) => t!.post('/verify', { token: 'abc' }).set('X-Forwarded-For', ip);
    expect((await from('203.0.113.1')).status).toBe(400);
    expect((await from('203.0.113.1')).status).toBe(400);
    expect((await from('203.0.113.1')).status).toBe(429);
    expect((await from('203.0.113.2')).status).toBe(400);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'rate_limited', ip: '203.0.113.1' }));
  });

  test('without trust proxy, a forged X-Forwarded-For does not dodge the limit', async () => {
    t = await createApp({ options: { rateLimit: ONLY('verify', 2) } });
    // express-rate-limit warns (on console.error) about the header when trust proxy is off: expected here.
    const warn = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const statuses: number[] = [];
      for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        statuses.push((await t.post('/verify', { token: 'abc' }).set('X-Forwarded-For', ip)).status);
      }
      expect(statuses).toEqual([400, 400, 429]);
    } finally {
      warn.mockRestore();
    }
  });
});
