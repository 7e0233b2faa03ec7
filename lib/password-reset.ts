/**
 * `passwordReset(options)`: the mountable router, and the one composition root.
 * Options are turned into values by `options/`; everything with a lifetime (the
 * token store, mailer, limiters, background work and the flow) is built here and
 * closed by `router.close()`.
 */
import express, { type Request, type Router } from 'express';
import { BackgroundWork } from './core/background-work';
import { DropLog } from './core/drop-log';
import { EventSink, SECRET_KEYS, type Logger } from './core/events';
import { ResetFlow } from './core/reset-flow';
import { FORGOT_ANSWER } from './http/endpoints';
import {
  addApiErrorHandler,
  addEndpointTags,
  addJsonApi,
  addMethodGuards,
  addOptionsAnswers,
  apiErrorMapper,
} from './http/json-api';
import { openApiDocument } from './http/openapi';
import { buildLimiters } from './http/rate-limits';
import { Answers } from './http/respond';
import { securityHeaders, sendJson } from './http/responses';
import { EmailRenderer } from './mail/email-templates';
import type { Mailer } from './mail/mailer';
import { OutboxMailer } from './mail/outbox-mailer';
import { SendGridMailer } from './mail/sendgrid-mailer';
import { MongoRateLimitStore } from './mongo/mongo-rate-limit-store';
import { MongoTokenStore } from './mongo/mongo-token-store';
import { invalidOption } from './options/checks';
import { DEFAULTS, MAX_PENDING_PER_CLIENT, MAX_PENDING_REQUESTS } from './options/defaults';
import { parseDuration } from './options/duration';
import { resolveOptions, type ResolvedOptions } from './options/resolve';
import type { PasswordResetOptions, RateLimitOptions } from './options/types';
import { pageRoutes } from './pages/page-routes';
import { MemoryTokenStore } from './stores/memory-token-store';
import { TOKEN_KINDS, type TokenKind, type TokenStore } from './stores/token-store';

export { FORGOT_RESPONSE } from './http/endpoints';

/** The router `passwordReset()` returns: mount it with `app.use(path, router)`. */
export interface PasswordResetRouter extends Router {
  /** Kills every outstanding link and code of a user (call it when a password or email changes elsewhere). */
  revokeTokens(userId: string): Promise<void>;
  /** Stops timers and background work: for graceful shutdown and tests. */
  close(): Promise<void>;
  /**
   * Resolves when all background work started so far (the lookup and email behind `/forgot`, notices) has finished:
   * in a test, `await router.settled()` after a `/forgot` and the email is in the outbox.
   */
  settled(): Promise<void>;
  /**
   * The in-memory mailer in use when neither `mailer` nor `sendgrid` is set (`undefined` otherwise): read the emails
   * it kept with `router.outbox.last('ada@example.com')` or `router.outbox.messages`.
   */
  readonly outbox: OutboxMailer | undefined;
  /**
   * Issues a link for the account with this address and emails it, like `/forgot` but for the app (an admin, a support
   * tool): awaited, without the limits. Resolves once the mailer accepted the email; rejects with a
   * `PasswordResetError` whose code is `ACCOUNT_NOT_FOUND` when no account has the address, and with the store's or
   * mailer's error when they fail. Never expose it to the public: it says whether an account exists.
   */
  sendResetLink(email: string, options?: ResetLinkOptions): Promise<{ userId: string; expiresAt: Date }>;
  /** The same as {@link PasswordResetRouter.sendResetLink} without sending anything: the app delivers `url` itself. */
  createResetLink(email: string, options?: ResetLinkOptions): Promise<{ url: string; userId: string; expiresAt: Date }>;
}

/** Options of `router.sendResetLink` and `router.createResetLink`. */
export interface ResetLinkOptions {
  /**
   * Lifetime of the link: milliseconds or a string such as `'2h'` (at most 7 days).
   * @default the `tokenTtl` option; `'7d'` for `kind: 'invite'`
   */
  ttl?: number | string;
  /**
   * What the link is for: `'reset'` (the reset email) or `'invite'` (the invitation email: "choose a password for
   * your new account"; no code, no "password changed" notice after it is used).
   * @default 'reset'
   */
  kind?: TokenKind;
}

