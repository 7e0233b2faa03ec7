/**
 * The limits, built on express-rate-limit: one limiter per endpoint keyed by
 * IP (over the limit: 429), and a per-email counter on an express-rate-limit
 * store that `/forgot` consults after it has answered (over the limit: nothing
 * is sent, and the client cannot tell).
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import {
  MemoryStore,
  rateLimit,
  type Logger as ExpressRateLimitLogger,
  type Options as ExpressRateLimitOptions,
  type Store,
} from 'express-rate-limit';
import { PasswordResetError } from '../core/errors';
import { toEventError, type EventSink, type Logger } from '../core/events';
import type { ResolvedRateLimits } from '../options/resolve';
import type { LimitOptions, RateLimitName } from '../options/types';
import { ENDPOINT_NAMES, type EndpointName } from './endpoints';

/** The limits of one router: a per-IP middleware per endpoint (absent when off) and the per-email counter. */
export interface Limiters {
  perIp: Partial<Record<EndpointName, RequestHandler>>;
  /**
   * Counts one request for a subject (an address, an account, a mailbox: the flow's keys); resolves `true` when
   * the subject is over the per-email limit.
   */
  perEmail?: (subject: string) => Promise<boolean>;
  /** Shuts the counter stores down. */
  close(): Promise<void>;
}

const RATE_LIMITED = new PasswordResetError('RATE_LIMITED');

/**
 * Also sends the combined `RateLimit` header (IETF draft 7) beside express-rate-limit's draft-6 `RateLimit-*` headers.
 */
function setCombinedHeader(req: Request, res: Response): void {
  const info = (req as Request & { rateLimit?: { limit: number; remaining: number; resetTime?: Date } }).rateLimit;
  if (info && !res.headersSent) {
    const reset = info.resetTime ? Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000)) : 0;
    res.setHeader('RateLimit', `limit=${info.limit}, remaining=${info.remaining}, reset=${reset}`);
  }
}

/**
 * express-rate-limit's own warnings (store errors, trust proxy mistakes) go to the package's logger as one line
 * each: its default prints whole error objects to console.error on every request while a store is down.
 */
function rateLimitLogger(logger: Logger | false): ExpressRateLimitLogger {
  const write = (error: unknown, message?: string, outcome = ''): void => {
    if (logger)
      logger.warn(
        `[express-password-reset] ${message ?? 'express-rate-limit'}: ${toEventError(error).message}${outcome}`,
      );
  };
  return {
    // Called for a counter store that failed (passOnStoreError): a hit that timed out may still land and count. Also
    // for a store that failed to start, where no request is involved.
    error: (error: unknown, message?: string) =>
      write(
        error,
        message,
        message?.includes('during store initialization')
          ? ''
          : '; the request was let through, and its hit may still be counted if the write lands late',
      ),
    warn: write,
  };
}

function ipLimiter(
  name: RateLimitName,
  limit: LimitOptions,
  store: Store,
  events: EventSink,
  logger: ExpressRateLimitLogger,
): RequestHandler {
  const limiter = rateLimit({
    logger,
    windowMs: limit.windowMs,
    limit: limit.limit,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    store,
    // An unreachable counter store must not turn /forgot's uniform 202 into an error: count nothing, go on.
    passOnStoreError: true,
    // Handed to the router's error handling (not sent here), so the hosted pages can answer a form post with a page.
    handler: (req, res, next) => {
      setCombinedHeader(req, res);
      events.emit({ type: 'rate_limited', limiter: name, ip: req.ip });
      next(RATE_LIMITED);
    },
  });
  return (req, res, next) => {
    limiter(req, res, (error?: unknown) => {
      if (!error) setCombinedHeader(req, res);
      next(error);
    });
  };
}

function emailCounter(
  limit: LimitOptions,
  store: Store,
  logger: ExpressRateLimitLogger,
): (subject: string) => Promise<boolean> {
  // As express-rate-limit does for the per-IP stores: a store that fails to start (rate-limit-redis loading its
  // script while Redis is unreachable) is a log line, not an unhandled rejection that ends the process.
  const failed = (error: unknown): void => logger.warn(error, 'the per-email counter store failed to start');
  try {
    const started: unknown = store.init?.({ windowMs: limit.windowMs, limit: limit.limit } as ExpressRateLimitOptions);
    if (started instanceof Promise) void started.catch(failed);
  } catch (error) {
    failed(error);
  }
  // Addresses (and the keys made of them) are personal data: the counter store only ever sees their hash.
  const keyOf = (subject: string): string => createHash('sha256').update(subject).digest('base64url');
  return async (subject) => (await store.increment(keyOf(subject))).totalHits > limit.limit;
}

export function buildLimiters(config: ResolvedRateLimits | false, events: EventSink, logger: Logger | false): Limiters {
  const stores: Store[] = [];
  const limiters: Limiters = {
    perIp: {},
    close: async () => {
      await Promise.all(
        stores.map(async (store) => {
          await store.shutdown?.();
        }),
      );
    },
  };
  if (!config) return limiters;
  const newStore = (name: RateLimitName): Store => {
    const store = config.store ? config.store(name) : new MemoryStore();
    stores.push(store);
    return store;
  };
  for (const name of ENDPOINT_NAMES) {
    const limit = config.limits[name];
    if (limit) limiters.perIp[name] = ipLimiter(name, limit, newStore(name), events, rateLimitLogger(logger));
  }
  if (config.limits.perEmail)
    limiters.perEmail = emailCounter(config.limits.perEmail, newStore('perEmail'), rateLimitLogger(logger));
  return limiters;
}
