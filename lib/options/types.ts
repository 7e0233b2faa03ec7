/**
 * The types of `passwordReset()`'s options. Every field is documented here;
 * the defaults live in `defaults.ts`, the checks in `validate.ts`.
 */
import type { Request } from 'express';
import type { Store as RateLimitStore } from 'express-rate-limit';
import type { ErrorCode, ErrorDetail } from '../core/errors';
import type { Logger, PasswordResetEvent } from '../core/events';
import type { User, UserAdapter } from '../core/users';
import type { EmailKind, Mailer, TemplateData } from '../mail/mailer';
import type { MongooseConnection } from '../mongo/mongoose-types';
import type { TokenKind, TokenStore } from '../stores/token-store';

/** Lifetime: milliseconds, or a string of a number and a unit (`ms`, `s`, `m`, `h`, `d`), e.g. `'30m'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** One IP (or email) limit: at most `limit` requests per `windowMs`. */
export interface LimitOptions {
  /** Window length in milliseconds. */
  windowMs: number;
  /** Requests allowed per window. */
  limit: number;
}

/** Rate limits, on by default. */
export interface RateLimitOptions {
  /** Per IP on `POST /forgot` (over: 429). @default { windowMs: 900000, limit: 50 } */
  forgot?: LimitOptions | false;
  /** Per IP on `POST /verify` (over: 429). @default { windowMs: 900000, limit: 100 } */
  verify?: LimitOptions | false;
  /** Per IP on `POST /reset` (over: 429). @default { windowMs: 900000, limit: 50 } */
  reset?: LimitOptions | false;
  /**
   * Per email address on `POST /forgot`. Over the limit the answer is the same
   * 202 as always and no email is sent. @default { windowMs: 3600000, limit: 5 }
   */
  perEmail?: LimitOptions | false;
  /**
   * Builds one express-rate-limit store per limiter; `name` is distinct per
   * limiter (`forgot`, `verify`, `reset`, `perEmail`), e.g.
   * `(name) => new RedisStore({ sendCommand, prefix: name })`.
   * @default in-memory stores, or `MongoRateLimitStore` when `mongoose` is set
   */
  store?: (name: RateLimitName) => RateLimitStore;
}

/**
 * The names the rate-limit store factory is called with: one per endpoint, and `perEmail`. Written out (not
 * derived from the endpoints table) so the public declarations stay free of the table's internals;
 * `options/defaults.ts` fails to compile when the two disagree.
 */
export type RateLimitName = 'forgot' | 'verify' | 'reset' | 'perEmail';

/** The password policy, checked on NFKC-normalized passwords before a token is consumed. */
/** What the router hands `password.isBreached` besides the password. */
export interface BreachCheckContext {
  /** For a check that accepts the password although it could not look it up: emits an `error` event. */
  reportError(error: unknown): void;
}

export interface PasswordOptions {
  /** Fewest characters (code points). @default 8 */
  minLength?: number;
  /**
   * Most characters (code points), at most 72 with bcrypt (which refuses over 72 UTF-8 bytes: that limit is enforced
   * as well); up to 1024 with your own `hashPassword`. @default 64
   */
  maxLength?: number;
  /** Lowest zxcvbn score (0–4) accepted; off when absent. */
  minStrength?: 0 | 1 | 2 | 3 | 4;
  /** Reject passwords from the bundled list of common passwords (about 49,000 entries). @default true */
  blockCommon?: boolean;
  /**
   * Resolves `true` when the password is known to be breached, e.g. `pwnedPasswords()` (a Have I Been Pwned range
   * lookup). A throw answers `503 SERVICE_UNAVAILABLE`; a check that fails open reports why through `context`.
   */
  isBreached?: (password: string, context: BreachCheckContext) => boolean | Promise<boolean>;
  /**
   * Your own rule: return `true`/`undefined` to accept, `false` or a message
   * string to reject (the message is shown to the user).
   */
  validate?: (password: string, user: User) => boolean | string | undefined | Promise<boolean | string | undefined>;
}

