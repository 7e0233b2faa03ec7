/**
 * `MongoTokenStore`: reset tokens in MongoDB, through a Mongoose model on the
 * app's own connection, so tokens survive restarts and are shared by every
 * instance of the app.
 *
 * Correct without transactions, on MongoDB and on MongoDB-wire servers such
 * as FerretDB 1.x, where conditional updates (`findOneAndUpdate`, capped `$inc`,
 * upserts) let several concurrent callers win. Races are decided only by
 * operations that are atomic on both: deleting a document (exactly one
 * deleter sees `deletedCount === 1`) and inserting on a unique `_id`
 * (exactly one inserter succeeds).
 */
import type { Model } from 'mongoose';
import type { Logger } from '../core/events';
import { checkPositiveInteger } from '../options/checks';
import { DEFAULT_EXPIRED_RETENTION_MS, TOKEN_KINDS, type TokenRecord, type TokenStore } from '../stores/token-store';
import {
  DEFAULT_PURGE_INTERVAL_MS,
  DEFAULT_TIMEOUT_MS,
  IndexKeeper,
  MAJORITY,
  PRIMARY,
  bounded,
  checkCollectionName,
  checkConnection,
  insertDocument,
  isDuplicateKey,
  modelOn,
  purgeTimer,
  type ReadOptions,
  type WriteOptions,
} from './collection';
import type { MongooseConnection } from './mongoose-types';

/** Options of {@link MongoTokenStore}. */
export interface MongoTokenStoreOptions {
  /** The app's Mongoose connection, e.g. `mongoose.connection`. No second connection is opened. */
  connection: MongooseConnection;
  /** Collection of the tokens. @default 'password_reset_tokens' */
  collection?: string;
  /** Collection of the wrong-code attempt slots. @default `${collection}_attempts` */
  attemptsCollection?: string;
  /**
   * Longest time one database operation may take, including waiting for an
   * unreachable server; past it the operation fails and the router answers
   * `503 SERVICE_UNAVAILABLE`. @default 3000
   */
  timeoutMs?: number;
  /**
   * How long an expired token is still kept, so that using it answers
   * `TOKEN_EXPIRED` rather than `TOKEN_INVALID`. @default 3600000 (1 hour)
   */
  expiredRetentionMs?: number;
  /**
   * How often expired documents are deleted when the server refuses TTL
   * indexes (FerretDB 1.x). The timer is `unref()`ed and stopped by `close()`.
   * @default 60000
   */
  purgeIntervalMs?: number;
  /** Where the one warning about a refused TTL index goes; `false` silences it. @default console */
  logger?: Logger | false;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * `_id` is the token's SHA-256 hash: unique by nature, and the one key every server looks up fast (FerretDB 1.x only
 * pushes `_id` down).
 */
type TokenDocument = Omit<TokenRecord, 'tokenHash'> & {
  _id: string;
  /** `false` from save until markDelivered; absent on tokens stored by 0.1, which were delivered. */
  delivered?: boolean;
  /** Set once a newer token of the user was delivered: the link no longer works. Never unset. */
  superseded?: boolean;
  /** How many times markDelivered ran on it: makes its first statement always a modification (see markDelivered). */
  marks?: number;
};

/** One taken attempt slot; `_id` is `${key}:${slot}`, so a slot can be taken once. */
interface AttemptDocument {
  _id: string;
  key: string;
  slot: number;
  expiresAt: Date;
}

const TOKEN_FIELDS = {
  _id: String,
  userId: { type: String, required: true },
  email: { type: String, required: true },
  codeHash: String,
  codeSalt: String,
  kind: { type: String, enum: [...TOKEN_KINDS] },
  expiresAt: { type: Date, required: true },
  createdAt: { type: Date, required: true },
  delivered: Boolean,
  superseded: Boolean,
  marks: Number,
};

const ATTEMPT_FIELDS = {
  _id: String,
  key: { type: String, required: true },
  slot: { type: Number, required: true },
  expiresAt: { type: Date, required: true },
};

