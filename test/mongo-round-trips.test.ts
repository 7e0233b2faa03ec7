/**
 * Database round trips per request, counted with the driver's command monitoring (`commandStarted`) on a real
 * MongoDB-wire server: the bundled token store and rate-limit store on the app's connection, the user lookup the
 * app's own (in memory here, so every command counted is the package's). Targets (issue 16): `/forgot` at most 3 per
 * existing address with the per-email limit on the Mongo rate-limit store, `/verify` 1, `/reset` at most 4.
 */
import type { Connection } from 'mongoose';
import { MongoRateLimitStore, MongoTokenStore, type PasswordResetOptions } from '../lib';
import { ROUND_TRIP_TARGETS } from './bench/round-trips';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

describeMongo('database round trips per request (command monitoring)', () => {
  let connection: Connection;
  let t: TestApp | undefined;
  const commands: { name: string; collection: string; filter?: unknown }[] = [];
  /** The token collection of the current app. */
  let tokenCollection = '';

  beforeAll(async () => {
    connection = await openConnection(databaseName('round_trips'), undefined, { monitorCommands: true });
    connection.getClient().on('commandStarted', (event) => {
      const command = event.command as Record<string, unknown>;
      commands.push({
        name: event.commandName,
        collection: String(command[event.commandName]),
        filter: command.filter,
      });
    });
  });

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  afterAll(async () => {
    await dropAndClose(connection);
  });

  /** An app on the connection's Mongo stores; `perIp` also turns the per-IP limiters on (on the Mongo store too). */
  async function mongoApp(perIp = false, options: Partial<PasswordResetOptions> = {}): Promise<TestApp> {
    const suffix = Math.random().toString(36).slice(2, 8);
    tokenCollection = `tokens_${suffix}`;
    const store = new MongoTokenStore({ connection, collection: tokenCollection, logger: false });
    const rateLimit: PasswordResetOptions['rateLimit'] = {
      ...(perIp ? {} : { forgot: false, verify: false, reset: false }),
      perEmail: { windowMs: 3_600_000, limit: 100 },
      store: (name) =>
        new MongoRateLimitStore({ connection, collection: `limits_${suffix}`, prefix: `${name}:`, logger: false }),
    };
    const app = await createApp({ options: { store, rateLimit, ...options } });
    // The first request creates the indexes (once per store): not part of what a request costs.
    await app.requestToken(ADA.email);
    await app.forgot('nobody@example.com');
    await quiet();
    return app;
  }

  /** Waits until no command has been sent for a while: background work and index creation are over. */
  async function quiet(): Promise<void> {
    let seen = -1;
    while (seen !== commands.length) {
      seen = commands.length;
      await sleep(150);
    }
  }

  /** The commands `work` sends, once the router's background work has settled. */
  async function counted(app: TestApp, work: () => Promise<unknown>): Promise<string[]> {
    await quiet();
    const from = commands.length;
    await work();
    await app.router.settled();
    await quiet();
    return commands.slice(from).map((command) => `${command.name} ${command.collection.replace(/_\w+$/, '')}`);
  }

  test('/forgot for an existing address: 3 (count the address, insert the token, mark it delivered)', async () => {
    t = await mongoApp();
    const app = t;
    for (let i = 0; i < 3; i += 1) {
      const sent = await counted(app, () => app.forgot(ADA.email));
      expect(sent).toEqual(['insert limits', 'insert tokens', 'update tokens']);
      expect(sent.length).toBeLessThanOrEqual(ROUND_TRIP_TARGETS.forgot);
    }
    // The limit still counts every request: the newest link is the only one that works.
    expect(t.mailer.messages.filter((message) => message.to === ADA.email)).toHaveLength(4);
  });

  test('/forgot for an unknown address: 1 (the count of the address), and no token work', async () => {
    t = await mongoApp();
    const app = t;
    expect(await counted(app, () => app.forgot('nobody@example.com'))).toEqual(['insert limits']);
  });

  test('/verify: 1 (find the token by _id)', async () => {
    t = await mongoApp();
    const app = t;
    const token = await app.requestToken(ADA.email);
    const sent = await counted(app, async () => {
      expect((await app.post('/verify', { token })).status).toBe(200);
    });
    expect(sent).toEqual(['find tokens']);
  });

  test('/reset: 3 of at most 4 (find, claim, revoke the other links)', async () => {
    t = await mongoApp();
    const app = t;
    const token = await app.requestToken(ADA.email);
    const sent = await counted(app, async () => {
      expect((await app.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    });
    expect(sent).toEqual(['find tokens', 'delete tokens', 'delete tokens']);
    expect(sent.length).toBeLessThanOrEqual(ROUND_TRIP_TARGETS.reset);
  });

  test('with the per-IP limiters on the Mongo store as well, each endpoint costs one more', async () => {
    t = await mongoApp(true);
    const app = t;
    expect(await counted(app, () => app.forgot(ADA.email))).toEqual([
      'insert limits',
      'insert limits',
      'insert tokens',
      'update tokens',
    ]);
    const token = await app.requestToken(ADA.email);
    // The /verify limiter's store creates its unique index on its first hit.
    await counted(app, () => app.post('/verify', { token: 'warm-up' }));
    expect(await counted(app, () => app.post('/verify', { token }))).toEqual(['insert limits', 'find tokens']);
  });

  test("/verify's query uses an index: by _id alone, which FerretDB 1.x pushes down (MongoDB: an _id plan)", async () => {
    t = await mongoApp();
    const app = t;
    const token = await app.requestToken(ADA.email);
    await counted(app, () => app.post('/verify', { token }));
    const { filter } = commands.filter((command) => command.name === 'find').at(-1)!;
    const explained = (await connection
      .db!.collection(tokenCollection)
      .find(filter as object)
      .explain()) as { filterPushdown?: boolean; queryPlanner?: { winningPlan?: unknown } };
    if (explained.filterPushdown !== undefined) expect(explained.filterPushdown).toBe(true);
    else expect(JSON.stringify(explained.queryPlanner?.winningPlan)).toMatch(/IDHACK|EXPRESS_IXSCAN|IXSCAN/);
  });
});
