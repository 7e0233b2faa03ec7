/**
 * Settling writes the router stopped waiting for (guarantee 9). A store or user-store call that timed out may still
 * land on the server later (the bytes were sent; a paused or slow server runs them when it resumes), so after such a
 * failure the router cannot know what happened, only make it definite: it repeats an idempotent step until the
 * store answers, then acts on what it finds. All of it runs as tracked background work, so `close()` and
 * `settled()` wait for it.
 */

/**
 * Waits between tries: about a minute in all, enough for a failover or a restart, short enough that
 * `close()` on a dead database still returns.
 */
export const SETTLE_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000, 16_000, 32_000];

/**
 * How long an answered store is given for a write sent before it answered to land: a stale write is read from
 * its connection as soon as the server resumes, so a second look this long after the first is decisive.
 */
export const STALE_WRITE_GRACE_MS = 1000;

/** The outcome of {@link Settler.persist}: the step's value, or the last error when every try failed. */
export type Persisted<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** One piece of settling for a user; cancelled when the user's tokens are revoked (a reset went through meanwhile). */
export interface SettleTicket {
  readonly userId: string;
  cancelled: boolean;
}

/** Error names of a call sent but not answered: the driver's and the bundled stores' timeouts, cut connections. */
const INDETERMINATE_NAMES = /Timeout|Network|Interrupted/i;
const INDETERMINATE_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Whether a failed write may still land: a timeout or a connection cut after sending. Any other error (the adapter
 * threw, the server refused, no server could be selected) means the write did not happen, and is settled at once.
 */
export function mayStillLand(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    if (INDETERMINATE_NAMES.test(cause.name)) return true;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && INDETERMINATE_CODES.has(code)) return true;
  }
  return false;
}

export class Settler {
  /** Open tickets per user: entries exist only while settling work for that user runs, so this stays bounded. */
  private readonly open = new Map<string, Set<SettleTicket>>();

  constructor(
    private readonly delaysMs: readonly number[] = SETTLE_DELAYS_MS,
    private readonly graceMs: number = STALE_WRITE_GRACE_MS,
  ) {}

  /** Runs `work` with a ticket for `userId`, closing the ticket when it ends. */
  async withTicket(userId: string, work: (ticket: SettleTicket) => Promise<void>): Promise<void> {
    const ticket: SettleTicket = { userId, cancelled: false };
    const tickets = this.open.get(userId) ?? new Set<SettleTicket>();
    this.open.set(userId, tickets.add(ticket));
    try {
      await work(ticket);
    } finally {
      tickets.delete(ticket);
      if (tickets.size === 0) this.open.delete(userId);
    }
  }

  /**
   * The user's tokens were revoked (a successful reset, `revokeTokens`): pending settling must neither restore a
   * token nor write an older password over the new one.
   */
  revoked(userId: string): void {
    for (const ticket of this.open.get(userId) ?? []) ticket.cancelled = true;
  }

  /** Tries `step` now and after each delay until it resolves; stops early when the ticket is cancelled. */
  async persist<T>(step: () => Promise<T>, ticket?: SettleTicket): Promise<Persisted<T>> {
    let lastError: unknown;
    for (const delay of [0, ...this.delaysMs]) {
      if (delay > 0) await sleep(delay);
      if (ticket?.cancelled) break;
      try {
        return { ok: true, value: await step() };
      } catch (error) {
        lastError = error;
      }
    }
    return { ok: false, error: lastError ?? new Error('cancelled') };
  }

  /** Waits out the grace of a stale write (see {@link STALE_WRITE_GRACE_MS}). */
  grace(): Promise<void> {
    return sleep(this.graceMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((wake) => setTimeout(wake, ms));
}
