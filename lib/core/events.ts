/**
 * What happened, told to the app: the event types `hooks.onEvent` receives, the
 * sink that delivers them, and the scrubbing that keeps secrets out of them.
 */
import type { EmailKind } from '../mail/mailer';
import type { RateLimitName } from '../options/types';
import type { TokenKind } from '../stores/token-store';

/** Where warnings go. */
export interface Logger {
  /** Failures after the answer was sent (`error` and `email.failed` events, when there is no `hooks.onEvent`). */
  error?(message: string): void;
  warn(message: string): void;
  info(message: string): void;
}

/** Fields every event has. */
interface EventBase {
  /** When it happened. */
  at: Date;
  /** Client IP (`req.ip`, so it honours `trust proxy`), when the event comes from a request. */
  ip?: string;
}

/**
 * Every event `hooks.onEvent` receives. None carries a token, code, link or password.
 * - `reset.requested`: a link is being sent to a known user (`kind`: `'reset'`, or `'invite'` for an invitation).
 * - `reset.unknown_email`: `/forgot` for an address with no account.
 * - `reset.skipped`: `hooks.allowReset` returned `false` for a known account; nothing was sent.
 * - `email.sent` / `email.failed`: delivery of one email.
 * - `rate_limited`: a per-IP limit answered 429, or the per-email limit silently dropped a request.
 * - `verify.failed`: a token or code was refused on `/verify` or `/reset`.
 * - `code.locked`: a user's wrong-code attempts reached `code.maxAttempts`.
 * - `code.exchanged`: with `code.exchange`, a right code was traded for a new token (the code and link are dead).
 * - `second_factor.locked`: a link got `secondFactor.maxAttempts` wrong `otp`s and was removed.
 * - `password.rejected`: a new password broke the policy (the rules, never the password).
 * - `reset.completed`: a password was changed (`kind`: through a reset link or code, or an invitation).
 * - `error`: background or dependency work failed (store, user adapter, hook).
 */
export type PasswordResetEvent =
  /** `issuedBy: 'app'`: by `router.sendResetLink` / `createResetLink`, not by a `/forgot` request. */
  | (EventBase & { type: 'reset.requested'; userId: string; email: string; kind: TokenKind; issuedBy?: 'app' })
  | (EventBase & { type: 'reset.unknown_email'; email: string })
  | (EventBase & { type: 'reset.skipped'; userId: string })
  | (EventBase & { type: 'email.sent'; kind: EmailKind; to: string; userId?: string })
  | (EventBase & { type: 'email.failed'; kind: EmailKind; to: string; userId?: string; error: EventError })
  | (EventBase & { type: 'rate_limited'; limiter: RateLimitName; email?: string })
  | (EventBase & {
      type: 'verify.failed';
      endpoint: 'verify' | 'reset';
      /** `otp_missing` / `otp_wrong`: a right credential, but the second factor was missing or wrong. */
      reason: 'invalid' | 'expired' | 'wrong_code' | 'locked' | 'otp_missing' | 'otp_wrong';
      userId?: string;
    })
  | (EventBase & { type: 'code.locked'; userId: string })
  | (EventBase & { type: 'code.exchanged'; userId: string })
  | (EventBase & { type: 'second_factor.locked'; userId: string })
  | (EventBase & { type: 'password.rejected'; userId: string; rules: string[] })
  /** `late`: the password write had failed (the answer was 503) and landed afterwards; the reset was then finished. */
  | (EventBase & { type: 'reset.completed'; userId: string; kind: TokenKind; late?: true })
  /** A token consumed by a `/reset` that failed before the password changed was put back: the link works again. */
  | (EventBase & { type: 'token.restored'; userId: string })
  | (EventBase & { type: 'error'; stage: string; error: EventError });

/** An error as events carry it: no stack, no secrets. */
export interface EventError {
  name: string;
  message: string;
  /** HTTP status of a failed delivery, when there is one. */
  status?: number;
  /** A system or driver error code such as `ETIMEDOUT` or `ECONNREFUSED`, when there is one. */
  code?: string;
}

/** The event type names. */
export type PasswordResetEventType = PasswordResetEvent['type'];

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** An event before the emitter stamps it with `at`. */
export type EventInput = Without<PasswordResetEvent, 'at'>;

// Tokens are 43 base64url characters; bcrypt hashes start with $2a$/$2b$/$2y$. Neither may leave through an error
// message.
const SECRET_PATTERNS = [/\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}/g, /[A-Za-z0-9_-]{43,}/g];

/**
 * An error reduced to what an event may carry: name, a scrubbed message and an HTTP status.
 * `secrets` are values the caller knows are in play (a link, a code): short ones no pattern can catch.
 */
