/**
 * Every piece of work the router does after it has answered (`/forgot`'s lookup
 * and email, the changed notice), tracked in one place: so that a flood of
 * `/forgot` cannot queue work without bound (notices are never dropped and do not
 * count towards the cap), and so that `close()` can wait for all of it.
 */

/** What happens to work started while {@link BackgroundWork.limit} pieces are already running. */
export type StartResult = 'started' | 'dropped';

export class BackgroundWork {
  private readonly running = new Set<Promise<void>>();
  /** Pieces started by `startSoon` still in progress: only they count towards `limit`. */
  private queued = 0;

  /** @param limit most `startSoon` pieces in progress at once; more are dropped (the caller reports it). */
  constructor(readonly limit: number) {}

  /**
   * Runs `work` from the check phase of the event loop, unless `limit` pieces are
   * in progress: answers to requests already waiting in this turn go out first,
   * so one address's lookup and email never delay the answer to another request.
   * `work` must not reject.
   */
  startSoon(work: () => Promise<void>): StartResult {
    if (this.queued >= this.limit) return 'dropped';
    this.queued += 1;
    const piece = new Promise<void>((resolve) => setImmediate(resolve)).then(work);
    this.track(piece.finally(() => (this.queued -= 1)));
    return 'started';
  }

  /** Tracks work that is already running (it is never dropped). `work` must not reject. */
  track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  /** Resolves once nothing is in progress, including work started by work that was waited for. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
