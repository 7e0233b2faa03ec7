/**
 * The log side of dropped `/forgot` requests. Each drop is also an `error` event; the log gets a line at the first
 * drop and then at most one per interval with the count since the last, so a flood cannot write the log at its
 * own rate. No line names an address or an IP.
 */
import type { StartResult } from './background-work';
import type { Logger } from './events';

/** Why a request was dropped. */
export type DropReason = Exclude<StartResult, 'started'>;

/** Longest a drop waits to be counted in a log line. */
export const DROP_LOG_INTERVAL_MS = 10_000;

export class DropLog {
  private readonly pending: Record<DropReason, number> = { dropped: 0, client_full: 0 };
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly logger: Logger | false,
    private readonly caps: { limit: number; perClient: number },
    private readonly intervalMs = DROP_LOG_INTERVAL_MS,
  ) {}

  dropped(reason: DropReason): void {
    if (!this.logger) return;
    this.pending[reason] += 1;
    if (this.timer) return;
    this.flush();
    this.startTimer();
  }

  /** Writes what is still counted; for `router.close()`. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private startTimer(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.flush()) this.startTimer();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes one line for the drops counted since the last; `false` when there were none. */
  private flush(): boolean {
    const { dropped, client_full: clientFull } = this.pending;
    if (!this.logger || dropped + clientFull === 0) return false;
    this.pending.dropped = 0;
    this.pending.client_full = 0;
    const reasons = [
      ...(clientFull > 0 ? [`${clientFull} from clients that had ${this.caps.perClient} in progress`] : []),
      ...(dropped > 0 ? [`${dropped} with ${this.caps.limit} in progress in all`] : []),
    ];
    const total = dropped + clientFull;
    this.logger.warn(
      `[express-password-reset] /forgot overloaded: dropped ${total} request${total === 1 ? '' : 's'} ` +
        `(${reasons.join(', ')}); each has an error event (OverloadedError)`,
    );
    return true;
  }
}
