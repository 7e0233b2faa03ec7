/**
 * Review of the Mongo round-trip rework: behaviours the MongoRateLimitStore must share with express-rate-limit's
 * MemoryStore. (Named mongo-*.test.ts so that the jest global setup provides a MongoDB-wire server.)
 */
import express from 'express';
import { MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { MongoRateLimitStore } from '../lib';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

describeMongo('MongoRateLimitStore review', () => {
  let connection: Connection;
  const stores: MongoRateLimitStore[] = [];

  beforeAll(async () => {
    connection = await openConnection(databaseName('review_mongo'));
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.shutdown()));
    await dropAndClose(connection);
  });

  function mongoStore(collection: string): MongoRateLimitStore {
    const store = new MongoRateLimitStore({ connection, collection, logger: false });
    stores.push(store);
    return store;
  }

  /** Statuses of `count` sequential requests through a limiter of 2 that does not count refused (failed) requests. */
  async function statuses(store: Store, count: number): Promise<number[]> {
    const app = express();
    app.use(rateLimit({ windowMs: 60_000, limit: 2, skipFailedRequests: true, store }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const out: number[] = [];
    for (let i = 0; i < count; i += 1) out.push((await request(app).get('/')).status);
    return out;
  }

  test('a refused request that is not counted (decrement) does not let the next one through', async () => {
    const memory = await statuses(new MemoryStore(), 6);
    expect(memory).toEqual([200, 200, 429, 429, 429, 429]);
    expect(await statuses(mongoStore('skip_failed'), 6)).toEqual(memory);
  });

  test('after a decrement the count is the number of hits, not the number of the slot taken', async () => {
    const store = mongoStore('decrement_count');
    store.init({ windowMs: 60_000, limit: 3 } as never);
    for (let i = 1; i <= 3; i += 1) expect((await store.increment('k')).totalHits).toBe(i);
    await store.decrement('k');
    expect((await store.get('k'))?.totalHits).toBe(2);
    expect((await store.increment('k')).totalHits).toBe(3);
    expect((await store.increment('k')).totalHits).toBe(4);
  });
});