export function toEventError(error: unknown, secrets: (string | undefined)[] = []): EventError {
  const source = error instanceof Error ? error : new Error(String(error));
  let message = source.message;
  for (const secret of secrets) if (secret) message = message.split(secret).join('[redacted]');
  for (const pattern of SECRET_PATTERNS) message = message.replace(pattern, '[redacted]');
  const { status: rawStatus, code } = source as { code?: unknown; status?: unknown };
  const status = rawStatus ?? code;
  return {
    name: source.name,
    message,
    ...(typeof status === 'number' ? { status } : {}),
    // Node's and the drivers' string codes (ETIMEDOUT, ECONNREFUSED) tell a timeout from a refusal without parsing
    // messages.
    ...(typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? { code } : {}),
  };
}

/** The keys of the secrets in a request body under the default field names (the hosted pages' forms use them). */
export const SECRET_KEYS: readonly string[] = ['token', 'code', 'password', 'newPassword', 'otp'];

/**
 * The secrets a request body may carry (token, code, password as typed, as NFKC and trimmed), to scrub from error
 * messages.
 * `keys`: where they are, with the names of `fields` when the app renamed them.
 */
export function secretsOfBody(body: unknown, keys: readonly string[] = SECRET_KEYS): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const fields = body as Record<string, unknown>;
  const values = keys.map((key) => fields[key]).filter((value): value is string => typeof value === 'string');
  // The hosted pages trim the code and otp they hand on: a dependency's message may quote the trimmed value.
  const trimmed = values.map((value) => value.trim()).filter((value) => value.length > 0);
  return [...new Set([...values, ...values.map((value) => value.normalize('NFKC')), ...trimmed])];
}

/** One log line for an event nobody else hears about; `undefined`: not one to log. */
function logLine(event: EventInput, logRateLimited: boolean): { level: 'error' | 'info'; text: string } | undefined {
  const error = (e: EventError): string =>
    `${e.name}: ${e.message}${e.status === undefined ? '' : ` (status ${e.status})`}${e.code ? ` (${e.code})` : ''}`;
  switch (event.type) {
    case 'error':
      return { level: 'error', text: `error in ${event.stage}: ${error(event.error)}` };
    case 'email.failed': {
      const user = event.userId === undefined ? '' : ` for user ${event.userId}`;
      return { level: 'error', text: `a "${event.kind}" email${user} was not delivered: ${error(event.error)}` };
    }
    case 'rate_limited':
      if (!logRateLimited || event.limiter !== 'perEmail') return undefined;
      return {
        level: 'info',
        text: `rate_limited: perEmail limit reached for ${event.email ?? 'an address'}, no email sent`,
      };
    default:
      return undefined;
  }
}

/** What {@link EventSink} logs when there is no `hooks.onEvent`. */
export interface EventSinkOptions {
  /** Log the per-email limit dropping a request (at `info`): for development, where a missing email puzzles. */
  logRateLimited?: boolean;
}

/**
 * Delivers events to `hooks.onEvent`; a throwing hook is logged and never breaks the flow. Without a hook, failures
 * (`error`, `email.failed`) are logged, so that work after the answer never fails silently.
 */
export class EventSink {
  private readonly logRateLimited: boolean;

  constructor(
    private readonly onEvent: ((event: PasswordResetEvent) => void | Promise<void>) | undefined,
    private readonly logger: Logger | false,
    options: EventSinkOptions = {},
  ) {
    this.logRateLimited = options.logRateLimited ?? false;
  }

  emit(input: EventInput): void {
    if (!this.onEvent) return this.log(input);
    const event = { ...input, at: new Date() };
    try {
      const result = this.onEvent(event);
      if (result && typeof result.then === 'function')
        result.then(undefined, (error: unknown) => this.hookFailed(error));
    } catch (error) {
      this.hookFailed(error);
    }
  }

  // Events carry no secrets (their errors went through toEventError), so neither does the line.
  private log(input: EventInput): void {
    const { logger } = this;
    if (!logger) return;
    const line = logLine(input, this.logRateLimited);
    if (!line) return;
    // One line whatever the error said: a message with line breaks could forge log lines of its own.
    const flat = line.text.replace(/\p{Cc}+/gu, ' ');
    const text = `[express-password-reset] ${flat} (set hooks.onEvent to handle events yourself)`;
    if (line.level === 'info') logger.info(text);
    else if (logger.error) logger.error(text);
    else logger.warn(text);
  }

  private hookFailed(error: unknown): void {
    if (this.logger) this.logger.warn(`[express-password-reset] hooks.onEvent threw: ${toEventError(error).message}`);
  }
}
