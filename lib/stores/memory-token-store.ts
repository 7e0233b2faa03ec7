import { DEFAULT_EXPIRED_RETENTION_MS, type TokenKind, type TokenRecord, type TokenStore } from './token-store';
import { checkPositiveInteger } from '../options/checks';

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /**
   * Most tokens kept at once; past it the oldest token is dropped, so memory
   * stays bounded whatever the request rate.
   * @default 100000
   */
  maxTokens?: number;
  /**
   * How long an expired token is still remembered, so that using it answers
   * `TOKEN_EXPIRED` rather than `TOKEN_INVALID`.
   * @default 3600000 (1 hour)
   */
  expiredRetentionMs?: number;
  /**
   * How often expired tokens and attempt counters are purged. The timer is
   * `unref()`ed (it never keeps the process alive) and stopped by `close()`.
   * @default 60000 (1 minute)
   */
  purgeIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** What the store keeps per token: the hash is the map key, dates are numbers. */
interface Entry {
  userId: string;
  email: string;
  expiresAt: number;
  createdAt: number;
  codeHash?: string;
  codeSalt?: string;
  kind?: TokenKind;
  /** Set by markDelivered: only then does the token supersede others and count as the user's newest. */
  delivered: boolean;
  /** Order of saving: breaks ties of `createdAt` (one millisecond, or a test's frozen clock) by request order. */
  sequence: number;
}

interface AttemptCounter {
  taken: number;
  expiresAt: number;
}

/**
 * The default `TokenStore`: everything in process memory, O(1) per operation.
 * For development, tests and single-instance apps; tokens are lost on restart
 * and not shared between instances (use the Mongo store for that).
 */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, Entry>();
  /** Hashes of each user's tokens (delivered or not); a user has at most one delivered token. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly attempts = new Map<string, AttemptCounter>();
  private readonly maxTokens: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private saved = 0;

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.maxTokens = checkPositiveInteger('MemoryTokenStore.maxTokens', options.maxTokens, 100_000);
    this.retentionMs = checkPositiveInteger(
      'MemoryTokenStore.expiredRetentionMs',
      options.expiredRetentionMs,
      DEFAULT_EXPIRED_RETENTION_MS,
    );
    const purgeIntervalMs = checkPositiveInteger('MemoryTokenStore.purgeIntervalMs', options.purgeIntervalMs, 60_000);
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.purge(), purgeIntervalMs);
    this.timer.unref();
  }

  /** Number of tokens held (live or recently expired). */
  get size(): number {
    return this.tokens.size;
  }

  async save(record: TokenRecord): Promise<void> {
    this.tokens.set(record.tokenHash, {
      userId: record.userId,
      email: record.email,
      expiresAt: record.expiresAt.getTime(),
      createdAt: record.createdAt.getTime(),
      ...(record.codeHash === undefined ? {} : { codeHash: record.codeHash, codeSalt: record.codeSalt }),
      ...(record.kind === undefined ? {} : { kind: record.kind }),
      delivered: false,
      sequence: (this.saved += 1),
    });
    const hashes = this.byUser.get(record.userId) ?? new Set<string>();
    this.byUser.set(record.userId, hashes.add(record.tokenHash));
    if (this.tokens.size > this.maxTokens) this.evictOldest();
  }

  async markDelivered(tokenHash: string): Promise<void> {
    const entry = this.tokens.get(tokenHash);
    if (!entry) return;
    for (const [otherHash, other] of this.tokensOf(entry.userId)) {
      if (otherHash === tokenHash) continue;
      if (issuedBefore(other, entry)) this.remove(otherHash, other);
      else if (other.delivered) {
        this.remove(tokenHash, entry);
        return;
      }
    }
    entry.delivered = true;
  }

  async find(tokenHash: string): Promise<TokenRecord | null> {
    const entry = this.tokens.get(tokenHash);
    return entry ? entryToRecord(tokenHash, entry) : null;
  }

  async findByUser(userId: string): Promise<TokenRecord | null> {
    for (const [tokenHash, entry] of this.tokensOf(userId)) {
      if (entry.delivered) return entryToRecord(tokenHash, entry);
    }
    return null;
  }

  async claim(tokenHash: string): Promise<boolean> {
    const entry = this.tokens.get(tokenHash);
    if (!entry) return false;
    this.remove(tokenHash, entry);
    return true;
  }

  async revokeUser(userId: string): Promise<void> {
    for (const [tokenHash, entry] of this.tokensOf(userId)) this.remove(tokenHash, entry);
  }

  async takeAttempt(key: string, limit: number, expiresAt: Date): Promise<number | null> {
    let counter = this.attempts.get(key);
    if (counter && counter.expiresAt <= this.now()) counter = undefined;
    if (!counter) {
      counter = { taken: 0, expiresAt: expiresAt.getTime() };
      this.attempts.set(key, counter);
    }
    if (counter.taken >= limit) return null;
    counter.taken += 1;
    return counter.taken;
  }

  async releaseAttempt(key: string): Promise<void> {
    const counter = this.attempts.get(key);
    if (counter && counter.taken > 0) counter.taken -= 1;
  }

  async clearAttempts(key: string): Promise<void> {
    this.attempts.delete(key);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Drops tokens expired longer than the retention and expired attempt counters. */
  purge(): void {
    const now = this.now();
    const cutoff = now - this.retentionMs;
    for (const [tokenHash, entry] of this.tokens) {
      if (entry.expiresAt <= cutoff) this.remove(tokenHash, entry);
    }
    for (const [key, counter] of this.attempts) {
      if (counter.expiresAt <= now) this.attempts.delete(key);
    }
  }

  /** The user's tokens; a snapshot, so callers may remove while iterating. */
  private tokensOf(userId: string): [string, Entry][] {
    const hashes = [...(this.byUser.get(userId) ?? [])];
    return hashes.map((tokenHash): [string, Entry] => [tokenHash, this.tokens.get(tokenHash)!]);
  }

  private remove(tokenHash: string, entry: Entry): void {
    this.tokens.delete(tokenHash);
    const hashes = this.byUser.get(entry.userId);
    hashes?.delete(tokenHash);
    if (hashes?.size === 0) this.byUser.delete(entry.userId);
  }

  private evictOldest(): void {
    // Maps iterate in insertion order, so the first key is the oldest token.
    const oldest = this.tokens.entries().next().value;
    if (oldest) this.remove(oldest[0], oldest[1]);
  }
}

/** Tokens of a user are ordered by `createdAt`, then by the order they were saved in. */
function issuedBefore(entry: Entry, other: Entry): boolean {
  return entry.createdAt < other.createdAt || (entry.createdAt === other.createdAt && entry.sequence < other.sequence);
}

function entryToRecord(tokenHash: string, entry: Entry): TokenRecord {
  return {
    tokenHash,
    userId: entry.userId,
    email: entry.email,
    expiresAt: new Date(entry.expiresAt),
    createdAt: new Date(entry.createdAt),
    ...(entry.codeHash === undefined ? {} : { codeHash: entry.codeHash, codeSalt: entry.codeSalt }),
    ...(entry.kind === undefined ? {} : { kind: entry.kind }),
  };
}
