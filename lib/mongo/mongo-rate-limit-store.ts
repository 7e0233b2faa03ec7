/**
 * `MongoRateLimitStore`: an express-rate-limit `Store` in MongoDB, so every
 * instance of an app counts against the same limits.
 *
 * Windows are fixed (aligned to multiples of `windowMs`, so all instances agree on window boundaries). With a numeric
 * limit, the hits of a key and window are numbered slots `1 … limit + 1`, one document each with the slot in its
 * `_id`: an increment is one `insert` command of the next free slots, unordered, every document carrying one id of
 * this hit under a unique index, so exactly one of them goes in (taken slots collide on `_id`, the slots after the
 * first free one on the hit's id) and the slot it took is the count. One round trip, exact under concurrency on
 * MongoDB and on FerretDB 1.x, where 100 parallel `$inc` upserts can leave a count of 3 (inserts on a unique key are
 * the one write both decide atomically). Over the limit the last slot is taken and nothing more is stored, so an
 * attacker cannot grow the collection: at most `limit + 1` documents per key and window. Without a numeric limit
 * (a function), a hit is an inserted document and the count is a count of them, two round trips.
 */
import { randomBytes } from 'node:crypto';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Connection, Model } from 'mongoose';
import type { Logger } from '../core/events';
import {
  DEFAULT_PURGE_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  IndexKeeper,
  bounded,
  checkCollectionName,
  checkConnection,
  insertDocument,
  isDuplicateKey,
  isServerRefusal,
  modelOn,
  purgeTimer,
} from './collection';
import type { MongooseConnection } from './mongoose-types';
import { checkPositiveInteger } from '../options/checks';
import { OptionsError, describeValue } from '../core/errors';

