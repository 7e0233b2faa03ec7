/**
 * Review of the Mongo round-trip rework: behaviours the MongoRateLimitStore must share with express-rate-limit's
 * MemoryStore. (Named mongo-*.test.ts so that the jest global setup provides a MongoDB-wire server.)
 */
import express from 'express';
import { MemoryStore, rateLimit, type Store } from 'express-rate-limit';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { MongoRateLimitStore, MongoTokenStore, type User } from '../lib';
import { createApp, MemoryUsers } from './helpers/create-app';
import type { TokenRecord } from '../lib/stores/token-store';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

describeMongo('Mongo stores at their edges: slots, decrements, supersede, spellings', () => {
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

  test('a burst of refused requests that are not counted does not wipe the window', async () => {
    const store = mongoStore('burst_refused');
    const app = express();
    app.use(rateLimit({ windowMs: 60_000, limit: 3, skipFailedRequests: true, store }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    for (let i = 0; i < 3; i += 1) expect((await request(app).get('/')).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 10 }, () => request(app).get('/')));
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(429));
    // Let the decrements of the 429s land (express-rate-limit runs them when the response finishes).
    await new Promise((wake) => setTimeout(wake, 300));
    const after = await Promise.all(Array.from({ length: 5 }, () => request(app).get('/')));
    expect(after.filter((r) => r.status === 200)).toHaveLength(0);
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

  describe('MongoTokenStore.markDelivered and superseded', () => {
    const record = (user: string, hash: string, createdAt: number): TokenRecord => ({
      tokenHash: hash,
      userId: user,
      email: 'ada@example.com',
      createdAt: new Date(createdAt),
      expiresAt: new Date(createdAt + 600_000),
    });

    test('ten tokens of one user delivered at once: exactly the newest survives, on two stores', async () => {
      const a = new MongoTokenStore({ connection, collection: 'review_tokens', logger: false });
      const b = new MongoTokenStore({ connection, collection: 'review_tokens', logger: false });
      const now = Date.now();
      // Some within one millisecond: (createdAt, hash) orders them.
      const records = Array.from({ length: 10 }, (_v, i) => record('u-many', `many-${i}`, now + Math.floor(i / 2)));
      await Promise.all(records.map((saved) => a.save(saved)));
      await Promise.all(
        records.map((saved, i) => (i % 2 ? a : b).markDelivered(saved.tokenHash, i % 3 ? saved : undefined)),
      );
      const live = (await Promise.all(records.map((saved) => a.find(saved.tokenHash)))).filter(Boolean);
      expect(live).toEqual([records[9]]);
      expect(await a.findByUser('u-many')).toEqual(records[9]);
      await Promise.all([a.close(), b.close()]);
    });

    test('a token stored by 0.1 (no delivered, no superseded) is found, then superseded by a delivered new one', async () => {
      const store = new MongoTokenStore({ connection, collection: 'review_legacy', logger: false });
      const now = Date.now();
      const legacy = record('u-legacy', 'legacy-1', now - 5000);
      await store.find('warm-up');
      await connection.collection('review_legacy').insertOne({
        _id: legacy.tokenHash as never,
        userId: legacy.userId,
        email: legacy.email,
        createdAt: legacy.createdAt,
        expiresAt: legacy.expiresAt,
      });
      expect(await store.find(legacy.tokenHash)).toEqual(legacy);
      expect(await store.findByUser('u-legacy')).toEqual(legacy);
      const fresh = record('u-legacy', 'legacy-2', now);
      await store.save(fresh);
      // Saved, not delivered: the 0.1 link still works.
      expect(await store.findByUser('u-legacy')).toEqual(legacy);
      expect(await store.find(legacy.tokenHash)).toEqual(legacy);
      await store.markDelivered(fresh.tokenHash);
      expect(await store.find(legacy.tokenHash)).toBeNull();
      expect(await store.claim(legacy.tokenHash)).toBe(false);
      expect(await store.findByUser('u-legacy')).toEqual(fresh);
      await store.close();
    });

    test('an expired token within retention is still found (the router answers TOKEN_EXPIRED), and never by findByUser', async () => {
      const store = new MongoTokenStore({ connection, collection: 'review_expired', logger: false });
      const now = Date.now();
      const expired = { ...record('u-exp', 'exp-1', now - 700_000), expiresAt: new Date(now - 100_000) };
      await store.save(expired);
      await store.markDelivered(expired.tokenHash, expired);
      expect(await store.find(expired.tokenHash)).toEqual(expired);
      await store.close();
    });
  });

  test('one account gets at most perEmail.limit emails however its address is spelled (Mongo counter store)', async () => {
    // A user store that ignores case and dots, as some do for Gmail; the stored address has both.
    class DotlessUsers extends MemoryUsers {
      override async findByEmail(email: string): Promise<User | null> {
        const fold = (value: string): string => value.toLowerCase().replace(/\./g, '');
        const user = this.users.find((candidate) => fold(candidate.email) === fold(email));
        return user ? { id: user.id, email: user.email } : null;
      }
    }
    const users = new DotlessUsers([{ id: 'u-dots', email: 'Ada.Lovelace@Gmail.com' }]);
    const t = await createApp({
      options: {
        users,
        store: new MongoTokenStore({ connection, collection: 'review_flow_tokens', logger: false }),
        rateLimit: {
          forgot: false,
          verify: false,
          reset: false,
          perEmail: { windowMs: 3_600_000, limit: 2 },
          store: (name) => mongoStore(`review_flow_${name}`),
        },
      },
    });
    try {
      const spellings = [
        'ada.lovelace@gmail.com',
        'adalovelace@gmail.com',
        'ADA.LOVELACE@GMAIL.COM',
        'a.d.a.lovelace@gmail.com',
      ];
      for (const spelling of [...spellings, ...spellings]) expect((await t.forgot(spelling)).status).toBe(202);
      expect(t.mailer.messages.filter((m) => m.to === 'Ada.Lovelace@Gmail.com')).toHaveLength(2);
      expect(t.mailer.messages).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});
