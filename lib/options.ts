/**
 * Defaults, in one place. `resolveOptions` validates the options once and
 * computes everything the request path needs (parsed TTL, compiled schemas,
 * templates, stores), so handlers only read precomputed values.
 */
import bcrypt from 'bcrypt';
import { parseDuration } from './duration';
import { OutboxMailer } from './outbox-mailer';
import { SendGridMailer } from './sendgrid-mailer';
import { MemoryTokenStore } from './memory-store';
import { MongoTokenStore } from './mongo-store';
import { MongoRateLimitStore } from './mongo-rate-limit-store';
import { BCRYPT_MAX_BYTES, type ResolvedPasswordPolicy } from './password-policy';
import { buildSchemas, type RequestSchemas } from './schemas';
import { EmailRenderer } from './templates';
import type { Mailer } from './mailer';
import type { TokenStore } from './token-store';
import type { HookOptions, LimitOptions, Logger, PagesOptions, PasswordResetOptions, RateLimitName, RateLimitOptions, User, UserAdapter } from './types';
import { validateOptions } from './validations';

export const DEFAULT_LIMITS: Record<RateLimitName, LimitOptions> = {
  forgot: { windowMs: 15 * 60_000, limit: 50 },
  verify: { windowMs: 15 * 60_000, limit: 100 },
  reset: { windowMs: 15 * 60_000, limit: 50 },
  perEmail: { windowMs: 60 * 60_000, limit: 5 },
};

export interface ResolvedRateLimits {
  limits: Record<RateLimitName, LimitOptions | false>;
  store?: RateLimitOptions['store'];
}

/** `pages` with its defaults: the site title falls back to `emails.appName`. */
export type ResolvedPages = PagesOptions;

export interface ResolvedOptions {
  users: UserAdapter;
  buildLink: (token: string, user: User) => string;
  store: TokenStore;
  mailer: Mailer;
  tokenTtlMs: number;
  policy: ResolvedPasswordPolicy;
  hashPassword: (password: string) => Promise<string>;
  rateLimit: ResolvedRateLimits | false;
  code?: { digits: number; maxAttempts: number };
  hooks: HookOptions;
  renderer: EmailRenderer;
  sendChangedNotice: boolean;
  notifyUnknown: boolean;
  schemas: RequestSchemas;
  pages: ResolvedPages | false;
  openapi: boolean;
  logger: Logger | false;
  now: () => Date;
}

function linkBuilder(resetUrl: PasswordResetOptions['resetUrl']): ResolvedOptions['buildLink'] {
  if (typeof resetUrl === 'function') return resetUrl;
  // Parsed once: per link only the token is appended. Tokens are base64url, so they need no escaping.
  const base = new URL(resetUrl);
  base.searchParams.delete('token');
  const hash = base.hash;
  base.hash = '';
  const prefix = `${base.toString()}${base.search ? '&' : '?'}token=`;
  return (token) => `${prefix}${token}${hash}`;
}

