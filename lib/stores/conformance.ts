/**
 * The `TokenStore` conformance suite, for authors of stores (Redis, SQL, ...):
 * what the router relies on, including the races (single-use claims, bounded
 * attempt slots) decided under concurrency. Framework-free: each case is a name
 * and an async function that throws (`node:assert`) when the store is wrong, so
 * it runs under jest, vitest, mocha or `node:test` alike:
 *
 * ```ts
 * import { tokenStoreConformance } from 'express-password-reset/testing';
 * for (const { name, run } of tokenStoreConformance({ createSubject })) test(name, run);
 * ```
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_EXPIRED_RETENTION_MS, type TokenRecord, type TokenStore } from './token-store';

/** A store under test, with control over its clock. */
export interface TokenStoreSubject {
  /** A fresh, empty store (a new collection or key prefix per case keeps cases independent). */
  store: TokenStore;
  /**
   * Moves the store's clock forward by `ms` (give the store a clock option such as `now: () => Date.now() + offset`).
   */
  advance(ms: number): void;
  /** Whatever the store does to drop long-expired tokens (its timer's work), run now. */
  purge(): Promise<void>;
}

/** Options of {@link tokenStoreConformance}. */
export interface TokenStoreConformanceOptions {
  /** Builds the subject of one case; the case closes the store when it ends. */
  createSubject(): Promise<TokenStoreSubject>;
  /** How long the store keeps a token past its expiry. @default 3600000 (1 hour, the bundled stores' default) */
  expiredRetentionMs?: number;
}

/** One case of the suite. */
export interface ConformanceCase {
  name: string;
  run(): Promise<void>;
}

type CaseBody = (store: TokenStore, subject: TokenStoreSubject, record: RecordMaker, clock: number) => Promise<void>;
type RecordMaker = (overrides?: Partial<TokenRecord>) => TokenRecord;

function randomHash(): string {
  return randomBytes(32).toString('hex');
}

/** What the router does for a token whose email went out: save it, then mark it delivered. */
async function issue(store: TokenStore, record: TokenRecord): Promise<void> {
  await store.save(record);
  ok(typeof store.markDelivered === 'function', 'the store has markDelivered (TokenStore 0.2)');
  await store.markDelivered(record.tokenHash);
}