const isTokenKind = (value: unknown): value is TokenKind => TOKEN_KINDS.some((kind) => kind === value);

/** Checks the options of an app-issued link; a mistake is an `OptionsError` naming `method.option`. */
function linkOptions(
  method: string,
  options: ResetLinkOptions | undefined,
  defaultTtlMs: Readonly<Record<TokenKind, number>>,
): { ttlMs: number; kind: TokenKind } {
  if (options === undefined) return { ttlMs: defaultTtlMs.reset, kind: 'reset' };
  if (typeof options !== 'object' || options === null) invalidOption(method, 'takes { ttl?, kind? } as options');
  for (const key of Object.keys(options))
    if (key !== 'ttl' && key !== 'kind')
      invalidOption(`${method}.${key}`, 'is not an option; the options are ttl and kind');
  const { ttl, kind = 'reset' } = options;
  if (!isTokenKind(kind))
    invalidOption(`${method}.kind`, `must be one of ${TOKEN_KINDS.map((name) => `'${name}'`).join(', ')}`);
  return { ttlMs: ttl === undefined ? defaultTtlMs[kind] : parseDuration(`${method}.ttl`, ttl), kind };
}

function defaultMailer(options: PasswordResetOptions, logger: Logger | false): Mailer {
  if (options.sendgrid !== undefined) return new SendGridMailer(options.sendgrid);
  return new OutboxMailer({ logger, name: 'router.outbox' });
}

function defaultTokenStore(options: PasswordResetOptions, logger: Logger | false): TokenStore {
  const now = options.now;
  const clock = now ? { now: () => now().getTime() } : {};
  const mongo = options.mongoose;
  if (mongo)
    return new MongoTokenStore({ connection: mongo.connection, collection: mongo.collection, logger, ...clock });
  return new MemoryTokenStore(clock);
}

/** With `mongoose` set, the limits live in MongoDB too, so every instance counts against the same limits. */
function defaultRateLimitStore(config: ResolvedOptions): RateLimitOptions['store'] {
  const mongo = config.given.mongoose;
  const { logger } = config;
  return mongo
    ? (name) => new MongoRateLimitStore({ connection: mongo.connection, prefix: `password-reset:${name}`, logger })
    : undefined;
}

/**
 * `GET /openapi.json`, its server URL the mount path the request came through. Serialised once, in two halves
 * around `servers`: nothing is kept per request (a mount path matches many spellings, and may hold a parameter).
 */
function openApiRoute(router: Router, config: ResolvedOptions): void {
  const { code } = config;
  const described = code && { digits: code.digits, exchange: code.exchangeTtlMs !== undefined };
  const { openapi, info, paths, components } = openApiDocument({
    basePath: '/',
    code: described ?? false,
    routes: config.routes,
    fields: config.wire.fields,
    unknownFields: config.wire.unknownFields,
    secondFactor: config.secondFactor !== undefined,
  });
  const head = JSON.stringify({ openapi, info }).slice(0, -1);
  const tail = JSON.stringify({ paths, components }).slice(1);
  const json = (baseUrl: string): string => `${head},"servers":${JSON.stringify([{ url: baseUrl || '/' }])},${tail}`;
  router.get('/openapi.json', securityHeaders, (req, res) => sendJson(res, 200, json(req.baseUrl)));
}

/** The methods the router answers on each of its paths (for `405` and `OPTIONS`). */
function allowedMethods(config: ResolvedOptions): Map<string, string[]> {
  const allowed = new Map<string, string[]>();
  for (const path of Object.values(config.routes)) if (path !== false) allowed.set(path, ['POST']);
  if (config.pages) {
    // Both are routes when pages are on (checked at construction).
    for (const path of [config.routes.forgot, config.routes.reset])
      if (path !== false) allowed.set(path, ['GET', 'HEAD', 'POST']);
  }
  if (config.openapi) allowed.set('/openapi.json', ['GET', 'HEAD']);
  return allowed;
}

