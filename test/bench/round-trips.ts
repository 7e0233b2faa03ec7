/**
 * Database round trips per request on the Mongo stores, counted with the driver's command monitoring: the bundled
 * token store and rate-limit store (per-email limit on, per-IP limiters off) on one connection, users in memory (the
 * user lookup is the app's own). The same counts are asserted in test/mongo-round-trips.test.ts.
 */
import express from 'express';
import mongoose from 'mongoose';
import type { AddressInfo } from 'node:net';
import { MongoRateLimitStore, MongoTokenStore, OutboxMailer, passwordReset, type UserAdapter } from '../../lib';

/** Per-request ceilings (issue 16): `/reset` not counting the user store's own `updatePassword`. */
export const ROUND_TRIP_TARGETS = { forgot: 3, forgotUnknown: 1, verify: 1, reset: 4 } as const;

const ADA = { id: 'u-ada', email: 'ada@bench.example' };
const PASSWORD = 'correct horse battery staple';

/** Measures `requests` of each kind; resolves the bench table's rows and the counts for bench.json. */
export async function measureRoundTrips(
  uri: string,
  requests = 50,
): Promise<{ rows: string[][]; perRequest: Record<keyof typeof ROUND_TRIP_TARGETS, number> }> {
  const connection = mongoose.createConnection(uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
  await connection.asPromise();
  let commands = 0;
  connection.getClient().on('commandStarted', () => {
    commands += 1;
  });
  const users: UserAdapter = {
    findByEmail: async (email) => {
      const lower = email.toLowerCase();
      if (lower === ADA.email) return ADA;
      const numbered = /^user-(\d+)@bench\.example$/.exec(lower);
      return numbered ? { id: `u-${numbered[1]}`, email: lower } : null;
    },
    updatePassword: async () => undefined,
  };
  const mailer = new OutboxMailer({ logger: false });
  const router = passwordReset({
    users,
    mailer,
    store: new MongoTokenStore({ connection, collection: 'round_trip_tokens', logger: false }),
    rateLimit: {
      forgot: false,
      verify: false,
      reset: false,
      perEmail: { windowMs: 3_600_000, limit: 1_000_000 },
      store: (name) =>
        new MongoRateLimitStore({ connection, collection: 'round_trip_limits', prefix: `${name}:`, logger: false }),
    },
    resetUrl: 'https://bench.example/reset',
    bcryptRounds: 4,
    logger: false,
    emails: { sendChangedNotice: false },
  });
  const server = express().use(router).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (path: string, body: object): Promise<Response> =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const newestToken = (to = ADA.email): string => /token=([\w-]+)/.exec(mailer.last(to)!.text)![1]!;
  /** Commands per call of `one`, over `requests` sequential calls, after the router's background work settled. */
  const per = async (one: (i: number) => Promise<unknown>): Promise<number> => {
    await router.settled();
    const before = commands;
    for (let i = 0; i < requests; i += 1) {
      await one(i);
      await router.settled();
    }
    return (commands - before) / requests;
  };
  try {
    // Warm-up: the first hit of each store creates its indexes.
    await post('/forgot', { email: ADA.email });
    await post('/forgot', { email: 'nobody@bench.example' });
    await router.settled();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const perRequest = {
      forgot: await per(() => post('/forgot', { email: ADA.email })),
      forgotUnknown: await per(() => post('/forgot', { email: 'nobody@bench.example' })),
      verify: await per(() => post('/verify', { token: newestToken() })),
      reset: 0,
    };
    // A reset revokes the user's other links: one user per reset, each with a link of its own.
    const tokens: string[] = [];
    for (let i = 0; i < requests; i += 1) {
      await post('/forgot', { email: `user-${i}@bench.example` });
      await router.settled();
      tokens.push(newestToken(`user-${i}@bench.example`));
    }
    perRequest.reset = await per(async (i) => {
      const answer = await post('/reset', { token: tokens[i], password: PASSWORD });
      if (answer.status !== 200) throw new Error(`/reset answered ${answer.status}`);
    });
    const label = { forgot: '/forgot existing', forgotUnknown: '/forgot unknown', verify: '/verify', reset: '/reset' };
    const rows = (Object.keys(ROUND_TRIP_TARGETS) as (keyof typeof ROUND_TRIP_TARGETS)[]).map((kind) => [
      `round trips: ${label[kind]} (Mongo stores, per-email limit on)`,
      '',
      '',
      '',
      '',
      `${perRequest[kind].toFixed(2)} per request, target ≤ ${ROUND_TRIP_TARGETS[kind]}` +
        (kind === 'reset' ? ' plus the user store' : ''),
    ]);
    return { rows, perRequest };
  } finally {
    await router.close();
    server.close();
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
  }
}
