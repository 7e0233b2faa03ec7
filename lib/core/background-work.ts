/**
 * Every piece of work the router does after it has answered (`/forgot`'s lookup
 * and email, the changed notice), tracked in one place: so that a flood of
 * `/forgot` cannot queue work without bound (notices are never dropped and do not
 * count towards the cap), that one client's flood cannot take the whole cap, and
 * so that `close()` can wait for all of it.
 */

/**
 * What happens to work started with `startSoon`: `dropped` when {@link BackgroundWork.limit} pieces are in
 * progress, `client_full` when its client already has {@link BackgroundWork.perClient} of them.
 */
export type StartResult = 'started' | 'dropped' | 'client_full';

export class BackgroundWork {
  private readonly running = new Set<Promise<void>>();
  /** Pieces started by `startSoon` still in progress: only they count towards `limit`. */
  private queued = 0;
  /**
   * Pieces in progress per client, entries removed at zero: never more entries than `limit`, however many clients
   * there are.
   */
  private readonly perClientQueued = new Map<string, number>();

  /**
   * @param limit most `startSoon` pieces in progress at once; more are dropped (the caller reports it).
   * @param perClient most of them one client may hold, so that a client with nothing in progress is dropped only
   *   once `limit / perClient` clients are at their share.
   */
  constructor(
    readonly limit: number,
    readonly perClient: number = limit,
  ) {}

  /** How many clients have `startSoon` work in progress. */
  get clients(): number {
    return this.perClientQueued.size;
  }

  /**
   * Runs `work` from the check phase of the event loop, unless `limit` pieces are
   * in progress or `client` (an opaque key: the flow passes the IP's) holds
   * `perClient` of them: answers to requests already waiting in this turn go out
   * first, so one address's lookup and email never delay the answer to another
   * request. `work` must not reject.
   */
  startSoon(work: () => Promise<void>, client = ''): StartResult {
    if (this.queued >= this.limit) return 'dropped';
    const held = this.perClientQueued.get(client) ?? 0;
    if (held >= this.perClient) return 'client_full';
    this.queued += 1;
    this.perClientQueued.set(client, held + 1);
    const piece = new Promise<void>((resolve) => setImmediate(resolve)).then(work);
    this.track(
      piece.finally(() => {
        this.queued -= 1;
        const left = (this.perClientQueued.get(client) ?? 1) - 1;
        if (left > 0) this.perClientQueued.set(client, left);
        else this.perClientQueued.delete(client);
      }),
    );
    return 'started';
  }

  /** Tracks work that is already running (it is never dropped). `work` must not reject. */
  track(work: Promise<void>): void {
    this.running.add(work);
    // `work` must not reject; if a bug makes it, the process must not die of an unhandled rejection for it.
    void work.catch(() => undefined).finally(() => this.running.delete(work));
  }

  /** Resolves once nothing is in progress, including work started by work that was waited for. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
