/**
 * MongoRateLimitStore on a real MongoDB-wire server: no lost increments under
 * concurrency, fixed windows, key and prefix isolation, expiry, and use as an
 * express-rate-limit store shared by two apps.
 */
import express from 'express';
import { rateLimit, type Options } from 'express-rate-limit';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { MongoRateLimitStore, type MongoRateLimitStoreOptions } from '../lib';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

describeMongo('MongoRateLimitStore', () => {
  let connection: Connection;
  let collections = 0;
  const stores: MongoRateLimitStore[] = [];

  beforeAll(async () => {
    connection = await openConnection(databaseName('rate_limit_store'), undefined, { monitorCommands: true });
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.shutdown()));
    await dropAndClose(connection);
  });

  /** A store on a collection of its own (unless one is given), initialised as express-rate-limit would. */
  function newStore(init: Partial<Options>, options: Partial<MongoRateLimitStoreOptions> = {}): MongoRateLimitStore {
    if (!options.collection) collections += 1;
    const store = new MongoRateLimitStore({ connection, collection: `hits_${collections}`, logger: false, ...options });
    store.init({ windowMs: 60_000, ...init } as Options);
    stores.push(store);
    return store;
  }

  test('100 parallel increments of one key are all counted', async () => {
    // A fixed clock: windows are aligned to the clock, and a run that straddles a window's end would start a new one.
    const now = Date.now();
    const store = newStore({}, { now: () => now });
    const results = await Promise.all(Array.from({ length: 100 }, () => store.increment('1.2.3.4')));
    const counts = results.map((r) => r.totalHits).sort((a, b) => a - b);
    // Each caller counts after its own insert, so the k-th stored hit sees at least k: no increment is lost.
    counts.forEach((count, i) => expect(count).toBeGreaterThanOrEqual(i + 1));
    expect(counts[99]).toBe(100);
    expect((await store.get('1.2.3.4'))?.totalHits).toBe(100);
  });

  test('with a limit of 5, of 50 parallel hits at most 5 are within the limit, and the key stays over it', async () => {
    const store = newStore({ limit: 5 });
    const results = await Promise.all(Array.from({ length: 50 }, () => store.increment('5.6.7.8')));
    // A burst may be refused early (every hit can be stored before any is counted); it never lets more than the limit
    // through.
    expect(results.filter((r) => r.totalHits <= 5).length).toBeLessThanOrEqual(5);
    expect((await store.increment('5.6.7.8')).totalHits).toBeGreaterThan(5);
  });

  test('with a limit of 50, of 100 parallel hits exactly 50 are within it, counted 1 to 50, each with one insert', async () => {
    const now = Date.now();
    const store = newStore({ limit: 50 }, { now: () => now });
    await store.increment('warm-up');
    const inserts: number[] = [];
    const client = connection.getClient();
    const onStarted = (event: { commandName: string }): void => {
      if (event.commandName === 'insert') inserts.push(1);
    };
    client.on('commandStarted', onStarted);
    const results = await Promise.all(Array.from({ length: 100 }, () => store.increment('burst')));
    client.off('commandStarted', onStarted);
    const within = results.map((r) => r.totalHits).filter((count) => count <= 50);
    expect(within.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(inserts).toHaveLength(100);
    // The slot past the limit marks the key as over it; nothing more is stored.
    expect(await connection.collection(`hits_${collections}`).countDocuments({ key: 'burst' })).toBe(51);
  });

  test('sequential hits count 1, 2, 3, ...; over the limit they are no longer stored (an attacker cannot grow the collection)', async () => {
    const store = newStore({ limit: 3 });
    const counts: number[] = [];
    for (let i = 0; i < 20; i += 1) counts.push((await store.increment('flood')).totalHits);
    expect(counts.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(counts.slice(4).every((count) => count > 3)).toBe(true);
    const stored = await connection.collection(`hits_${collections}`).countDocuments({});
    expect(stored).toBe(4);
    expect((await store.get('flood'))?.totalHits).toBe(4);
  });

  test('windows are fixed and aligned: resetTime is the window end, and the count restarts after it', async () => {
    let now = 1_800_000_000_000 + 12_345;
    const store = newStore({ windowMs: 60_000 }, { now: () => now });
    const first = await store.increment('k');
    expect(first.totalHits).toBe(1);
    expect(first.resetTime?.getTime()).toBe(now - (now % 60_000) + 60_000);
    expect((await store.increment('k')).totalHits).toBe(2);
    now = first.resetTime!.getTime();
    expect((await store.increment('k')).totalHits).toBe(1);
  });

  test('decrement, resetKey and resetAll change only this key or prefix', async () => {
    const a = newStore({}, { prefix: 'a:' });
    const b = newStore({}, { prefix: 'b:', collection: `hits_${collections}` });
    for (let i = 0; i < 3; i += 1) await Promise.all([a.increment('x'), a.increment('y'), b.increment('x')]);
    await a.decrement('x');
    expect((await a.get('x'))?.totalHits).toBe(2);
    await a.resetKey('x');
    expect(await a.get('x')).toBeUndefined();
    expect((await a.get('y'))?.totalHits).toBe(3);
    await a.resetAll();
    expect(await a.get('y')).toBeUndefined();
    expect((await b.get('x'))?.totalHits).toBe(3);
  });

  test('two stores with one prefix (two app instances) share their counts', async () => {
    const one = newStore({});
    const two = newStore({}, { collection: `hits_${collections}` });
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).increment('shared')));
    expect((await one.get('shared'))?.totalHits).toBe(10);
    expect((await two.get('shared'))?.totalHits).toBe(10);
    expect(one.localKeys).toBe(false);
  });

  test('expired hits are removed: by a TTL index, or where the server refuses one, by a purge timer with one warning', async () => {
    let now = Date.now();
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), info: () => undefined };
    collections += 1;
    const options = { collection: `hits_${collections}`, now: () => now, logger, purgeIntervalMs: 50 };
    const first = newStore({ windowMs: 1000 }, options);
    newStore({ windowMs: 1000 }, { ...options, prefix: 'other:' });
    await first.increment('k');
    const raw = connection.collection(`hits_${collections}`);
    let ttl: { expireAfterSeconds?: number } | undefined;
    for (let i = 0; i < 100 && !ttl && warnings.length === 0; i += 1) {
      ttl = (await raw.indexes()).find((index) => index.expireAfterSeconds !== undefined);
      await new Promise((wake) => setTimeout(wake, 20));
    }
    if (ttl) {
      expect(ttl.expireAfterSeconds).toBe(0);
      expect(warnings).toEqual([]);
      return;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/TTL index .*purged every/);
    now += 1000;
    for (let i = 0; i < 100 && (await raw.countDocuments({})) > 0; i += 1)
      await new Promise((wake) => setTimeout(wake, 20));
    expect(await raw.countDocuments({})).toBe(0);
  });

  test('as the store of express-rate-limit, two apps share one limit', async () => {
    collections += 1;
    const app = (): express.Express => {
      const store = new MongoRateLimitStore({
        connection,
        collection: `hits_${collections}`,
        prefix: 'login:',
        logger: false,
      });
      stores.push(store);
      return express()
        .use(rateLimit({ windowMs: 60_000, limit: 3, store, standardHeaders: 'draft-6', legacyHeaders: false }))
        .get('/', (_req, res) => {
          res.send('ok');
        });
    };
    const [one, two] = [app(), app()];
    const statuses: number[] = [];
    for (const target of [one, two, one, two]) statuses.push((await request(target).get('/')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const last = await request(one).get('/');
    expect(last.status).toBe(429);
    expect(last.headers['ratelimit-remaining']).toBe('0');
  });
});