/** Validates `options` and fills in every default. */
export function resolveOptions(options: PasswordResetOptions): ResolvedOptions {
  validateOptions(options);
  const logger = options.logger === undefined ? console : options.logger;
  const rounds = options.bcryptRounds ?? 12;
  const code = options.code?.enabled ? { digits: options.code.digits ?? 6, maxAttempts: options.code.maxAttempts ?? 5 } : undefined;
  const rateLimit = options.rateLimit === false ? false : {
    limits: {
      forgot: options.rateLimit?.forgot ?? DEFAULT_LIMITS.forgot,
      verify: options.rateLimit?.verify ?? DEFAULT_LIMITS.verify,
      reset: options.rateLimit?.reset ?? DEFAULT_LIMITS.reset,
      perEmail: options.rateLimit?.perEmail ?? DEFAULT_LIMITS.perEmail,
    },
    store: options.rateLimit?.store ?? defaultRateLimitStore(options, logger),
  };

  // Whatever can still throw comes before the token store is built: a MongoTokenStore starts index work at once.
  const tokenTtlMs = parseDuration('tokenTtl', options.tokenTtl ?? '30m');
  const mailer = options.mailer ?? defaultMailer(options, logger);
  const renderer = new EmailRenderer(options.emails?.appName ?? 'Your account', options.emails?.templates);
  const schemas = buildSchemas(code?.digits);
  const store = options.store ?? defaultStore(options, logger);

  const resolved: ResolvedOptions = {
    users: options.users,
    buildLink: linkBuilder(options.resetUrl),
    store,
    mailer,
    tokenTtlMs,
    policy: {
      minLength: options.password?.minLength ?? 8,
      maxLength: options.password?.maxLength ?? 64,
      minStrength: options.password?.minStrength,
      blockCommon: options.password?.blockCommon ?? true,
      maxBytes: options.hashPassword ? undefined : BCRYPT_MAX_BYTES,
      isBreached: options.password?.isBreached,
      validate: options.password?.validate,
    },
    hashPassword: options.hashPassword ?? ((password) => bcrypt.hash(password, rounds)),
    rateLimit,
    code,
    hooks: options.hooks ?? {},
    renderer,
    sendChangedNotice: options.emails?.sendChangedNotice ?? true,
    notifyUnknown: options.emails?.notifyUnknown ?? false,
    schemas,
    pages: options.pages ? { ...(options.pages === true ? {} : options.pages), title: (options.pages === true ? undefined : options.pages.title) ?? options.emails?.appName } : false,
    openapi: options.openapi ?? false,
    logger,
    now: options.now ?? (() => new Date()),
  };
  warnAboutDevelopmentDefaults(options, logger, tokenTtlMs);
  return resolved;
}

function defaultStore(options: PasswordResetOptions, logger: Logger | false): TokenStore {
  const now = options.now;
  const clock = now ? { now: () => now().getTime() } : {};
  if (options.mongoose) return new MongoTokenStore({ connection: options.mongoose.connection, collection: options.mongoose.collection, logger, ...clock });
  return new MemoryTokenStore(clock);
}

/** With `mongoose` set, the limits live in MongoDB too, so every instance counts against the same limits. */
function defaultRateLimitStore(options: PasswordResetOptions, logger: Logger | false): RateLimitOptions['store'] {
  const mongo = options.mongoose;
  return mongo ? (name) => new MongoRateLimitStore({ connection: mongo.connection, prefix: `password-reset:${name}`, logger }) : undefined;
}

function defaultMailer(options: PasswordResetOptions, logger: Logger | false): Mailer {
  if (options.sendgrid) return new SendGridMailer(options.sendgrid);
  return new OutboxMailer({ logger });
}

function warnAboutDevelopmentDefaults(options: PasswordResetOptions, logger: Logger | false, ttlMs: number): void {
  if (process.env.NODE_ENV !== 'production' || !logger) return;
  const parts: string[] = [];
  if (!options.store && !options.mongoose) parts.push('tokens are kept in memory (lost on restart, not shared between instances): set "mongoose" or "store"');
  if (!options.mailer && !options.sendgrid) parts.push('emails go to the in-memory outbox and are never delivered: set "sendgrid" or "mailer"');
  // Short lifetimes are for tests; in production one is usually a unit mistake (30 meant as minutes).
  if (ttlMs < 60_000) parts.push(`"tokenTtl" is ${ttlMs} ms, too short for anyone to open an email: did you mean '${ttlMs}m'?`);
  if (options.bcryptRounds !== undefined && options.bcryptRounds < 10) parts.push(`"bcryptRounds" is ${options.bcryptRounds}, a cost meant for tests: use 10 or more (default 12)`);
  if (parts.length > 0) logger.warn(`[express-password-reset] NODE_ENV=production but ${parts.join('; and ')}.`);
}
