/**
 * README guarantee 1: `/forgot` answers the same for every well-formed address,
 * and nothing that depends on the account happens before that answer.
 */
import type { Response } from 'supertest';
import { FORGOT_RESPONSE, type Mailer, type UserAdapter } from '../lib';
import { ADA, createApp, deferred, type TestApp } from './helpers/create-app';
import { MAX_PENDING_REQUESTS } from '../lib/options/defaults';

/**
 * Headers compared between answers: all of them except `Date` (the clock) and
 * the per-IP counters, which move with every request whoever it is for.
 */
const PER_RESPONSE_HEADERS = ['date', 'ratelimit', 'ratelimit-remaining', 'ratelimit-reset'];

function comparable(response: Response): { status: number; body: unknown; headers: Record<string, unknown> } {
  const headers = Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => !PER_RESPONSE_HEADERS.includes(name)),
  );
  return { status: response.status, body: response.body, headers };
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('no account enumeration on /forgot', () => {
  test('a known and an unknown address get the same status, body and headers', async () => {
    t = await createApp();
    const known = await t.forgot(ADA.email);
    const unknown = await t.forgot('nobody@example.com');

    expect(known.status).toBe(202);
    expect(known.body).toEqual(FORGOT_RESPONSE);
    expect(comparable(unknown)).toEqual(comparable(known));
    // Every header but Date was compared, at least these (plus ETag, Connection, X-Powered-By when present).
    expect(Object.keys(comparable(known).headers)).toEqual(
      expect.arrayContaining([
        'cache-control',
        'content-length',
        'content-type',
        'referrer-policy',
        'x-content-type-options',
      ]),
    );
    expect(t.mailer.messages.map((m) => m.to)).toEqual([ADA.email]);
  });

  test('with the default rate limits on, the answers still differ only in the per-IP counters', async () => {
    t = await createApp({ options: { rateLimit: undefined } });
    const known = await t.forgot(ADA.email);
    const unknown = await t.forgot('nobody@example.com');
    expect(comparable(unknown)).toEqual(comparable(known));
    expect(known.headers['ratelimit-limit']).toBeDefined();
    expect(Number(known.headers['ratelimit-remaining']) - Number(unknown.headers['ratelimit-remaining'])).toBe(1);
  });

  test('a differently cased known address gets the same answer as an unknown one', async () => {
    t = await createApp();
    const known = await t.forgot('ADA@Example.COM');
    const unknown = await t.forgot('NOBODY@Example.COM');
    expect(comparable(unknown)).toEqual(comparable(known));
    expect(t.mailer.messages).toHaveLength(1);
  });

  test('the 202 is written before the user lookup finishes', async () => {
    const lookup = deferred<null>();
    const users: UserAdapter = { findByEmail: () => lookup.promise, updatePassword: async () => undefined };
    t = await createApp({ options: { users } });
    const response = await t.post('/forgot', { email: ADA.email });
    expect(response.status).toBe(202);
    expect(response.body).toEqual(FORGOT_RESPONSE);
    // Let the background work finish, so close() does not wait forever.
    lookup.resolve(null);
    await t.waitForEvent((e) => e.type === 'reset.unknown_email');
  });

  test('a flood beyond the background limit is dropped with an event, and still answered 202', async () => {
    const lookup = deferred<null>();
    let lookups = 0;
    const users: UserAdapter = {
      findByEmail: () => {
        lookups += 1;
        return lookup.promise;
      },
      updatePassword: async () => undefined,
    };
    const app = await createApp({ options: { users }, configure: (server) => server.set('trust proxy', 1) });
    t = app;
    // From many clients: one client alone only gets its share of the background limit.
    for (let sent = 0; sent < MAX_PENDING_REQUESTS; sent += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          app
            .post('/forgot', { email: `flood${sent + i}@example.com` })
            .set('X-Forwarded-For', `198.51.100.${(sent + i) % 200}`)
            .expect(202),
        ),
      );
    }
    const dropped = await app.post('/forgot', { email: ADA.email }).set('X-Forwarded-For', '203.0.113.1');
    expect(dropped.status).toBe(202);
    expect(dropped.body).toEqual(FORGOT_RESPONSE);
    const overloaded = await app.waitForEvent((e) => e.type === 'error' && e.error.name === 'OverloadedError');
    expect(overloaded).toMatchObject({ stage: 'forgot' });
    expect(lookups).toBe(MAX_PENDING_REQUESTS);
    lookup.resolve(null);
  });

  test('the 202 is written before the email is sent', async () => {
    const sending = deferred<void>();
    const mailer: Mailer = { send: () => sending.promise };
    t = await createApp({ options: { mailer } });
    const response = await t.post('/forgot', { email: ADA.email });
    expect(response.status).toBe(202);
    await t.waitForEvent((e) => e.type === 'reset.requested');
    expect(t.events.some((e) => e.type === 'email.sent')).toBe(false);
    sending.resolve();
    await t.waitForEvent((e) => e.type === 'email.sent');
  });

  test('a failing user store reaches onEvent only; the client gets the usual 202', async () => {
    const users: UserAdapter = {
      findByEmail: async () => {
        throw new Error('connection refused');
      },
      updatePassword: async () => undefined,
    };
    t = await createApp({ options: { users } });
    const response = await t.forgot(ADA.email);
    expect(response.status).toBe(202);
    expect(response.body).toEqual(FORGOT_RESPONSE);
    expect(t.events.find((e) => e.type === 'error')).toMatchObject({
      stage: 'forgot',
      error: { message: 'connection refused' },
    });
    expect(t.logs).toEqual([]);
  });

  test('a failing mailer reaches onEvent only; the client gets the usual 202', async () => {
    const mailer: Mailer = {
      send: async () => {
        throw Object.assign(new Error('upstream said no'), { code: 502 });
      },
    };
    t = await createApp({ options: { mailer } });
    const response = await t.forgot(ADA.email);
    expect(response.status).toBe(202);
    expect(response.body).toEqual(FORGOT_RESPONSE);
    expect(t.events.find((e) => e.type === 'email.failed')).toMatchObject({
      kind: 'reset',
      to: ADA.email,
      error: { message: 'upstream said no', status: 502 },
    });
    expect(t.logs).toEqual([]);
  });

  test('a failing token store reaches onEvent only; the client gets the usual 202', async () => {
    t = await createApp();
    jest.spyOn(t.store, 'save').mockRejectedValue(new Error('store down'));
    const response = await t.forgot(ADA.email);
    expect(response.status).toBe(202);
    expect(t.events.find((e) => e.type === 'error')).toMatchObject({
      stage: 'forgot',
      error: { message: 'store down' },
    });
    expect(t.mailer.messages).toHaveLength(0);
  });

  test('over the per-email limit: the same 202 and no email', async () => {
    t = await createApp({
      options: { rateLimit: { forgot: false, verify: false, reset: false, perEmail: { windowMs: 60_000, limit: 2 } } },
    });
    const answers = [await t.forgot(ADA.email), await t.forgot(ADA.email), await t.forgot(ADA.email)];
    expect(answers.map(comparable)).toEqual([
      comparable(answers[0]!),
      comparable(answers[0]!),
      comparable(answers[0]!),
    ]);
    expect(t.mailer.messages.filter((m) => m.kind === 'reset')).toHaveLength(2);
    expect(t.events.filter((e) => e.type === 'rate_limited')).toEqual([
      expect.objectContaining({ limiter: 'perEmail', email: ADA.email }),
    ]);
    // The limit is per address: another address is not affected.
    await t.forgot('grace@example.com');
    expect(t.mailer.messages.filter((m) => m.kind === 'reset')).toHaveLength(3);
  });

  test('the per-email limit counts addresses case-insensitively', async () => {
    t = await createApp({
      options: { rateLimit: { forgot: false, verify: false, reset: false, perEmail: { windowMs: 60_000, limit: 1 } } },
    });
    await t.forgot(ADA.email);
    await t.forgot(ADA.email.toUpperCase());
    expect(t.mailer.messages).toHaveLength(1);
  });
});
