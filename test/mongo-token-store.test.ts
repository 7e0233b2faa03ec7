/**
 * What MongoTokenStore does beyond the shared conformance cases: only hashes
 * reach the database, expiry by TTL index or purge timer, a connection opened
 * after the store, and option checks.
 */
import express from 'express';
import mongoose, { Schema, type Connection } from 'mongoose';
import request from 'supertest';
import { MongoTokenStore, OptionsError, OutboxMailer, passwordReset } from '../lib';
import { hashToken } from '../lib/core/tokens';
import type { TokenRecord } from '../lib/stores/token-store';
import { databaseName, describeMongo, dropAndClose, mongoUri, openConnection } from './support/mongo';
import { TEST_SECRET } from './helpers/create-app';

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

describeMongo('MongoTokenStore on MongoDB', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await openConnection(databaseName('token_store'));
  });
  afterAll(() => dropAndClose(connection));

  test('the database holds hashes only: no token, code or password', async () => {
    const mailer = new OutboxMailer({ logger: false });
    const User = connection.model('HashUser', new Schema({ email: String, passwordHash: String }));
    const user = await User.create({ email: 'ada@example.com', passwordHash: 'old' });
    const router = passwordReset({
      users: {
        findByEmail: async (email) =>
          email.toLowerCase() === 'ada@example.com' ? { id: String(user._id), email: 'ada@example.com' } : null,
        updatePassword: async () => undefined,
      },
      mongoose: { connection, collection: 'hashed_tokens' },
      mailer,
      code: { enabled: true },
      secret: TEST_SECRET,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      rateLimit: false,
      logger: false,
    });
    const app = express().use('/auth', router);
    try {
      await request(app).post('/auth/forgot').send({ email: 'ada@example.com' });
      for (let i = 0; i < 100 && mailer.messages.length === 0; i += 1) await sleep(20);
      const message = mailer.last()!;
      const token = /token=([\w-]+)/.exec(message.text)![1]!;
      const code = message.data.code!;
      const wrong = code === '000000' ? '111111' : '000000';
      await request(app).post('/auth/verify').send({ email: 'ada@example.com', code: wrong });

      const tokens = await connection.collection('hashed_tokens').find().toArray();
      const attempts = await connection.collection('hashed_tokens_attempts').find().toArray();
      expect(tokens).toHaveLength(1);
      expect(tokens[0]).toMatchObject({ _id: hashToken(token), userId: String(user._id), email: 'ada@example.com' });
      expect(attempts).toHaveLength(1);
      const values = [...tokens, ...attempts].flatMap((doc) => Object.values(doc).map(String));
      expect(values.filter((value) => value.includes(token) || value === code || value.endsWith(`:${code}`))).toEqual(
        [],
      );
      expect(values).toContain(hashToken(token));
    } finally {
      await router.close();
    }
  });

  test('expired documents go: a TTL index where the server has one, else one warning per collection and a purge timer', async () => {
    const warnings: string[] = [];
    let now = Date.now();
    const store = new MongoTokenStore({
      connection,
      collection: 'expiring',
      expiredRetentionMs: 60_000,
      purgeIntervalMs: 50,
      now: () => now,
      logger: { warn: (message) => warnings.push(message), info: () => undefined },
    });
    const twin = new MongoTokenStore({
      connection,
      collection: 'expiring',
      logger: { warn: (message) => warnings.push(message), info: () => undefined },
    });
    try {
      await store.save({
        tokenHash: 'h1',
        userId: 'u1',
        email: 'a@example.com',
        createdAt: new Date(now),
        expiresAt: new Date(now + 1000),
      });
      await store.takeAttempt('code:u1', 5, new Date(now + 1000));
      const raw = connection.collection('expiring');
      let ttl: { expireAfterSeconds?: number } | undefined;
      for (let i = 0; i < 100 && !ttl && warnings.length < 2; i += 1) {
        ttl = (await raw.indexes()).find((index) => index.expireAfterSeconds !== undefined);
        await sleep(20);
      }
      if (ttl) {
        expect(ttl.expireAfterSeconds).toBe(60);
        expect(warnings).toEqual([]);
        return;
      }
      await sleep(100);
      expect(warnings).toHaveLength(2);
      expect(warnings.join('\n')).toMatch(/TTL index on "expiring" .*purged every/);
      expect(warnings.join('\n')).toMatch(/TTL index on "expiring_attempts"/);
      // Expired but within the retention: kept (so it can still answer TOKEN_EXPIRED).
      now += 2000;
      const attempts = connection.collection('expiring_attempts');
      for (let i = 0; i < 100 && (await attempts.countDocuments({})) > 0; i += 1) await sleep(20);
      expect(await attempts.countDocuments({})).toBe(0);
      expect(await raw.countDocuments({})).toBe(1);
      now += 60_000;
      for (let i = 0; i < 100 && (await raw.countDocuments({})) > 0; i += 1) await sleep(20);
      expect(await raw.countDocuments({})).toBe(0);
    } finally {
      await store.close();
      await twin.close();
    }
  });

  test('works on a connection the app opens after creating the router', async () => {
    const late = mongoose.createConnection();
    const store = new MongoTokenStore({ connection: late, collection: 'late', logger: false });
    const saving = store.save({
      tokenHash: 'late-hash',
      userId: 'u1',
      email: 'a@example.com',
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    await late.openUri(mongoUri!, { dbName: connection.name });
    try {
      await saving;
      expect((await store.find('late-hash'))?.userId).toBe('u1');
      expect(await store.claim('late-hash')).toBe(true);
    } finally {
      await store.close();
      await late.close();
    }
  });

  test('refuses bad options, naming them', () => {
    expect(() => new MongoTokenStore({} as never)).toThrow(OptionsError);
    expect(() => new MongoTokenStore({ connection: {} as Connection })).toThrow(
      /MongoTokenStore.connection.*Mongoose connection/,
    );
    expect(() => new MongoTokenStore({ connection, timeoutMs: 0 })).toThrow(
      /MongoTokenStore.timeoutMs.*positive integer/,
    );
    expect(() => new MongoTokenStore({ connection, collection: '' })).toThrow(/MongoTokenStore.collection/);
  });

  describe('markDelivered in one command', () => {
    const record = (hash: string, createdAt: number): TokenRecord => ({
      tokenHash: hash,
      userId: 'u-race',
      email: 'ada@example.com',
      createdAt: new Date(createdAt),
      expiresAt: new Date(createdAt + 600_000),
    });

    test('an older token whose insert lands after a newer one was delivered is the stale link: it goes', async () => {
      const store = new MongoTokenStore({ connection, collection: 'race_tokens', logger: false });
      const now = Date.now();
      const older = record('race-older', now - 1000);
      const newer = record('race-newer', now);
      await store.save(newer);
      await store.markDelivered(newer.tokenHash, newer);
      // The older token's insert was slow: the newer one's sweep did not see it.
      await store.save(older);
      await store.markDelivered(older.tokenHash, older);
      expect(await store.find(older.tokenHash)).toBeNull();
      expect(await store.findByUser('u-race')).toEqual(newer);
      expect(await store.find(newer.tokenHash)).toEqual(newer);
      await store.close();
    });

    test('a superseded token is not found, not the newest, and cannot be claimed; marking again changes nothing', async () => {
      const store = new MongoTokenStore({ connection, collection: 'supersede_tokens', logger: false });
      const now = Date.now();
      const older = record('sup-older', now - 1000);
      const newer = record('sup-newer', now);
      for (const saved of [older, newer]) {
        await store.save(saved);
        await store.markDelivered(saved.tokenHash, saved);
      }
      // Marked again (a retried call), with and without the record: still the newest, still working.
      await store.markDelivered(newer.tokenHash, newer);
      await store.markDelivered(newer.tokenHash);
      expect(await store.find(older.tokenHash)).toBeNull();
      expect(await store.claim(older.tokenHash)).toBe(false);
      expect(await store.findByUser('u-race')).toEqual(newer);
      expect(await store.claim(newer.tokenHash)).toBe(true);
      await store.close();
    });
  });
});
