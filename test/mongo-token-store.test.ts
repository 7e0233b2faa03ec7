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
});