/** The short numeric code sent alongside the link. */
export interface CodeOptions {
  /** Turns the code flow on. @default false */
  enabled: boolean;
  /** Digits of the code (4–10). @default 6 */
  digits?: number;
  /** Wrong guesses allowed per user before codes stop working (until `tokenTtl` passes). @default 5 */
  maxAttempts?: number;
  /**
   * Trade a right code for a token: `POST /verify { email, code }` also answers `"token"`, a new single-use reset
   * token, and the code and its emailed link stop working; `POST /reset { token, password }` completes the reset.
   * `/reset { email, code, password }` keeps working (the hosted code form uses it). Needs a store with
   * `markDelivered` (every bundled store has it).
   * @default false
   */
  exchange?: boolean;
  /**
   * Lifetime of the token a code is traded for, never past the code's own expiry: milliseconds or a string such
   * as `'5m'`. Only with `exchange: true`.
   * @default '10m'
   */
  exchangeTtl?: number | string;
}

/**
 * **(0.2)** A second factor asked on `/reset` (JSON API and hosted pages) before a new password is accepted, e.g. a
 * TOTP from the user's authenticator app.
 */
export interface SecondFactorOptions {
  /**
   * Whether this account has a second factor: then `/verify` answers `"secondFactor": true` and `/reset` needs `otp`.
   * A throw answers `503 SERVICE_UNAVAILABLE` (an `error` event, stage `secondFactor.required`); nothing is consumed.
   */
  required: (user: User) => boolean | Promise<boolean>;
  /**
   * Whether `otp` is right for this account, e.g. `verify({ secret, token: otp })` of otplib. Called at most
   * `maxAttempts` times per link, counted in the token store (atomically, across instances). A throw answers `503`
   * (an `error` event, stage `secondFactor.verify`) and costs no attempt.
   */
  verify: (user: User, otp: string) => boolean | Promise<boolean>;
  /** Wrong `otp`s allowed per link; the last one removes the link (event `second_factor.locked`). @default 5 */
  maxAttempts?: number;
}

/** One email template. Each part is optional; missing parts use the built-in template. */
export interface EmailTemplate {
  subject?: string | ((data: TemplateData) => string);
  /** Must escape any user data it shows (use the `escapeHtml` export). */
  html?: (data: TemplateData) => string;
  text?: (data: TemplateData) => string;
}

/** Templates per kind; a kind may also be keyed by locale: `{ reset: { de: {...} } }`. */
export type EmailTemplates = Partial<Record<EmailKind, EmailTemplate | Record<string, EmailTemplate>>>;

/** Email settings. */
export interface EmailOptions {
  /**
   * Your app's name, shown in subjects and bodies ("Reset your Acme password"). When absent the emails are worded
   * without one ("Reset your password").
   */
  appName?: string;
  /** Overrides of the built-in templates, per kind (`reset`, `invite`, `changed`, `unknown`). */
  templates?: EmailTemplates;
  /**
   * Email the user after their password was changed. Never after an invitation: that first password was just chosen.
   * @default true
   */
  sendChangedNotice?: boolean;
  /** Send a short "no account here" email to addresses with no account. @default false */
  notifyUnknown?: boolean;
}

/** An email address: `'a@b.example'`, `'Name <a@b.example>'`, or `{ email, name }`. */
export type EmailAddress = string | { email: string; name?: string };

