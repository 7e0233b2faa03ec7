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

/** The outcome of {@link Settler.persist}: the step's value, the last error when every try failed, or cancelled. */
export type Persisted<T> =
  { ok: true; value: T } | { ok: false; cancelled: false; error: unknown } | { ok: false; cancelled: true };

/** One piece of settling for a user; cancelled when the user's tokens are revoked (a reset went through meanwhile). */
export interface SettleTicket {
  readonly userId: string;
  cancelled: boolean;
}

/** A failure the server or store answered, so the write did not happen: the one kind settled at once. */
const REFUSAL_NAMES = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'ValidationError']);
/** Signs of a write that was sent and not answered: timeouts, cut connections, a primary stepping down. */
const INDETERMINATE_NAMES = /Timeout|Network|Interrupted|WriteConcern|Connection|Socket/i;
const INDETERMINATE_MESSAGES = /timed? ?out|terminated|connection (?:lost|closed|reset|ended)|socket hang up|ECONN/i;
const INDETERMINATE_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'PROTOCOL_CONNECTION_LOST']);
const INDETERMINATE_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'UnknownTransactionCommitResult'];

/**
 * Whether a failed write may still land: a timeout, a cut connection, a failover (any driver's wording), also as a
 * `cause`. A refusal (a programming error thrown by the adapter, a server error without a retryable label) means
 * the write did not happen. Unknown errors count as "may still land" only when they say so: guessing "landed" for an
 * adapter that always throws would retry for a minute on every request.
 */
export function mayStillLand(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth += 1) {
    if (REFUSAL_NAMES.has(cause.name)) return false;
    if (INDETERMINATE_NAMES.test(cause.name) || INDETERMINATE_MESSAGES.test(cause.message)) return true;
    const { code, errorLabels } = cause as { code?: unknown; errorLabels?: unknown };
    if (typeof code === 'string' && INDETERMINATE_CODES.has(code)) return true;
    if (errorLabelsOf(errorLabels).some((label) => INDETERMINATE_LABELS.includes(label))) return true;
  }
  return false;
}

function errorLabelsOf(labels: unknown): string[] {
  if (labels instanceof Set) return [...(labels as Set<string>)];
  return Array.isArray(labels) ? (labels as string[]) : [];
}

/** Most pieces of settling at once: past it a failure is reported and left (memory stays bounded under a flood). */
export const MAX_SETTLING = 1000;

export class Settler {
  /** Open tickets per user: entries exist only while settling work for that user runs, so this stays bounded. */
  private readonly byUser = new Map<string, Set<SettleTicket>>();
  private count = 0;

  constructor(
    private readonly delaysMs: readonly number[] = SETTLE_DELAYS_MS,
    private readonly graceMs: number = STALE_WRITE_GRACE_MS,
  ) {}

  /** Pieces of settling in progress. */
  get size(): number {
    return this.count;
  }

  /**
   * Opens a ticket for `userId` before a write that may need settling, so a reset that goes through while the write
   * is still in flight cancels it too. Close it with {@link Settler.close} (or hand it to {@link Settler.run}).
   */
  open(userId: string): SettleTicket {
    const ticket: SettleTicket = { userId, cancelled: false };
    const tickets = this.byUser.get(userId) ?? new Set<SettleTicket>();
    this.byUser.set(userId, tickets.add(ticket));
    this.count += 1;
    return ticket;
  }

  close(ticket: SettleTicket): void {
    const tickets = this.byUser.get(ticket.userId);
    if (tickets?.delete(ticket)) this.count -= 1;
    if (tickets?.size === 0) this.byUser.delete(ticket.userId);
  }

  /** Runs `work` under `ticket` and closes it when the work ends. */
  async run(ticket: SettleTicket, work: (ticket: SettleTicket) => Promise<void>): Promise<void> {
    try {
      await work(ticket);
    } finally {
      this.close(ticket);
    }
  }

  /**
   * The user's tokens were revoked (a successful reset, `revokeTokens`): pending settling must neither restore a
   * token nor write an older password over the new one.
   */
  revoked(userId: string): void {
    for (const ticket of this.byUser.get(userId) ?? []) ticket.cancelled = true;
  }

  /** Tries `step` now and after each delay until it resolves; stops early when the ticket is cancelled. */
  async persist<T>(step: () => Promise<T>, ticket?: SettleTicket): Promise<Persisted<T>> {
    let lastError: unknown;
    for (const delay of [0, ...this.delaysMs]) {
      // Jitter, so that many pieces retrying against one recovering database do not arrive together.
      if (delay > 0) await sleep(delay * (0.75 + Math.random() / 2));
      if (ticket?.cancelled) return { ok: false, cancelled: true };
      try {
        return { ok: true, value: await step() };
      } catch (error) {
        lastError = error;
      }
    }
    return { ok: false, cancelled: false, error: lastError };
  }

  /** Waits out the grace of a stale write (see {@link STALE_WRITE_GRACE_MS}). */
  grace(): Promise<void> {
    return sleep(this.graceMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((wake) => setTimeout(wake, ms));
}