function documentToRecord(doc: TokenDocument): TokenRecord {
  return {
    tokenHash: doc._id,
    userId: doc.userId,
    email: doc.email,
    expiresAt: doc.expiresAt,
    createdAt: doc.createdAt,
    ...(doc.codeHash === undefined || doc.codeHash === null ? {} : { codeHash: doc.codeHash, codeSalt: doc.codeSalt }),
    ...(doc.kind === undefined || doc.kind === null ? {} : { kind: doc.kind }),
  };
}

/** The production `TokenStore`: MongoDB 5+ or FerretDB 1.x, any number of app instances. */
export class MongoTokenStore implements TokenStore {
  private readonly tokens: Model<TokenDocument>;
  private readonly attempts: Model<AttemptDocument>;
  private readonly retentionMs: number;
  private readonly now: () => number;
  /** Per-operation options: the driver's client-side operation timeout (it covers server selection too). */
  private readonly op: { timeoutMS: number };
  /** `op` for the writes that decide a race and the reads that decide validity. */
  private readonly write: WriteOptions;
  private readonly read: ReadOptions;
  private readonly timeoutMs: number;
  private readonly tokenIndexes: IndexKeeper;
  private readonly attemptIndexes: IndexKeeper;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(options: MongoTokenStoreOptions) {
    const connection = checkConnection('MongoTokenStore.connection', options?.connection);
    const collection = checkCollectionName('MongoTokenStore.collection', options.collection, 'password_reset_tokens');
    const attemptsCollection = checkCollectionName(
      'MongoTokenStore.attemptsCollection',
      options.attemptsCollection,
      `${collection}_attempts`,
    );
    const timeoutMs = checkPositiveInteger('MongoTokenStore.timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.retentionMs = checkPositiveInteger(
      'MongoTokenStore.expiredRetentionMs',
      options.expiredRetentionMs,
      DEFAULT_EXPIRED_RETENTION_MS,
    );
    const purgeIntervalMs = checkPositiveInteger(
      'MongoTokenStore.purgeIntervalMs',
      options.purgeIntervalMs,
      DEFAULT_PURGE_INTERVAL_MS,
    );
    const logger = options.logger === undefined ? console : options.logger;
    this.now = options.now ?? Date.now;
    this.op = { timeoutMS: timeoutMs };
    this.write = { ...this.op, ...MAJORITY };
    this.read = { ...this.op, ...PRIMARY };
    this.timeoutMs = timeoutMs;

    this.tokens = modelOn(
      connection,
      `ExpressPasswordResetToken:${collection}`,
      collection,
      TOKEN_FIELDS,
      timeoutMs,
    ) as Model<TokenDocument>;
    this.attempts = modelOn(
      connection,
      `ExpressPasswordResetAttempt:${attemptsCollection}`,
      attemptsCollection,
      ATTEMPT_FIELDS,
      timeoutMs,
    ) as Model<AttemptDocument>;
    const common = { connection, timeoutMs, logger, purgeIntervalMs };
    this.tokenIndexes = new IndexKeeper({
      ...common,
      collection: this.tokens.collection,
      indexes: [{ userId: 1, createdAt: -1 }],
      // A token document goes once it is past its retention, not at expiry, so "expired" stays distinguishable from
      // "invalid".
      ttl: { field: 'expiresAt', expireAfterSeconds: Math.ceil(this.retentionMs / 1000) },
      onTtlRefused: () => this.startPurging(purgeIntervalMs, () => this.purgeTokens()),
    });
    this.attemptIndexes = new IndexKeeper({
      ...common,
      collection: this.attempts.collection,
      indexes: [{ key: 1 }],
      ttl: { field: 'expiresAt', expireAfterSeconds: 0 },
      onTtlRefused: () => this.startPurging(purgeIntervalMs, () => this.purgeAttempts()),
    });
    this.ensureIndexes();
  }

  async save(record: TokenRecord): Promise<void> {
    this.ensureIndexes();
    const doc: TokenDocument = {
      _id: record.tokenHash,
      userId: record.userId,
      email: record.email,
      expiresAt: record.expiresAt,
      createdAt: record.createdAt,
      ...(record.codeHash === undefined ? {} : { codeHash: record.codeHash, codeSalt: record.codeSalt }),
      ...(record.kind === undefined ? {} : { kind: record.kind }),
      delivered: false,
    };
    await this.run(insertDocument(this.tokens.collection, doc, this.write));
  }

