/**
 * What the bundled Mongo stores share: a model on the app's own connection,
 * bounded operation time, and indexes with expiry by TTL index or, where the
 * server refuses TTL indexes (FerretDB 1.x), by an `unref()`ed purge timer.
 *
 * Only `import type` from mongoose here: it is an optional peer dependency, and
 * every runtime piece (Schema, error classes) comes from the app's connection.
 */
import type { Collection, Connection, Schema } from 'mongoose';
import { withDeadline } from '../core/deadline';
import { OptionsError, describeValue } from '../core/errors';
import type { Logger } from '../core/events';

/** Operation time limit when none is given: long enough for a busy server, short enough for a person waiting. */
export const DEFAULT_TIMEOUT_MS = 3000;
/** Purge interval when the server has no TTL indexes. */
export const DEFAULT_PURGE_INTERVAL_MS = 60_000;

export function checkConnection(option: string, connection: unknown): Connection {
  const candidate = connection as Partial<Connection> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.model !== 'function' ||
    typeof candidate.base?.Schema !== 'function'
  ) {
    throw new OptionsError(
      'ERR_EPR_OPTION_INVALID',
      option,
      `must be a Mongoose connection (e.g. mongoose.connection), got ${describeValue(connection)}`,
    );
  }
  return connection as Connection;
}