/** The bundled SendGrid delivery (`SendGridMailer`), on its own `@sendgrid/mail` client. */
export interface SendGridOptions {
  /** SendGrid API key (`SG.…`), e.g. `process.env.SENDGRID_API_KEY`. Never logged or put in errors. */
  apiKey: string;
  /** Sender, a verified Sender Identity: `'Acme <no-reply@acme.example>'`, an address, or `{ email, name }`. */
  from: EmailAddress;
  /** Where replies go, when not to `from`. Same forms as `from`. */
  replyTo?: EmailAddress;
  /**
   * SendGrid dynamic template ids (`d-…`) per kind; a kind without one is sent
   * with the built-in template as content. A template receives the
   * `TemplateData` fields as `dynamic_template_data`, e.g.
   * `{ reset: 'd-0123456789abcdef0123456789abcdef', invite: 'd-…' }`.
   */
  templateIds?: Partial<Record<EmailKind, string>>;
  /** Sets `mail_settings.sandbox_mode`: SendGrid validates the request and delivers nothing. @default false */
  sandboxMode?: boolean;
  /**
   * SendGrid categories for statistics (at most 10, e.g. `['password-reset']`). They are visible in SendGrid: no
   * secrets.
   */
  categories?: string[];
  /** Milliseconds to wait for SendGrid's answer; a timed-out send is not retried. @default 10000 */
  timeoutMs?: number;
  /** Further attempts after a 429 or 5xx answer (never after another 4xx or a timeout). @default 2 */
  maxRetries?: number;
  /**
   * First wait before a retry in milliseconds, doubled for each further one; a
   * longer `Retry-After` from SendGrid wins. Waits never exceed 10 s: a
   * `Retry-After` over that ends the retries. @default 500
   */
  retryDelayMs?: number;
  /** Where the API is, for tests and proxies, e.g. `'http://127.0.0.1:8025'`. @default 'https://api.sendgrid.com' */
  baseUrl?: string;
}

/** Hooks into the flow. */
export interface HookOptions {
  /**
   * Awaited after the new password is stored, e.g. to end the user's sessions. If it throws, `/reset` still answers
   * 200 (the password is changed) and the failure is an `error` event (stage `onPasswordReset`), logged when there
   * is no `onEvent`.
   */
  onPasswordReset?: (user: User, req: Request) => void | Promise<void>;
  /** Every event of the flow, for audit logs and metrics. Never carries a token, code or password. */
  onEvent?: (event: PasswordResetEvent) => void | Promise<void>;
  /**
   * Awaited on `/reset` (JSON API and hosted page) after the credential, the second factor and the password policy
   * were checked, before the token is consumed: the last word on whether this reset may happen. Throwing a
   * `PasswordResetError` answers with it (e.g. `new PasswordResetError('FORBIDDEN')`, 403) and leaves the link
   * usable; anything else thrown is answered 503 `SERVICE_UNAVAILABLE`, with an `error` event (stage `beforeReset`),
   * the link usable too.
   * @example beforeReset: async (user) => { if (await isLocked(user.id)) throw new PasswordResetError('FORBIDDEN'); }
   */
  beforeReset?: (user: User, req: Request) => void | Promise<void>;
  /**
   * Called in `/forgot`'s background work for a known account, after the answer was written (so it changes neither
   * the answer nor its timing). `false` sends nothing and emits `reset.skipped`, e.g. for accounts that sign in only
   * through an identity provider (the hook may send its own email); a throw sends nothing and is an `error` event
   * (stage `allowReset`). @default every account gets its link
   */
  allowReset?: (user: User) => boolean | Promise<boolean>;
}

/**
 * Hosted pages: `GET /forgot`, `GET /reset` (the emailed link opens it; point
 * `resetUrl` at `<your origin><mount path>/reset`) and their plain form posts.
 */
export interface PagesOptions {
  /** Site name shown above every page and in the window title. @default emails.appName, when set */
  title?: string;
  /**
   * CSS text added after the built-in stylesheet, e.g. `':root{--accent:#0a7c2f}'`
   * (inlined and allowed by its hash in the page's Content-Security-Policy).
   */
  css?: string;
  /** Page language, `'en'`, `'de'` or `'fr'` (others show English). @default negotiated from Accept-Language */
  locale?: string;
  /**
   * Where to send the browser (303) after a successful reset, e.g.
   * `'https://app.example/login'` or `'/login'`. @default a "password changed" page
   */
  successRedirect?: string;
  /**
   * **(0.2)** Where the app's sign-in page is, e.g. `'/login'` or `'https://app.example/login'`: every page gets a
   * "Back to sign in" link, and the "password changed" page leads there. @default no link
   */
  signInUrl?: string;
  /**
   * **(0.2)** An image shown above the form, e.g. `'/static/logo.svg'` or `'https://cdn.example/logo.png'`. The
   * page's Content-Security-Policy allows images from exactly that origin (`'self'` for a path). Its `alt` text is
   * `title`. @default no image
   */
  logoUrl?: string;
}