  /**
   * One `update` command in the common case: mark this token delivered, mark the user's older tokens superseded, and
   * match (without changing) the user's newer delivered ones, which only a race leaves. Pass the saved record's
   * `userId` and `createdAt` (the router does) to spare the read that finds them.
   */
  async markDelivered(tokenHash: string, saved?: Pick<TokenRecord, 'userId' | 'createdAt'>): Promise<void> {
    this.ensureIndexes();
    const owner = saved ?? (await this.owner(tokenHash));
    if (!owner) return;
    const { userId, createdAt } = owner;
    // Tokens of a user are ordered by (createdAt, hash), so every instance agrees which one is newest even within a
    // millisecond. Undelivered older tokens are superseded too: they lost to this one, sent or not.
    const live = { userId, superseded: { $ne: true } };
    const older = { ...live, $or: [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: tokenHash } }] };
    const newerDelivered = {
      ...live,
      delivered: { $ne: false },
      $or: [{ createdAt: { $gt: createdAt } }, { createdAt, _id: { $gt: tokenHash } }],
    };
    const result = await this.run(
      this.tokens.bulkWrite(
        [
          // `$inc` modifies on every call, so matched minus modified counts the third statement's matches alone.
          {
            updateOne: {
              filter: { _id: tokenHash },
              update: { $set: { delivered: true }, $inc: { marks: 1 } },
            },
          },
          { updateMany: { filter: older, update: { $set: { superseded: true } } } },
          // A no-op `$set` (the value it has): matched, never modified.
          { updateMany: { filter: newerDelivered, update: { $set: { userId } } } },
        ],
        { ...this.write, ordered: true },
      ),
    );
    // A newer token was delivered before this one's insert landed (so its sweep missed this one): this is the stale
    // link. Of two racing deliveries the later sweep, or this count, always sees the other, so one delivered survives.
    // The count is read again before acting on it: on FerretDB 1.x a sweep racing another one may report a match it
    // did not modify, and removing the newest link on such a report would leave the user none.
    if (
      result.matchedCount > result.modifiedCount &&
      (await this.run(this.tokens.exists(newerDelivered).setOptions(this.read).exec()))
    ) {
      await this.run(this.tokens.deleteOne({ _id: tokenHash }).setOptions(this.write).exec());
    }
  }

  async find(tokenHash: string): Promise<TokenRecord | null> {
    this.ensureIndexes();
    // By `_id` alone, the rest checked here: FerretDB 1.x uses its `_id` index only for a filter of `_id` alone.
    const doc = await this.run(
      this.tokens.findOne({ _id: tokenHash }).lean<TokenDocument>().setOptions(this.read).exec(),
    );
    if (!doc || doc.superseded === true || doc.expiresAt.getTime() <= this.retentionCutoff().getTime()) return null;
    return documentToRecord(doc);
  }

  async findByUser(userId: string): Promise<TokenRecord | null> {
    this.ensureIndexes();
    const doc = await this.run(
      this.tokens
        .findOne({
          userId,
          delivered: { $ne: false },
          superseded: { $ne: true },
          expiresAt: { $gt: this.retentionCutoff() },
        })
        .sort({ createdAt: -1, _id: -1 })
        .lean<TokenDocument>()
        .setOptions(this.read)
        .exec(),
    );
    return doc ? documentToRecord(doc) : null;
  }

  async claim(tokenHash: string): Promise<boolean> {
    this.ensureIndexes();
    // By `_id`: of concurrent deleters exactly one sees deletedCount 1; a superseded link is not claimed. (Expiry was
    // checked by find(); long-expired tokens are purged.)
    const result = await this.run(
      this.tokens
        .deleteOne({ _id: tokenHash, superseded: { $ne: true } })
        .setOptions(this.write)
        .exec(),
    );
    return result.deletedCount === 1;
  }

  async revokeUser(userId: string): Promise<void> {
    this.ensureIndexes();
    await this.run(this.tokens.deleteMany({ userId }).setOptions(this.write).exec());
  }

  async takeAttempt(key: string, limit: number, expiresAt: Date): Promise<number | null> {
    this.ensureIndexes();
    const now = new Date(this.now());
    const held = await this.run(
      this.attempts
        .find({ key, expiresAt: { $gt: now } }, { slot: 1 })
        .lean<Pick<AttemptDocument, 'slot'>[]>()
        .setOptions(this.read)
        .exec(),
    );
    const taken = new Set(held.map((doc) => doc.slot));
    let tried = false;
    for (let slot = 1; slot <= limit; slot += 1) {
      if (taken.has(slot)) continue;
      tried = true;
      if (await this.takeSlot({ _id: `${key}:${slot}`, key, slot, expiresAt }, now)) return slot;
    }
    if (!tried) {
      // Every slot is held: insert the last one all the same (it collides, unless it was freed meanwhile), so a
      // locked key costs the round trips of an open one and its timing does not single out a locked account.
      try {
        await this.run(
          insertDocument(this.attempts.collection, { _id: `${key}:${limit}`, key, slot: limit, expiresAt }, this.write),
        );
        return limit;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
    return null;
  }

  async releaseAttempt(key: string, slot: number): Promise<void> {
    await this.run(
      this.attempts
        .deleteOne({ _id: `${key}:${slot}` })
        .setOptions(this.write)
        .exec(),
    );
  }

  async clearAttempts(key: string): Promise<void> {
    await this.run(this.attempts.deleteMany({ key }).setOptions(this.write).exec());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /**
   * Deletes tokens past their retention and expired attempt slots. Runs on a
   * timer only where the server refused TTL indexes; queries ignore such
   * documents either way.
   */
  async purge(): Promise<void> {
    await Promise.all([this.purgeTokens(), this.purgeAttempts()]);
  }

  /** The user and issue time of a stored token, for a markDelivered called with the hash alone. */
  private async owner(tokenHash: string): Promise<Pick<TokenRecord, 'userId' | 'createdAt'> | null> {
    return this.run(
      this.tokens
        .findOne({ _id: tokenHash }, { userId: 1, createdAt: 1 })
        .lean<Pick<TokenRecord, 'userId' | 'createdAt'>>()
        .setOptions(this.read)
        .exec(),
    );
  }

  /** Inserts the slot; a slot that exists but has expired is deleted (one deleter wins) and taken again. */
  private async takeSlot(doc: AttemptDocument, now: Date): Promise<boolean> {
    for (let round = 0; round < 2; round += 1) {
      try {
        await this.run(insertDocument(this.attempts.collection, doc, this.write));
        return true;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const freed = await this.run(
        this.attempts
          .deleteOne({ _id: doc._id, expiresAt: { $lte: now } })
          .setOptions(this.write)
          .exec(),
      );
      if (freed.deletedCount !== 1) return false;
    }
    return false;
  }

  /** Every database call goes through here: it fails within `timeoutMs`, whatever state the connection is in. */
  private run<T>(operation: Promise<T>): Promise<T> {
    return bounded(operation, this.timeoutMs);
  }

  private retentionCutoff(): Date {
    return new Date(this.now() - this.retentionMs);
  }

  private async purgeTokens(): Promise<void> {
    await this.run(
      this.tokens
        .deleteMany({ expiresAt: { $lte: this.retentionCutoff() } })
        .setOptions(this.op)
        .exec(),
    );
  }

  private async purgeAttempts(): Promise<void> {
    await this.run(
      this.attempts
        .deleteMany({ expiresAt: { $lte: new Date(this.now()) } })
        .setOptions(this.op)
        .exec(),
    );
  }

  private ensureIndexes(): void {
    if (this.closed) return;
    this.tokenIndexes.ensure();
    this.attemptIndexes.ensure();
  }

  private startPurging(intervalMs: number, purge: () => Promise<void>): void {
    if (!this.closed) this.timers.push(purgeTimer(intervalMs, purge));
  }
}