/** Options of {@link MongoRateLimitStore}. */
export interface MongoRateLimitStoreOptions {
  /** The app's Mongoose connection, e.g. `mongoose.connection`. No second connection is opened. */
  connection: MongooseConnection;
  /**
   * Set apart the counters of this limiter: give every limiter its own prefix
   * (express-rate-limit refuses one store instance for two limiters).
   * @default 'rl:'
   */
  prefix?: string;
  /** Collection of the hits. @default 'password_reset_rate_limits' */
  collection?: string;
  /**
   * Longest time one database operation may take, including waiting for an
   * unreachable server. @default 3000
   */
  timeoutMs?: number;
  /** How often expired hits are deleted when the server refuses TTL indexes (FerretDB 1.x). @default 60000 */
  purgeIntervalMs?: number;
  /** Where the one warning about a refused TTL index goes; `false` silences it. @default console */
  logger?: Logger | false;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface HitDocument {
  /** `[prefix, key, window, slot]` as JSON for a numbered slot; an ObjectId for a hit without a numeric limit. */
  _id?: string;
  prefix: string;
  key: string;
  /** Start of the window the hit belongs to. */
  window: Date;
  /** End of that window: the TTL index removes the hit then. */
  expiresAt: Date;
  /** The slot's number, 1-based (absent without a numeric limit). */
  slot?: number;
  /** Random id of the increment that stored it, unique: of one insert command at most one slot goes in. */
  hit: string;
}

/** Slots tried by one insert command; past them the next command tries the following ones. */
const SLOTS_PER_COMMAND = 64;

const HIT_FIELDS = {
  prefix: { type: String, required: true },
  key: { type: String, required: true },
  window: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
  slot: Number,
  hit: { type: String, required: true },
};

/**
 * Counts hits in MongoDB for express-rate-limit. Usable on its own:
 * `rateLimit({ windowMs, limit, store: new MongoRateLimitStore({ connection, prefix: 'login:' }) })`.
 */
export class MongoRateLimitStore implements Store {
  /** Counts are shared by every instance of the app (express-rate-limit's double-count check reads this). */
  readonly localKeys = false;
  readonly prefix: string;
  private readonly hits: Model<HitDocument>;
  private readonly connection: Connection;
  private readonly indexes: IndexKeeper;
  /** The unique index on `hit` that numbered slots need; `false` when the server refused it (then: insert, count). */
  private uniqueHits: Promise<boolean> | undefined;
  private readonly now: () => number;
  private readonly op: { timeoutMS: number };
  private readonly timeoutMs: number;
  private windowMs = 60_000;
  /** Hits stored per key and window at most: one past the limit is enough to refuse. */
  private cap: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: MongoRateLimitStoreOptions) {
    const connection = checkConnection('MongoRateLimitStore.connection', options?.connection);
    const collection = checkCollectionName(
      'MongoRateLimitStore.collection',
      options.collection,
      'password_reset_rate_limits',
    );
    const timeoutMs = checkPositiveInteger('MongoRateLimitStore.timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    const purgeIntervalMs = checkPositiveInteger(
      'MongoRateLimitStore.purgeIntervalMs',
      options.purgeIntervalMs,
      DEFAULT_PURGE_INTERVAL_MS,
    );
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new OptionsError(
        'ERR_EPR_OPTION_INVALID',
        'MongoRateLimitStore.prefix',
        `must be a string, got ${describeValue(options.prefix)}`,
      );
    }
    this.prefix = options.prefix ?? 'rl:';
    this.connection = connection;
    this.now = options.now ?? Date.now;
    this.op = { timeoutMS: timeoutMs };
    this.timeoutMs = timeoutMs;
    this.hits = modelOn(
      connection,
      `ExpressPasswordResetRateLimit:${collection}`,
      collection,
      HIT_FIELDS,
      timeoutMs,
    ) as Model<HitDocument>;
    this.indexes = new IndexKeeper({
      connection,
      collection: this.hits.collection,
      indexes: [{ prefix: 1, key: 1, window: 1 }],
      ttl: { field: 'expiresAt', expireAfterSeconds: 0 },
      timeoutMs,
      logger: options.logger === undefined ? console : options.logger,
      purgeIntervalMs,
      onTtlRefused: () => {
        if (!this.closed && !this.timer) this.timer = purgeTimer(purgeIntervalMs, () => this.purge());
      },
    });
  }

  /** Called by express-rate-limit with the limiter's options: takes `windowMs`, and `limit` when it is a number. */
  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.cap = typeof options.limit === 'number' ? options.limit + 1 : undefined;
    this.indexes.ensure();
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const window = this.currentWindow();
    const totalHits = await this.count(key, window);
    return totalHits === 0 ? undefined : { totalHits, resetTime: this.resetTime(window) };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    this.indexes.ensure();
    const window = this.currentWindow();
    const resetTime = this.resetTime(window);
    const hit = randomBytes(12).toString('base64url');
    const cap = this.cap;
    if (cap !== undefined && (await this.slotsReady())) {
      for (let first = 1; first <= cap; first += SLOTS_PER_COMMAND) {
        const slot = await this.takeSlot(key, window, hit, first, Math.min(cap, first + SLOTS_PER_COMMAND - 1));
        if (slot !== undefined) return { totalHits: slot, resetTime };
      }
      return { totalHits: cap + 1, resetTime };
    }
    if (cap !== undefined) {
      const before = await this.count(key, window, cap);
      if (before >= cap) return { totalHits: before + 1, resetTime };
    }
    await this.run(
      insertDocument(this.hits.collection, { prefix: this.prefix, key, window, expiresAt: resetTime, hit }, this.op),
    );
    // Counted after the insert: every hit stored before this one is counted too, so of N parallel
    // callers the k-th to be stored sees at least k, and at most `limit` of them see a count within the limit.
    return { totalHits: await this.count(key, window), resetTime };
  }

  async decrement(key: string): Promise<void> {
    const window = this.currentWindow();
    const where = { prefix: this.prefix, key, window };
    const cap = this.cap;
    // Past the limit the stored count stops at `limit + 1`, so hits refused without being stored are decremented too
    // (express-rate-limit's skipFailedRequests decrements every 429): taking a hit off a key at the cap would let a
    // burst of refused requests wipe the window. A key that reached the cap stays over its limit until the window
    // ends: the cap's document is never taken off (every refused hit's increment saw it, so its decrement does too).
    if (cap !== undefined) {
      const [count, marker] = await Promise.all([
        this.count(key, window, cap),
        this.run(
          this.hits
            .exists({ ...where, slot: cap })
            .setOptions(this.op)
            .exec(),
        ),
      ]);
      if (count >= cap || marker) return;
    }
    // The highest slot below the cap, so that the slots stay `1 … count` and the next hit's slot is its count.
    // (Freeing the lowest let the next hit take slot 1 and pass.)
    await this.run(
      this.hits
        .findOneAndDelete(cap === undefined ? where : { ...where, $or: [{ slot: { $lt: cap } }, { slot: null }] })
        .sort({ slot: -1 })
        .setOptions(this.op)
        .exec(),
    );
  }

  async resetKey(key: string): Promise<void> {
    await this.run(this.hits.deleteMany({ prefix: this.prefix, key }).setOptions(this.op).exec());
  }

  async resetAll(): Promise<void> {
    await this.run(this.hits.deleteMany({ prefix: this.prefix }).setOptions(this.op).exec());
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes this store's hits of past windows (on a timer where the server refused the TTL index). */
  async purge(): Promise<void> {
    await this.run(
      this.hits
        .deleteMany({ prefix: this.prefix, expiresAt: { $lte: new Date(this.now()) } })
        .setOptions(this.op)
        .exec(),
    );
  }

  /**
   * One insert command of slots `first … last`, unordered: every free one is tried, and the hit's unique id lets at
   * most one in. Resolves the slot that went in, or `undefined` when all of them were taken.
   */
  private async takeSlot(
    key: string,
    window: Date,
    hit: string,
    first: number,
    last: number,
  ): Promise<number | undefined> {
    const docs: HitDocument[] = [];
    for (let slot = first; slot <= last; slot += 1) {
      const _id = JSON.stringify([this.prefix, key, window.getTime(), slot]);
      docs.push({ _id, prefix: this.prefix, key, window, expiresAt: this.resetTime(window), slot, hit });
    }
    try {
      await this.run(this.hits.collection.insertMany(docs as object[], { ...this.op, ordered: false }));
      // Only with a single slot can a clean insert happen (the unique index turns every later one away).
      return first;
    } catch (error) {
      const refused = writeErrorsOf(error);
      // Decisive only when every document but at most one collided: anything else (a timeout, a cut connection, a
      // write concern error) leaves it unknown whether the slot went in, and the limiter treats it as a store error.
      const decisive = refused !== undefined && refused.length >= docs.length - 1 && refused.every(isDuplicateKey);
      if (!decisive) throw error;
      const failed = new Set(refused.map((writeError) => writeError.index));
      const taken = docs.findIndex((_doc, index) => !failed.has(index));
      return taken === -1 ? undefined : first + taken;
    }
  }

  /** Creates the unique index on `hit` once, before the first numbered slot (they are only exact with it). */
  private slotsReady(): Promise<boolean> {
    this.uniqueHits ??= this.run(
      this.hits.collection.createIndex({ hit: 1 }, { unique: true, sparse: true, timeoutMS: this.timeoutMs }),
    ).then(
      () => true,
      (error: unknown) => {
        if (isServerRefusal(this.connection, error)) return false;
        // Unreachable: this increment fails (the limiter lets the request through); the next one tries again.
        this.uniqueHits = undefined;
        throw error;
      },
    );
    return this.uniqueHits;
  }

  private count(key: string, window: Date, limit?: number): Promise<number> {
    return this.run(
      this.hits
        .countDocuments({ prefix: this.prefix, key, window })
        .setOptions({ ...this.op, ...(limit === undefined ? {} : { limit }) })
        .exec(),
    );
  }

  /** Every database call goes through here: it fails within `timeoutMs`, whatever state the connection is in. */
  private run<T>(operation: Promise<T>): Promise<T> {
    return bounded(operation, this.timeoutMs);
  }

  private currentWindow(): Date {
    const now = this.now();
    return new Date(now - (now % this.windowMs));
  }

  private resetTime(window: Date): Date {
    return new Date(window.getTime() + this.windowMs);
  }
}

/** The per-document errors of an unordered insert, or `undefined` for any other failure. */
function writeErrorsOf(error: unknown): { index: number; code?: unknown }[] | undefined {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  if (writeErrors === undefined || writeErrors === null) return undefined;
  return (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as { index: number; code?: unknown }[];
}