export function checkCollectionName(option: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.includes('$')) {
    throw new OptionsError(
      'ERR_EPR_OPTION_INVALID',
      option,
      `must be a non-empty collection name without "$", got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Mongoose's Schema constructor, typed plainly: inferring a schema type from a definition costs the compiler dearly and
 * buys nothing here.
 */
type SchemaClass = new (definition: object, options: object) => Schema;

/**
 * The model `name` on `connection`, created on first use. Two stores on one
 * connection and collection share it (Mongoose refuses to compile a model name twice).
 * Buffering while the connection is down is capped at `timeoutMs`, so a dead
 * database turns into a prompt error rather than a hanging request.
 */
export function modelOn(
  connection: Connection,
  name: string,
  collection: string,
  definition: object,
  timeoutMs: number,
): unknown {
  // Typed `unknown` on purpose, callers cast to Model<TheirDocument>: a generic Model<T> here sends tsc into an
  // out-of-memory spin.
  const existing = connection.models[name];
  if (existing) return existing;
  const MongooseSchema = connection.base.Schema as unknown as SchemaClass;
  const schema = new MongooseSchema(definition, {
    collection,
    versionKey: false,
    bufferTimeoutMS: timeoutMs,
    // Indexes are created by IndexKeeper, which knows what to do when the server refuses a TTL index.
    autoIndex: false,
    autoCreate: false,
  });
  return connection.model(name, schema, collection);
}

/**
 * For the writes that decide a race (a claim, a supersede, an attempt slot, a password): acknowledged by a majority
 * of a replica set, so a failover cannot roll them back and resurrect a used link. A standalone server treats it as 1.
 */
export const MAJORITY = { writeConcern: { w: 'majority' } } as const;
/** For the reads that decide validity: from the primary, whatever the connection's default, never a stale secondary. */
export const PRIMARY = { readPreference: 'primary' } as const;

/** Options of a bounded write that decides a race. */
export type WriteOptions = { timeoutMS: number } & typeof MAJORITY;
/** Options of a bounded read that decides validity. */
export type ReadOptions = { timeoutMS: number } & typeof PRIMARY;

/** Inserts one document as given (string `_id`s included), skipping Mongoose casting and middleware. */
export async function insertDocument(
  collection: Collection,
  doc: object,
  options: { timeoutMS: number } & Partial<typeof MAJORITY>,
): Promise<void> {
  await collection.insertOne(doc, options);
}

/** A database operation outlived its time limit; the caller answers 503 and the operation is abandoned. */
export class DatabaseTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`MongoDB did not answer within ${timeoutMs} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

/**
 * Settles with `operation`, or rejects once `timeoutMs` has passed. The driver's
 * own `timeoutMS` usually fires first, but not in every state of a dropped
 * connection (measured: 30 s, the server selection timeout, right after the
 * server died), so this is the bound the router can rely on.
 */
export function bounded<T>(operation: Promise<T>, timeoutMs: number): Promise<T> {
  return withDeadline(operation, timeoutMs, () => new DatabaseTimeoutError(timeoutMs));
}

/** The server answered and refused (as opposed to: could not be reached). */
export function isServerRefusal(connection: Connection, error: unknown): boolean {
  return error instanceof connection.base.mongo.MongoServerError;
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 11000;
}

export interface IndexKeeperOptions {
  connection: Connection;
  collection: Collection;
  /** Plain indexes for the queries (key patterns); the races never depend on them. */
  indexes: Record<string, 1 | -1>[];
  /** The TTL index: documents go `expireAfterSeconds` after the date in `field`. */
  ttl: { field: string; expireAfterSeconds: number };
  timeoutMs: number;
  logger: Logger | false;
  /** Purge interval the TTL warning announces. */
  purgeIntervalMs: number;
  /** Called once when the server refuses the TTL index: the store then purges on a timer. */
  onTtlRefused(): void;
}

/**
 * Creates the indexes a store needs, once. Operations never wait for it (none
 * needs an index to be correct: the uniqueness that decides races rides on
 * `_id`); when the database is unreachable, the next operation tries again.
 */
export class IndexKeeper {
  /** Warnings already given per collection, so several stores on one collection (one per rate limiter) warn once. */
  private static readonly warned = new WeakMap<Collection, Set<string>>();
  private state: 'pending' | 'running' | 'done' = 'pending';

  constructor(private readonly options: IndexKeeperOptions) {}

  ensure(): void {
    if (this.state !== 'pending') return;
    this.state = 'running';
    this.create().then(
      () => {
        this.state = 'done';
      },
      () => {
        this.state = 'pending';
      },
    );
  }

  private async create(): Promise<void> {
    const { collection, indexes, ttl, timeoutMs } = this.options;
    for (const keys of indexes) {
      await this.refusable(
        () => bounded(collection.createIndex(keys, { timeoutMS: timeoutMs }), timeoutMs),
        (reason) => {
          this.warn(
            `index ${JSON.stringify(keys)}`,
            `could not create the index ${JSON.stringify(keys)} on "${collection.name}" (${reason}); queries still work, more slowly.`,
          );
        },
      );
    }
    const ttlOptions = { expireAfterSeconds: ttl.expireAfterSeconds, timeoutMS: timeoutMs };
    await this.refusable(
      () => bounded(collection.createIndex({ [ttl.field]: 1 }, ttlOptions), timeoutMs),
      (reason) => {
        const every = this.options.purgeIntervalMs;
        this.warn(
          'ttl',
          `the MongoDB server refused a TTL index on "${collection.name}" (${reason}); ` +
            `expired documents are purged every ${every % 1000 === 0 ? `${every / 1000} s` : `${every} ms`} instead.`,
        );
        this.options.onTtlRefused();
      },
    );
  }

  /** Runs `create`; a refusal by the server is final (reported once), an unreachable server is retried later. */
  private async refusable(create: () => Promise<unknown>, refused: (reason: string) => void): Promise<void> {
    try {
      await create();
    } catch (error) {
      if (!isServerRefusal(this.options.connection, error)) throw error;
      refused((error as Error).message);
    }
  }

  /** Warns once per collection and `topic`, however many stores share the collection. */
  private warn(topic: string, message: string): void {
    const { logger, collection } = this.options;
    const seen = IndexKeeper.warned.get(collection) ?? new Set<string>();
    IndexKeeper.warned.set(collection, seen);
    if (!logger || seen.has(topic)) return;
    seen.add(topic);
    logger.warn(`[express-password-reset] ${message}`);
  }
}

/** An `unref()`ed interval (it never keeps the process alive); failures are left to the next tick. */
export function purgeTimer(intervalMs: number, purge: () => Promise<unknown>): NodeJS.Timeout {
  const timer = setInterval(() => {
    purge().catch(() => undefined);
  }, intervalMs);
  timer.unref();
  return timer;
}