export function passwordReset(options: PasswordResetOptions): PasswordResetRouter {
  const config = resolveOptions(options);
  const { given, logger } = config;
  // Whatever can still throw comes before the token store is built: a MongoTokenStore starts index work at once.
  const mailer = given.mailer ?? defaultMailer(given, logger);
  const renderer = new EmailRenderer(config.appName, given.emails?.templates);
  const store = given.store ?? defaultTokenStore(given, logger);
  // In development a dropped request is worth a line: a developer trying the flow otherwise waits for an email.
  const events = new EventSink(given.hooks?.onEvent, logger, { logRateLimited: process.env.NODE_ENV !== 'production' });
  const { fields } = config.wire;
  const secretKeys = [...new Set([...SECRET_KEYS, ...fields.token, ...fields.code, ...fields.password, ...fields.otp])];
  // Calls `respond` for /forgot's success, which may throw.
  const answers = new Answers(config.respond, events, FORGOT_ANSWER, secretKeys);
  const rateLimit = config.rateLimit && {
    ...config.rateLimit,
    store: config.rateLimit.store ?? defaultRateLimitStore(config),
  };
  const limiters = buildLimiters(rateLimit, events, logger);
  const background = new BackgroundWork(MAX_PENDING_REQUESTS, MAX_PENDING_PER_CLIENT);
  const dropLog = new DropLog(logger, background);
  const flow = new ResetFlow<Request>({
    users: given.users,
    store,
    mailer,
    renderer,
    events,
    background,
    dropLog,
    buildLink: config.buildLink,
    tokenTtlMs: config.tokenTtlMs,
    policy: {
      ...config.policy,
      onBreachCheckError: (error) => events.emit({ type: 'error', stage: 'password.isBreached', error }),
    },
    hashPassword: config.hashPassword,
    code: config.code,
    secondFactor: config.secondFactor,
    sendChangedNotice: config.sendChangedNotice,
    notifyUnknown: config.notifyUnknown,
    onPasswordReset: given.hooks?.onPasswordReset,
    beforeReset: given.hooks?.beforeReset,
    allowReset: given.hooks?.allowReset,
    overPerEmailLimit: limiters.perEmail,
    now: config.now,
  });
  const toApiError = apiErrorMapper(events, secretKeys);
  const router = express.Router() as PasswordResetRouter;

  addEndpointTags(router, config.routes);
  const allowed = allowedMethods(config);
  addOptionsAnswers(router, allowed);
  // Form posts and the GET pages; JSON requests pass through to the API below unchanged.
  if (config.pages) router.use(pageRoutes({ config, pages: config.pages, flow, limiters, toApiError }));
  if (config.openapi) openApiRoute(router, config);
  addJsonApi(router, { readers: config.readers, routes: config.routes, flow, limiters, answers, secretKeys });
  addMethodGuards(router, allowed);
  addApiErrorHandler(router, toApiError, answers);

  router.revokeTokens = (userId: string) => flow.revokeTokens(userId);
  const checkEmail = (method: string, email: unknown): void => {
    if (typeof email !== 'string' || email.length === 0)
      invalidOption(`${method}(email)`, 'must be a non-empty string');
  };
  const linkTtls: Record<TokenKind, number> = {
    reset: config.tokenTtlMs,
    invite: parseDuration('inviteTtl', DEFAULTS.inviteTtl),
  };
  router.sendResetLink = async (email, options) => {
    checkEmail('sendResetLink', email);
    const { ttlMs, kind } = linkOptions('sendResetLink', options, linkTtls);
    const { userId, expiresAt } = await flow.issueLink(email, ttlMs, true, kind);
    return { userId, expiresAt };
  };
  router.createResetLink = async (email, options) => {
    checkEmail('createResetLink', email);
    const { ttlMs, kind } = linkOptions('createResetLink', options, linkTtls);
    return flow.issueLink(email, ttlMs, false, kind);
  };
  router.settled = () => background.settled();
  Object.defineProperty(router, 'outbox', {
    value: given.mailer === undefined && mailer instanceof OutboxMailer ? mailer : undefined,
    enumerable: true,
  });
  router.close = async () => {
    await background.settled();
    dropLog.close();
    await Promise.all([limiters.close(), store.close(), mailer.close?.()]);
  };
  return router;
}