/** The cases, each with a fresh store from `createSubject` (closed afterwards, also when the case fails). */
export function tokenStoreConformance(options: TokenStoreConformanceOptions): ConformanceCase[] {
  const retentionMs = options.expiredRetentionMs ?? DEFAULT_EXPIRED_RETENTION_MS;
  const cases: [string, CaseBody][] = [
    [
      'find returns a saved token with every field, and null for an unknown hash',
      async (store, _subject, record) => {
        const saved = record({ codeHash: randomHash(), codeSalt: 'ab'.repeat(16) });
        await issue(store, saved);
        deepStrictEqual(await store.find(saved.tokenHash), saved);
        strictEqual(await store.find(randomHash()), null);
      },
    ],
    [
      'a token without a code comes back without code fields',
      async (store, _subject, record) => {
        const saved = record();
        await issue(store, saved);
        const found = await store.find(saved.tokenHash);
        deepStrictEqual(found, saved);
        ok(!('codeHash' in found), 'a token saved without a code has no codeHash');
      },
    ],
    [
      "a token's kind comes back as saved: an invitation stays one, also as the newest, superseding a reset",
      async (store, _subject, record, clock) => {
        const reset = record({ kind: 'reset', createdAt: new Date(clock - 1000) });
        const invite = record({ kind: 'invite', expiresAt: new Date(clock + 7 * 86_400_000) });
        await issue(store, reset);
        await issue(store, invite);
        strictEqual(await store.find(reset.tokenHash), null);
        deepStrictEqual(await store.find(invite.tokenHash), invite);
        deepStrictEqual(await store.findByUser('user-1'), invite);
        // A store that dropped the field would turn the invitation into a reset (a token without a kind is one).
        strictEqual((await store.find(invite.tokenHash))?.kind, 'invite');
      },
    ],
    [
      'findByUser returns the newest token of the user, null for a user without one',
      async (store, _subject, record, clock) => {
        const first = record({ createdAt: new Date(clock - 1000) });
        const other = record({ userId: 'user-2', createdAt: new Date(clock + 5) });
        await issue(store, first);
        await issue(store, other);
        deepStrictEqual(await store.findByUser('user-1'), first);
        strictEqual(await store.findByUser('nobody'), null);
        // The code flow's stand-in read for an address without an account: not in the format of any app's ids.
        strictEqual(await store.findByUser('code-unknown:17'), null);
      },
    ],
    [
      'a delivered token supersedes the older tokens of the same user only',
      async (store, _subject, record, clock) => {
        const old = record({ createdAt: new Date(clock - 1000) });
        const otherUser = record({ userId: 'user-2' });
        const fresh = record();
        await issue(store, old);
        await issue(store, otherUser);
        await issue(store, fresh);
        strictEqual(await store.find(old.tokenHash), null);
        deepStrictEqual(await store.find(fresh.tokenHash), fresh);
        deepStrictEqual(await store.findByUser('user-1'), fresh);
        deepStrictEqual(await store.find(otherUser.tokenHash), otherUser);
      },
    ],
    [
      'a token not yet delivered supersedes nothing and is not the newest, but its link is found',
      async (store, _subject, record, clock) => {
        const received = record({ createdAt: new Date(clock - 1000) });
        const neverSent = record();
        await issue(store, received);
        await store.save(neverSent);
        deepStrictEqual(await store.find(received.tokenHash), received);
        deepStrictEqual(await store.findByUser('user-1'), received);
        deepStrictEqual(await store.find(neverSent.tokenHash), neverSent);
      },
    ],
    [
      'marking a token delivered after a newer one was delivered removes it, and the newer link stays',
      async (store, _subject, record, clock) => {
        const older = record({ createdAt: new Date(clock - 1000) });
        const newer = record();
        await store.save(older);
        await issue(store, newer);
        await store.markDelivered!(older.tokenHash);
        strictEqual(await store.find(older.tokenHash), null);
        deepStrictEqual(await store.findByUser('user-1'), newer);
        await store.markDelivered!(newer.tokenHash);
        await store.markDelivered!(randomHash());
        deepStrictEqual(await store.find(newer.tokenHash), newer);
      },
    ],
    [
      'a claimed token saved and delivered again works again (the router puts back a token it consumed by mistake)',
      async (store, _subject, record) => {
        const saved = record();
        await issue(store, saved);
        strictEqual(await store.claim(saved.tokenHash), true);
        await issue(store, saved);
        deepStrictEqual(await store.findByUser('user-1'), saved);
        strictEqual(await store.claim(saved.tokenHash), true);
      },
    ],
    [
      'claim succeeds once, then the token is gone',
      async (store, _subject, record) => {
        const saved = record();
        await issue(store, saved);
        strictEqual(await store.claim(saved.tokenHash), true);
        strictEqual(await store.claim(saved.tokenHash), false);
        strictEqual(await store.find(saved.tokenHash), null);
        strictEqual(await store.findByUser('user-1'), null);
        strictEqual(await store.claim(randomHash()), false);
      },
    ],
    [
      'an expired token is still found (so it can be told apart from an invalid one) until purged after the retention',
      async (store, subject, record, clock) => {
        const saved = record({ expiresAt: new Date(clock + 1000) });
        await issue(store, saved);
        subject.advance(2000);
        const found = await store.find(saved.tokenHash);
        ok(found !== null && found.expiresAt.getTime() < clock + 2000, 'an expired token is found until purged');
        subject.advance(retentionMs);
        await subject.purge();
        strictEqual(await store.find(saved.tokenHash), null);
        strictEqual(await store.findByUser('user-1'), null);
        strictEqual(await store.claim(saved.tokenHash), false);
      },
    ],
    [
      'revokeUser removes the tokens of that user and no other',
      async (store, _subject, record) => {
        const mine = record();
        const theirs = record({ userId: 'user-2' });
        await issue(store, mine);
        await issue(store, theirs);
        await store.revokeUser('user-1');
        strictEqual(await store.find(mine.tokenHash), null);
        strictEqual(await store.findByUser('user-1'), null);
        deepStrictEqual(await store.find(theirs.tokenHash), theirs);
        await store.revokeUser('nobody');
      },
    ],
    [
      'attempt slots: limit slots per key, given back by release, all freed by clear, keys independent',
      async (store, _subject, _record, clock) => {
        const until = new Date(clock + 60_000);
        strictEqual(await store.takeAttempt('code:a', 3, until), 1);
        strictEqual(await store.takeAttempt('code:a', 3, until), 2);
        strictEqual(await store.takeAttempt('code:a', 3, until), 3);
        strictEqual(await store.takeAttempt('code:a', 3, until), null);
        strictEqual(await store.takeAttempt('code:b', 3, until), 1);

        await store.releaseAttempt('code:a', 3);
        strictEqual(await store.takeAttempt('code:a', 3, until), 3);
        strictEqual(await store.takeAttempt('code:a', 3, until), null);

        await store.clearAttempts('code:a');
        strictEqual(await store.takeAttempt('code:a', 3, until), 1);
        strictEqual(await store.takeAttempt('code:b', 3, until), 2);
      },
    ],
    [
      'attempt slots expire, and issuing a new token does not free them',
      async (store, subject, record, clock) => {
        const until = new Date(clock + 10_000);
        for (let i = 0; i < 2; i += 1) await store.takeAttempt('code:user-1', 2, until);
        await issue(store, record());
        strictEqual(await store.takeAttempt('code:user-1', 2, until), null);
        subject.advance(10_001);
        strictEqual(await store.takeAttempt('code:user-1', 2, new Date(clock + 20_000)), 1);
      },
    ],
    [
      'of 50 parallel claims of one token exactly one succeeds',
      async (store, _subject, record) => {
        const saved = record();
        await issue(store, saved);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.claim(saved.tokenHash)));
        strictEqual(results.filter(Boolean).length, 1);
      },
    ],
    [
      'of 50 parallel takeAttempt calls with limit 5 exactly 5 get a slot, each slot once',
      async (store, _subject, _record, clock) => {
        const until = new Date(clock + 60_000);
        const slots = await Promise.all(Array.from({ length: 50 }, () => store.takeAttempt('code:race', 5, until)));
        const taken = slots.filter((slot): slot is number => slot !== null);
        deepStrictEqual(
          taken.sort((a, b) => a - b),
          [1, 2, 3, 4, 5],
        );
      },
    ],
    [
      'of 10 parallel deliveries for one user exactly the newest token survives',
      async (store, _subject, record, clock) => {
        const records = Array.from({ length: 10 }, (_, i) => record({ createdAt: new Date(clock + i) }));
        await Promise.all(records.map((r) => issue(store, r)));
        const found = await Promise.all(records.map((r) => store.find(r.tokenHash)));
        deepStrictEqual(
          found.filter((r) => r !== null),
          [records[9]],
        );
        deepStrictEqual(await store.findByUser('user-1'), records[9]);
      },
    ],
  ];

  return cases.map(([name, body]) => ({
    name,
    run: async () => {
      const subject = await options.createSubject();
      const clock = Date.now();
      const record: RecordMaker = (overrides = {}) => ({
        tokenHash: randomHash(),
        userId: 'user-1',
        email: 'ada@example.com',
        createdAt: new Date(clock),
        expiresAt: new Date(clock + 30 * 60_000),
        ...overrides,
      });
      try {
        await body(subject.store, subject, record, clock);
      } finally {
        await subject.store.close();
      }
    },
  }));
}
