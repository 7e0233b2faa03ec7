/**
 * `MongoRateLimitStore`: an express-rate-limit `Store` in MongoDB, so every
 * instance of an app counts against the same limits.
 *
 * Each hit is one inserted document in a fixed window (aligned to multiples of
 * `windowMs`, so all instances agree on window boundaries), and the count is
 * the number of documents. Inserts are never lost under concurrency, on
 * MongoDB or on FerretDB 1.x, where 100 parallel `$inc` upserts can leave a
 * count of 3. Once a key is over its limit, further hits are not stored (the
 * answer cannot change until the window ends), so an attacker cannot grow the
 * collection: at most about `limit + 1` documents per key and window.
 */
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Model } from 'mongoose';
import type { Logger } from '../core/events';
import {
  DEFAULT_PURGE_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  IndexKeeper,
  bounded,
  checkCollectionName,
  checkConnection,
  insertDocument,
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
  prefix: string;
  key: string;
  /** Start of the window the hit belongs to. */
  window: Date;
  /** End of that window: the TTL index removes the hit then. */
  expiresAt: Date;
}

const HIT_FIELDS = {
  prefix: { type: String, required: true },
  key: { type: String, required: true },
  window: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
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
  private readonly indexes: IndexKeeper;
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
    if (this.cap !== undefined) {
      const before = await this.count(key, window, this.cap);
      if (before >= this.cap) return { totalHits: before + 1, resetTime };
    }
    await this.run(
      insertDocument(this.hits.collection, { prefix: this.prefix, key, window, expiresAt: resetTime }, this.op),
    );
    // Counted after the insert: every hit stored before this one is counted too, so of N parallel
    // callers the k-th to be stored sees at least k, and at most `limit` of them see a count within the limit.
    return { totalHits: await this.count(key, window), resetTime };
  }

  async decrement(key: string): Promise<void> {
    await this.run(
      this.hits.deleteOne({ prefix: this.prefix, key, window: this.currentWindow() }).setOptions(this.op).exec(),
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
