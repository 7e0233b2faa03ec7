/**
 * One set of cases for every TokenStore: what the router relies on, including
 * the races (single-use claims, bounded attempt slots) decided under concurrency.
 * Runs against MemoryTokenStore and, on a real MongoDB-wire server, MongoTokenStore.
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { MemoryTokenStore, MongoTokenStore, type TokenRecord, type TokenStore } from '../lib';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

const RETENTION_MS = 3_600_000;

interface Subject {
  store: TokenStore;
  /** Moves the store's clock forward. */
  advance(ms: number): void;
  /** Whatever the store does to drop long-expired tokens (its timer's work, run now). */
  purge(): Promise<void>;
}

type Factory = () => Promise<Subject>;

function hash(): string {
  return randomBytes(32).toString('hex');
}

function conformance(name: string, describeIt: jest.Describe, setup: () => { factory: Factory; beforeAll?: () => Promise<void>; afterAll?: () => Promise<void> }): void {
  describeIt(`TokenStore conformance: ${name}`, () => {
    const hooks = setup();
    let subject: Subject;
    let store: TokenStore;
    let clock: number;

    if (hooks.beforeAll) beforeAll(hooks.beforeAll);
    if (hooks.afterAll) afterAll(hooks.afterAll);
    beforeEach(async () => {
      subject = await hooks.factory();
      store = subject.store;
      clock = Date.now();
    });
    afterEach(() => store.close());

    const record = (overrides: Partial<TokenRecord> = {}): TokenRecord => ({
      tokenHash: hash(),
      userId: 'user-1',
      email: 'ada@example.com',
      createdAt: new Date(clock),
      expiresAt: new Date(clock + 30 * 60_000),
      ...overrides,
    });

    test('find returns a saved token with every field, and null for an unknown hash', async () => {
      const saved = record({ codeHash: hash(), codeSalt: 'ab'.repeat(16) });
      await store.save(saved);
      expect(await store.find(saved.tokenHash)).toEqual(saved);
      expect(await store.find(hash())).toBeNull();
    });

    test('a token without a code comes back without code fields', async () => {
      const saved = record();
      await store.save(saved);
      const found = await store.find(saved.tokenHash);
      expect(found).toEqual(saved);
      expect(found).not.toHaveProperty('codeHash');
    });

    test('findByUser returns the newest token of the user, null for a user without one', async () => {
      const first = record({ createdAt: new Date(clock - 1000) });
      const other = record({ userId: 'user-2', createdAt: new Date(clock + 5) });
      await store.save(first);
      await store.save(other);
      expect(await store.findByUser('user-1')).toEqual(first);
      expect(await store.findByUser('nobody')).toBeNull();
    });

    test('saving a token supersedes the older tokens of the same user only', async () => {
      const old = record({ createdAt: new Date(clock - 1000) });
      const otherUser = record({ userId: 'user-2' });
      const fresh = record();
      await store.save(old);
      await store.save(otherUser);
      await store.save(fresh);
      expect(await store.find(old.tokenHash)).toBeNull();
      expect(await store.find(fresh.tokenHash)).toEqual(fresh);
      expect(await store.findByUser('user-1')).toEqual(fresh);
      expect(await store.find(otherUser.tokenHash)).toEqual(otherUser);
    });

    test('claim succeeds once, then the token is gone', async () => {
      const saved = record();
      await store.save(saved);
      expect(await store.claim(saved.tokenHash)).toBe(true);
      expect(await store.claim(saved.tokenHash)).toBe(false);
      expect(await store.find(saved.tokenHash)).toBeNull();
      expect(await store.findByUser('user-1')).toBeNull();
      expect(await store.claim(hash())).toBe(false);
    });

    test('an expired token is still found (so it can be told apart from an invalid one) until purged after the retention', async () => {
      const saved = record({ expiresAt: new Date(clock + 1000) });
      await store.save(saved);
      subject.advance(2000);
      const found = await store.find(saved.tokenHash);
      expect(found?.expiresAt.getTime()).toBeLessThan(clock + 2000);
      subject.advance(RETENTION_MS);
      await subject.purge();
      expect(await store.find(saved.tokenHash)).toBeNull();
      expect(await store.findByUser('user-1')).toBeNull();
      expect(await store.claim(saved.tokenHash)).toBe(false);
    });

    test('revokeUser removes the tokens of that user and no other', async () => {
      const mine = record();
      const theirs = record({ userId: 'user-2' });
      await store.save(mine);
      await store.save(theirs);
      await store.revokeUser('user-1');
      expect(await store.find(mine.tokenHash)).toBeNull();
      expect(await store.findByUser('user-1')).toBeNull();
      expect(await store.find(theirs.tokenHash)).toEqual(theirs);
      await store.revokeUser('nobody');
    });

    test('attempt slots: limit slots per key, given back by release, all freed by clear, keys independent', async () => {
      const until = new Date(clock + 60_000);
      expect(await store.takeAttempt('code:a', 3, until)).toBe(1);
      expect(await store.takeAttempt('code:a', 3, until)).toBe(2);
      expect(await store.takeAttempt('code:a', 3, until)).toBe(3);
      expect(await store.takeAttempt('code:a', 3, until)).toBeNull();
      expect(await store.takeAttempt('code:b', 3, until)).toBe(1);

      await store.releaseAttempt('code:a', 3);
      expect(await store.takeAttempt('code:a', 3, until)).toBe(3);
      expect(await store.takeAttempt('code:a', 3, until)).toBeNull();

      await store.clearAttempts('code:a');
      expect(await store.takeAttempt('code:a', 3, until)).toBe(1);
      expect(await store.takeAttempt('code:b', 3, until)).toBe(2);
    });

    test('attempt slots expire, and issuing a new token does not free them', async () => {
      const until = new Date(clock + 10_000);
      for (let i = 0; i < 2; i += 1) await store.takeAttempt('code:user-1', 2, until);
      await store.save(record());
      expect(await store.takeAttempt('code:user-1', 2, until)).toBeNull();
      subject.advance(10_001);
      expect(await store.takeAttempt('code:user-1', 2, new Date(clock + 20_000))).toBe(1);
    });

    test('of 50 parallel claims of one token exactly one succeeds', async () => {
      const saved = record();
      await store.save(saved);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.claim(saved.tokenHash)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    test('of 50 parallel takeAttempt calls with limit 5 exactly 5 get a slot, each slot once', async () => {
      const until = new Date(clock + 60_000);
      const slots = await Promise.all(Array.from({ length: 50 }, () => store.takeAttempt('code:race', 5, until)));
      const taken = slots.filter((slot): slot is number => slot !== null);
      expect(taken.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    });

    test('of 10 parallel saves for one user exactly the newest token survives', async () => {
      const records = Array.from({ length: 10 }, (_, i) => record({ createdAt: new Date(clock + i) }));
      await Promise.all(records.map((r) => store.save(r)));
      const found = await Promise.all(records.map((r) => store.find(r.tokenHash)));
      expect(found.filter((r) => r !== null)).toEqual([records[9]]);
      expect(await store.findByUser('user-1')).toEqual(records[9]);
    });
  });
}

conformance('MemoryTokenStore', describe, () => ({
  factory: async () => {
    let offset = 0;
    const store = new MemoryTokenStore({ now: () => Date.now() + offset, expiredRetentionMs: RETENTION_MS });
    return { store, advance: (ms) => { offset += ms; }, purge: async () => store.purge() };
  },
}));

let connection: Connection | undefined;
let collections = 0;
conformance('MongoTokenStore', describeMongo, () => ({
  beforeAll: async () => {
    connection = await openConnection(databaseName('conformance'));
  },
  afterAll: () => dropAndClose(connection),
  factory: async () => {
    let offset = 0;
    collections += 1;
    // A collection per case keeps cases independent without cleanup between them.
    const store = new MongoTokenStore({
      connection: connection!,
      collection: `tokens_${collections}`,
      expiredRetentionMs: RETENTION_MS,
      now: () => Date.now() + offset,
      logger: false,
    });
    return { store, advance: (ms) => { offset += ms; }, purge: () => store.purge() };
  },
}));