/** **(0.2)** The JSON API's endpoints, by name. */
export type EndpointName = 'forgot' | 'verify' | 'reset';

/** A path under the router's mount path, e.g. `'/reset-password'`. */
export type RoutePath = `/${string}`;

/** **(0.2)** Where each endpoint is served; `false` leaves it out. */
export type RoutesOptions = Partial<Record<EndpointName, RoutePath | false>>;

/** **(0.2)** The fields of the request bodies, by their name in this package's own API. */
export type FieldName = 'email' | 'token' | 'code' | 'password' | 'otp';

/**
 * **(0.2)** The names accepted in request bodies for each field, e.g. `{ token: ['passwordResetToken'] }`. A body
 * may use one name per field. `otp` is the second factor's code (`secondFactor`).
 */
export type FieldsOptions = Partial<Record<FieldName, readonly string[]>>;

/** An error of the JSON API as `respond` gets it: the `error` member of the default error answer. */
export interface OutcomeError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
}

/** `/forgot`'s success: the same for every well-formed address, so `respond` sees it once, at construction. */
export interface ForgotSuccessOutcome {
  endpoint: 'forgot';
  status: 202;
  body: { success: true; message: string };
}

export interface VerifySuccessOutcome {
  endpoint: 'verify';
  status: 200;
  /**
   * `kind`: what the link (or code) is for, `'reset'` or `'invite'`. `token`: with `code.exchange`, the token a right
   * code was traded for.
   * `secondFactor`: the account has a second factor, so `/reset` needs `otp`.
   */
  body: { success: true; valid: true; expiresAt: string; kind: TokenKind; token?: string; secondFactor?: true };
}

export interface ResetSuccessOutcome {
  endpoint: 'reset';
  status: 200;
  body: { success: true };
}

/** Any error answer of an endpoint (400, 405, 413, 415, 422, 429, 500, 503, ...). */
export interface ErrorOutcome<Endpoint extends EndpointName = EndpointName> {
  endpoint: Endpoint;
  status: number;
  error: OutcomeError;
}

export type SuccessOutcome = ForgotSuccessOutcome | VerifySuccessOutcome | ResetSuccessOutcome;

/**
 * **(0.2)** What `respond` maps: narrowed by `endpoint`, and by `'error' in outcome` (or `'body' in outcome`).
 */
export type RespondOutcome = SuccessOutcome | ErrorOutcome<'forgot'> | ErrorOutcome<'verify'> | ErrorOutcome<'reset'>;

/** `respond`'s answer: a status (200–599; no `body` with 204 or 304) and a body sent as JSON; no `body`: empty. */
export interface RespondAnswer {
  status: number;
  body?: unknown;
}

