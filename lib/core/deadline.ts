/**
 * Settles with `operation`, or rejects with `onTimeout()` once `timeoutMs` has passed: the bound for a dependency
 * whose own timeout cannot be relied on (a dropped database connection, an authenticator that never answers). The
 * timer does not keep the process alive.
 */
export function withDeadline<T>(operation: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    timer.unref();
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}
