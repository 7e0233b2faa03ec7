/**
 * A `TokenStore` around another that records every call and can add a fixed delay to each, the way a database
 * across a network costs time per round trip. The code-flow timing tests count and time the store work with it.
 */
import type { TokenRecord, TokenStore } from '../../lib';

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

export class InstrumentedStore implements TokenStore {
  /** The method of every call so far, in order. */
  readonly calls: (keyof TokenStore)[] = [];

  constructor(
    private readonly inner: TokenStore,
    /** Added before each call is passed on. */
    public delayMs = 0,
  ) {}

  save(record: TokenRecord): Promise<void> {
    return this.call('save', () => this.inner.save(record));
  }

  markDelivered(tokenHash: string): Promise<void> {
    return this.call('markDelivered', () => this.inner.markDelivered?.(tokenHash) ?? Promise.resolve());
  }

  find(tokenHash: string): Promise<TokenRecord | null> {
    return this.call('find', () => this.inner.find(tokenHash));
  }

  findByUser(userId: string): Promise<TokenRecord | null> {
    return this.call('findByUser', () => this.inner.findByUser(userId));
  }

  claim(tokenHash: string): Promise<boolean> {
    return this.call('claim', () => this.inner.claim(tokenHash));
  }

  revokeUser(userId: string): Promise<void> {
    return this.call('revokeUser', () => this.inner.revokeUser(userId));
  }

  takeAttempt(key: string, limit: number, expiresAt: Date): Promise<number | null> {
    return this.call('takeAttempt', () => this.inner.takeAttempt(key, limit, expiresAt));
  }

  releaseAttempt(key: string, slot: number): Promise<void> {
    return this.call('releaseAttempt', () => this.inner.releaseAttempt(key, slot));
  }

  clearAttempts(key: string): Promise<void> {
    return this.call('clearAttempts', () => this.inner.clearAttempts(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async call<T>(method: keyof TokenStore, run: () => Promise<T>): Promise<T> {
    this.calls.push(method);
    if (this.delayMs > 0) await sleep(this.delayMs);
    return run();
  }
}
