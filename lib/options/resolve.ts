/**
 * Turns the options object into the values the router is built from: checked
 * once (`validate.ts`), every default filled in from `defaults.ts`, and what the
 * request path needs computed ahead (the parsed TTL, the link builder, the
 * compiled schemas). Nothing is constructed here: `passwordReset()` builds the
 * stores, mailer, limiters and flow from these values.
 */
import type { KeyObject } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { Logger } from '../core/events';
import { BCRYPT_MAX_BYTES, type ResolvedPasswordPolicy } from '../core/password-policy';
import { codeKey } from '../core/tokens';
import type { User } from '../core/users';
import { compileReaders, compileSchemas, type RequestReaders, type RequestSchemas } from '../http/endpoints';
import type { WireFormat } from '../http/request-schemas';
import { DEFAULTS, DEFAULT_FIELDS, DEFAULT_ROUTES } from './defaults';
import { parseDuration } from './duration';
import type {
  EndpointName,
  FieldName,
  LimitOptions,
  PagesOptions,
  PasswordResetOptions,
  RateLimitName,
  RateLimitOptions,
  RoutePath,
  SecondFactorOptions,
} from './types';
import { validateOptions } from './validate';

export interface ResolvedRateLimits {
  limits: Record<RateLimitName, LimitOptions | false>;
  /** The app's store factory; absent: the root picks in-memory or Mongo stores. */
  store?: RateLimitOptions['store'];
}

