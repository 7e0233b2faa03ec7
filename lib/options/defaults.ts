/**
 * Every default of `passwordReset()`'s options, in one place. The option types
 * (`types.ts`) cite these values in their `@default` tags; `resolve.ts` applies them.
 */
import { ENDPOINTS, ENDPOINT_NAMES, type EndpointName } from '../http/endpoints';
import type { FieldName, LimitOptions, RateLimitName, RoutePath } from './types';

/** The per-IP limit of each endpoint (from the endpoints table) and the per-email limit of `/forgot`. */
export const DEFAULT_LIMITS: Readonly<Record<RateLimitName, LimitOptions>> = {
  ...(Object.fromEntries(ENDPOINT_NAMES.map((name) => [name, ENDPOINTS[name].defaultLimit])) as Record<
    (typeof ENDPOINT_NAMES)[number],
    LimitOptions
  >),
  perEmail: { windowMs: 60 * 60_000, limit: 5 },
};

/** Compiles only while `RateLimitName` lists exactly the endpoints and `perEmail`. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const rateLimitNamesMatchEndpoints: Same<RateLimitName, EndpointName | 'perEmail'> = true;
void rateLimitNamesMatchEndpoints;

/** Each endpoint's path when `routes` does not move it: the endpoints table's own. */
export const DEFAULT_ROUTES: Readonly<Record<EndpointName, RoutePath>> = {
  forgot: ENDPOINTS.forgot.defaultPath,
  verify: ENDPOINTS.verify.defaultPath,
  reset: ENDPOINTS.reset.defaultPath,
};

/** The names accepted per request field when `fields` does not set them (`newPassword`: the 0.1 alias). */
export const DEFAULT_FIELDS: Readonly<Record<FieldName, readonly string[]>> = {
  email: ['email'],
  token: ['token'],
  code: ['code'],
  password: ['password', 'newPassword'],
  otp: ['otp'],
};

export const DEFAULTS = {
  tokenTtl: '30m',
  /** The `ttl` of `router.sendResetLink` / `createResetLink` with `kind: 'invite'`: an invitee may be away a while. */
  inviteTtl: '7d',
  bcryptRounds: 12,
  password: { minLength: 8, maxLength: 64, blockCommon: true },
  code: { digits: 6, maxAttempts: 5, exchange: false, exchangeTtl: '10m' },
  secondFactor: { maxAttempts: 5 },
  // No default appName: the built-in emails are worded to read well without one ("Reset your password").
  emails: { sendChangedNotice: true, notifyUnknown: false },
  rateLimit: DEFAULT_LIMITS,
  openapi: false,
  unknownFields: 'reject',
} as const;

/**
 * `/forgot` requests whose lookup and email may be in progress at once, per router; more are dropped (202 all the
 * same).
 */
export const MAX_PENDING_REQUESTS = 1000;
/**
 * Of those, the most one client (an IP; an IPv6 /56) may have in progress: a client with nothing in progress is
 * dropped only once 20 clients are at their share.
 */
export const MAX_PENDING_PER_CLIENT = 50;