/** The one configuration object of `passwordReset()`. */
export interface PasswordResetOptions {
  /** Finds users and stores their new password hash. Required. */
  users: UserAdapter;
  /**
   * Where the emailed link points: a URL (the token is set as its `token`
   * query parameter) or a function building it. Required. Links never use the
   * request's `Host` header.
   */
  resetUrl: string | ((token: string, user: User) => string);
  /** A token store. @default MemoryTokenStore (a warning under NODE_ENV=production) */
  store?: TokenStore;
  /** Use the bundled MongoDB token store (and rate-limit store) on this connection. */
  mongoose?: {
    /** The app's Mongoose connection (no second connection is opened). */
    connection: MongooseConnection;
    /** Collection of the token model. @default 'password_reset_tokens' */
    collection?: string;
  };
  /** Delivers email. @default OutboxMailer (a warning under NODE_ENV=production) */
  mailer?: Mailer;
  /** Deliver through SendGrid. */
  sendgrid?: SendGridOptions;
  /**
   * Token lifetime: a string such as `'30m'` or `'1h'`, or a number of milliseconds (a number under 1000 draws a
   * warning: `30` is 30 ms, not minutes). @default '30m'
   */
  tokenTtl?: Duration;
  /**
   * The server secret codes are hashed under (HMAC-SHA-256), at least 32 characters, e.g.
   * `process.env.PASSWORD_RESET_SECRET` made by `openssl rand -base64 32`: a copy of the database alone is then not
   * enough to recover a code. Required with `code.enabled` and `store` or `mongoose` (every instance needs the same
   * one); with the default `MemoryTokenStore` a random one is made per process. Changing it invalidates outstanding
   * codes (their links keep working). Never logged or put in errors.
   */
  secret?: string;
  /** Password policy. */
  password?: PasswordOptions;
  /**
   * bcrypt cost factor, 4–31 (each step doubles the work; under 10 only for tests: warned about under
   * NODE_ENV=production). @default 12
   */
  bcryptRounds?: number;
  /** Bring your own hash instead of bcrypt (the 72-byte guard then does not apply). */
  hashPassword?: (password: string) => Promise<string>;
  /** `false` turns every limit off. @default on, see {@link RateLimitOptions} */
  rateLimit?: false | RateLimitOptions;
  /** The code flow. @default { enabled: false } */
  code?: CodeOptions;
  /**
   * **(0.2)** A second factor for accounts that have one: `/reset` then also needs `otp` (missing: `401
   * SECOND_FACTOR_REQUIRED`, wrong: `401 SECOND_FACTOR_INVALID`, the link still usable until `maxAttempts` wrong ones).
   * @default none
   */
  secondFactor?: SecondFactorOptions;
  /** Hooks. */
  hooks?: HookOptions;
  /** Email settings. */
  emails?: EmailOptions;
  /** Ready HTML pages at GET /forgot and GET /reset. @default false */
  pages?: boolean | PagesOptions;
  /** Serve the OpenAPI 3.1 document at GET /openapi.json. @default false */
  openapi?: boolean;
  /**
   * **(0.2)** Rename or leave out endpoints, e.g. `{ forgot: '/reset', reset: '/newPassword', verify: false }`. The
   * hosted pages, the OpenAPI document, the `405` answers and the limiters follow. Two endpoints may not share a
   * path. @default { forgot: '/forgot', verify: '/verify', reset: '/reset' }
   */
  routes?: RoutesOptions;
  /**
   * **(0.2)** The names accepted for each request field, e.g. `{ token: ['passwordResetToken'] }`; error
   * `details[].field` is the name the client sent. One name may not serve two fields.
   * @default { email: ['email'], token: ['token'], code: ['code'], password: ['password', 'newPassword'],
   *   otp: ['otp'] }
   */
  fields?: FieldsOptions;
  /**
   * **(0.2)** `'reject'`: a key that is no field of the endpoint is `400 VALIDATION_FAILED`; `'ignore'`: such keys
   * are dropped unread (for clients that send extras such as `passwordEncryptType`). @default 'reject'
   */
  unknownFields?: 'reject' | 'ignore';
  /**
   * **(0.2)** Maps every JSON answer of the router to your API's status and body. Headers (security, `RateLimit`,
   * `Retry-After`, `Allow`) are kept. Called once, at construction, for `/forgot`'s success (it must not depend on
   * the account). A `respond` that throws or returns no valid status gives the default `500 INTERNAL_ERROR` and an
   * `error` event (stage `respond`). The hosted pages are not affected.
   */
  respond?: (outcome: RespondOutcome) => RespondAnswer;
  /**
   * Where warnings, outbox notices and failures go; `false` silences them. Without `hooks.onEvent`, every `error` and
   * `email.failed` event is written as one line to `logger.error` (`logger.warn` when there is no `error`), and
   * outside production the per-email limit dropping a request is one `rate_limited` line at `info`. @default console
   */
  logger?: Logger | false;
  /** Clock, for tests of expiry. @default () => new Date() */
  now?: () => Date;
}