export interface ResolvedOptions {
  /** The options as given (the root reads the seams from it: `users`, `store`, `mailer`, `mongoose`, `sendgrid`). */
  given: PasswordResetOptions;
  buildLink: (token: string, user: User) => string;
  tokenTtlMs: number;
  policy: ResolvedPasswordPolicy;
  hashPassword: (password: string) => Promise<string>;
  rateLimit: ResolvedRateLimits | false;
  /**
   * The code flow, when on; `key` holds `secret` (or a random key per process), never shown by `util.inspect`.
   * `exchangeTtlMs` is set only with `code.exchange`.
   */
  code?: { digits: number; maxAttempts: number; key: KeyObject; exchangeTtlMs?: number };
  /** `secondFactor` with its default `maxAttempts`, when set. */
  secondFactor?: Required<SecondFactorOptions>;
  /** `emails.appName`; absent: the emails are worded without a name. */
  appName: string | undefined;
  sendChangedNotice: boolean;
  notifyUnknown: boolean;
  /** The schemas under this package's own field names (the hosted pages' forms use them). */
  schemas: RequestSchemas;
  /** Where each endpoint is served (`false`: left out): the one place every part of the router reads a path from. */
  routes: Readonly<Record<EndpointName, RoutePath | false>>;
  /** The JSON API's field names and unknown-key handling. */
  wire: WireFormat;
  /** The JSON API's body readers: `wire` over `schemas`. */
  readers: RequestReaders;
  respond?: PasswordResetOptions['respond'];
  /** `pages` with its defaults: the site title falls back to `emails.appName`. */
  pages: PagesOptions | false;
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

function resolveRateLimits(rateLimit: PasswordResetOptions['rateLimit']): ResolvedRateLimits | false {
  if (rateLimit === false) return false;
  const limits = {} as Record<RateLimitName, LimitOptions | false>;
  for (const name of Object.keys(DEFAULTS.rateLimit) as RateLimitName[]) {
    limits[name] = rateLimit?.[name] ?? DEFAULTS.rateLimit[name];
  }
  return { limits, ...(rateLimit?.store ? { store: rateLimit.store } : {}) };
}

export function resolveRoutes(routes: PasswordResetOptions['routes']): ResolvedOptions['routes'] {
  const resolved: Record<EndpointName, RoutePath | false> = { ...DEFAULT_ROUTES };
  for (const name of Object.keys(DEFAULT_ROUTES) as EndpointName[]) {
    const path = routes?.[name];
    if (path !== undefined) resolved[name] = path;
  }
  return resolved;
}

export function resolveFields(fields: PasswordResetOptions['fields']): WireFormat['fields'] {
  const resolved = { ...DEFAULT_FIELDS };
  for (const name of Object.keys(DEFAULT_FIELDS) as FieldName[]) if (fields?.[name]) resolved[name] = fields[name];
  return resolved;
}

function resolvePages(options: PasswordResetOptions): PagesOptions | false {
  if (!options.pages) return false;
  const pages = options.pages === true ? {} : options.pages;
  return { ...pages, title: pages.title ?? options.emails?.appName };
}

/**
 * Joi and zxcvbn are loaded on first use (load cost), so a broken install would otherwise pass `passwordReset()` and
 * answer every request 500 (Joi) or every `/reset` 503 (zxcvbn). Their paths are looked up here: a file lookup, not a
 * load, so a missing module still fails at construction as it did when they were imported.
 */
function requireLoadable(password: { blockCommon?: boolean; minStrength?: number }): void {
  require.resolve('joi');
  if ((password.blockCommon ?? DEFAULTS.password.blockCommon) || password.minStrength !== undefined)
    require.resolve('@zxcvbn-ts/language-common');
  if (password.minStrength !== undefined) require.resolve('@zxcvbn-ts/core');
}

/** Checks `options` and fills in every default; throws an `OptionsError` for the first mistake. */
export function resolveOptions(options: PasswordResetOptions): ResolvedOptions {
  validateOptions(options);
  const logger = options.logger === undefined ? console : options.logger;
  const rounds = options.bcryptRounds ?? DEFAULTS.bcryptRounds;
  const code = options.code?.enabled
    ? {
        digits: options.code.digits ?? DEFAULTS.code.digits,
        maxAttempts: options.code.maxAttempts ?? DEFAULTS.code.maxAttempts,
        key: codeKey(options.secret),
        ...((options.code.exchange ?? DEFAULTS.code.exchange)
          ? { exchangeTtlMs: parseDuration('code.exchangeTtl', options.code.exchangeTtl ?? DEFAULTS.code.exchangeTtl) }
          : {}),
      }
    : undefined;
  const tokenTtlMs = parseDuration('tokenTtl', options.tokenTtl ?? DEFAULTS.tokenTtl);
  const password = options.password ?? {};
  const secondFactor = options.secondFactor && {
    required: options.secondFactor.required,
    verify: options.secondFactor.verify,
    maxAttempts: options.secondFactor.maxAttempts ?? DEFAULTS.secondFactor.maxAttempts,
  };
  const schemas = compileSchemas({ codeDigits: code?.digits, secondFactor: secondFactor !== undefined });
  const wire: WireFormat = {
    fields: resolveFields(options.fields),
    unknownFields: options.unknownFields ?? DEFAULTS.unknownFields,
  };
  requireLoadable(password);
  const resolved: ResolvedOptions = {
    given: options,
    buildLink: linkBuilder(options.resetUrl),
    tokenTtlMs,
    policy: {
      minLength: password.minLength ?? DEFAULTS.password.minLength,
      maxLength: password.maxLength ?? DEFAULTS.password.maxLength,
      minStrength: password.minStrength,
      blockCommon: password.blockCommon ?? DEFAULTS.password.blockCommon,
      maxBytes: options.hashPassword ? undefined : BCRYPT_MAX_BYTES,
      isBreached: password.isBreached,
      validate: password.validate,
    },
    hashPassword: options.hashPassword ?? ((plain) => bcrypt.hash(plain, rounds)),
    rateLimit: resolveRateLimits(options.rateLimit),
    code,
    ...(secondFactor ? { secondFactor } : {}),
    appName: options.emails?.appName,
    sendChangedNotice: options.emails?.sendChangedNotice ?? DEFAULTS.emails.sendChangedNotice,
    notifyUnknown: options.emails?.notifyUnknown ?? DEFAULTS.emails.notifyUnknown,
    schemas,
    routes: resolveRoutes(options.routes),
    wire,
    readers: compileReaders(schemas, wire),
    ...(options.respond ? { respond: options.respond } : {}),
    pages: resolvePages(options),
    openapi: options.openapi ?? DEFAULTS.openapi,
    logger,
    now: options.now ?? (() => new Date()),
  };
  // Every environment: a unit mistake (30 meant as minutes) makes links that die before the email arrives.
  if (logger && typeof options.tokenTtl === 'number' && options.tokenTtl < 1000) {
    logger.warn(
      `[express-password-reset] "tokenTtl" is ${options.tokenTtl} ms (a number means milliseconds): links die ` +
        `before anyone can open them. Did you mean '${options.tokenTtl}m'? The default is '30m'.`,
    );
  }
  warnAboutDevelopmentDefaults(options, logger, tokenTtlMs);
  return resolved;
}

function warnAboutDevelopmentDefaults(options: PasswordResetOptions, logger: Logger | false, ttlMs: number): void {
  if (process.env.NODE_ENV !== 'production' || !logger) return;
  const parts: string[] = [];
  if (!options.store && !options.mongoose) {
    parts.push('tokens are kept in memory (lost on restart, not shared between instances): set "mongoose" or "store"');
  }
  if (!options.mailer && !options.sendgrid) {
    parts.push('emails go to the in-memory outbox and are never delivered: set "sendgrid" or "mailer"');
  }
  // Short lifetimes are for tests; in production one is usually a unit mistake (30 meant as minutes).
  if (ttlMs < 60_000 && !(typeof options.tokenTtl === 'number' && options.tokenTtl < 1000))
    parts.push(`"tokenTtl" is ${ttlMs} ms, too short for anyone to open an email: did you mean '${ttlMs}m'?`);
  if (options.bcryptRounds !== undefined && options.bcryptRounds < 10) {
    parts.push(`"bcryptRounds" is ${options.bcryptRounds}, a cost meant for tests: use 10 or more (default 12)`);
  }
  if (parts.length > 0) logger.warn(`[express-password-reset] NODE_ENV=production but ${parts.join('; and ')}.`);
}
