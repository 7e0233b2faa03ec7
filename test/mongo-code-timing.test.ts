/**
 * README guarantee 1 for the code flow on a real MongoDB-wire server: through `MongoTokenStore`, an unknown address
 * costs the same database round trips as a known one with a wrong code, no live code or a locked code flow. Measured
 * as interleaved ratios of median answer times (0.1 had a known address with a wrong code at ×14 an unknown one).
 */
import type { Connection } from 'mongoose';
import { MongoTokenStore } from '../lib';
import { CODE_CASES, MAX_ATTEMPTS, caseUsers, prepareCases, sendCase, timingRatios } from './helpers/code-cases';
import { createApp, type TestApp } from './helpers/create-app';
import { InstrumentedStore } from './helpers/instrumented-store';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

const ROUNDS = 40;
const WARMUP = 4;
/**
 * A database round trip here is about 1 ms of a few: one skipped call moves a ratio by 0.25 or more, the noise of
 * HTTP and a server shared with other suites by less.
 */
const LOW = 0.8;
const HIGH = 1.25;

describeMongo('guarantee 1: { email, code } costs the same database work on MongoTokenStore', () => {
  let connection: Connection;
  let t: TestApp | undefined;

  beforeAll(async () => {
    connection = await openConnection(databaseName('code_timing'));
  });
  afterAll(async () => {
    await t?.close();
    await dropAndClose(connection);
  });

  test(`each case's median time is within ${LOW}–${HIGH} of an unknown address's, with equal store calls`, async () => {
    const store = new InstrumentedStore(new MongoTokenStore({ connection, logger: false }));
    const users = caseUsers((ROUNDS + WARMUP + 1) * 2);
    t = await createApp({ users: users.seed, options: { store, code: { enabled: true, maxAttempts: MAX_ATTEMPTS } } });
    const next = await prepareCases(t, users);
    for (const endpoint of ['verify', 'reset'] as const) {
      const calls = [];
      for (const kind of CODE_CASES) {
        const from = store.calls.length;
        await sendCase(t, endpoint, next(kind));
        calls.push(store.calls.slice(from));
      }
      expect(calls).toEqual(CODE_CASES.map(() => ['takeAttempt', 'findByUser']));
    }
    const ratios = await timingRatios(t, next, ROUNDS, WARMUP);
    if (process.env.REPORT_TIMING) console.log(`MongoTokenStore on FerretDB: ${JSON.stringify(ratios)}`);
    const outside = (['verify', 'reset'] as const).flatMap((endpoint) =>
      CODE_CASES.filter((kind) => !(ratios[endpoint][kind] >= LOW && ratios[endpoint][kind] <= HIGH)).map(
        (kind) => `${endpoint} ${kind}: ${ratios[endpoint][kind].toFixed(2)}`,
      ),
    );
    expect(outside).toEqual([]);
  });
});
