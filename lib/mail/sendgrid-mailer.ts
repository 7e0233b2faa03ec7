/**
 * `SendGridMailer`: delivers the package's emails through SendGrid's v3 Mail
 * Send API with the official `@sendgrid/mail` client. Options are checked once,
 * at construction; each send builds one request body, retries 429/5xx answers a
 * bounded number of times and rejects with a `SendGridError` that carries
 * SendGrid's status and error messages but never the key, link or code.
 */
import type { MailService, MailDataRequired } from '@sendgrid/mail';
import type { SendGridOptions } from '../options/types';
import type { EmailKind, EmailMessage, Mailer } from './mailer';
import { MAX_RETRY_WAIT_MS, resolveSendGridOptions } from './sendgrid-options';

/** Options of {@link SendGridMailer}: the same object as the router's `sendgrid` option. */
export type SendGridMailerOptions = SendGridOptions;

/** The `@sendgrid/client` instance behind a `MailService` (typed from `setClient`, so no second import is needed). */
type SendGridClient = Parameters<MailService['setClient']>[0];

/** SendGrid's error messages kept in a `SendGridError` message: enough to act on, never a page of HTML. */
const MAX_ERRORS = 5;
const MAX_ERROR_LENGTH = 300;

/** One entry of SendGrid's `{ "errors": [...] }` answer. */
export interface SendGridErrorDetail {
  message: string;
  field?: string;
}

/**
 * A send that failed. `status` is SendGrid's HTTP status (absent for a timeout
 * or a network error, which have `code` instead); the router reports it in the
 * `email.failed` event. No property holds the key, the link or the code.
 */
export class SendGridError extends Error {
  /** HTTP status of SendGrid's last answer. */
  readonly status?: number;
  /** `ETIMEDOUT` for a timeout, else the network error's code (e.g. `ECONNREFUSED`). */
  readonly code?: string;
  /** SendGrid's error messages from the last answer. */
  readonly errors: SendGridErrorDetail[];
  /** Requests made, retries included. */
  readonly attempts: number;

  constructor(
    message: string,
    details: { status?: number; code?: string; errors?: SendGridErrorDetail[]; attempts: number },
  ) {
    super(message);
    this.name = 'SendGridError';
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    this.errors = details.errors ?? [];
    this.attempts = details.attempts;
  }
}

/** What one failed request tells us, read from `@sendgrid/client`'s `ResponseError` or axios' error. */
interface Failure {
  status?: number;
  statusText?: string;
  code?: string;
  errors: SendGridErrorDetail[];
  retryAfter?: string;
  /** For errors raised before any request (the client refusing the data). */
  message?: string;
}

/**
 * Milliseconds a `Retry-After` value (delta-seconds or an HTTP date) asks for; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before retry number `retry` (1-based): `retryDelayMs`
 * doubled per retry, or SendGrid's longer `Retry-After`. `undefined` means do
 * not retry: SendGrid asked for a longer wait than {@link MAX_RETRY_WAIT_MS}.
 */
export function retryWait(
  retry: number,
  retryDelayMs: number,
  retryAfter: string | undefined,
  now: number = Date.now(),
): number | undefined {
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== undefined && asked > MAX_RETRY_WAIT_MS) return undefined;
  const backoff = Math.min(retryDelayMs * 2 ** (retry - 1), MAX_RETRY_WAIT_MS);
  return Math.max(backoff, asked ?? 0);
}

function readFailure(error: unknown): Failure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    response?: { headers?: Record<string, unknown>; body?: unknown };
  };
  // @sendgrid/client's ResponseError: `code` is the HTTP status, `message` the status text, `response.body` the JSON
  // answer.
  if (typeof e.code === 'number') {
    const body = e.response?.body as { errors?: unknown } | undefined;
    const errors = Array.isArray(body?.errors)
      ? body.errors.slice(0, MAX_ERRORS).flatMap((entry: unknown) => {
          const { message, field } = (entry ?? {}) as { message?: unknown; field?: unknown };
          if (typeof message !== 'string') return [];
          return [
            {
              message: message.slice(0, MAX_ERROR_LENGTH),
              ...(typeof field === 'string' && field ? { field: field.slice(0, 100) } : {}),
            },
          ];
        })
      : [];
    const retryAfter = e.response?.headers?.['retry-after'];
    return {
      status: e.code,
      statusText: typeof e.message === 'string' ? e.message : undefined,
      errors,
      ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
    };
  }
  // axios' errors carry the request config (with the Authorization header): only the code and message are read.
  if (typeof e.code === 'string') {
    const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
    return {
      code: timedOut ? 'ETIMEDOUT' : e.code,
      errors: [],
      message: typeof e.message === 'string' ? e.message : undefined,
    };
  }
  return { errors: [], message: error instanceof Error ? error.message : String(error) };
}

/**
 * Delivers emails through SendGrid. Each instance has its own `@sendgrid/mail`
 * client, so two routers with two keys never share one.
 *
 * A message is sent with its built-in (or `emails.templates`) subject, text and
 * HTML, or, when `templateIds` has an id for its kind, as that dynamic template
 * with the message's `TemplateData` as `dynamic_template_data`.
 */
export class SendGridMailer implements Mailer {
  private readonly service: MailService;
  private readonly apiKey: string;
  private readonly from: { email: string; name?: string };
  private readonly replyTo?: { email: string; name?: string };
  private readonly templateIds: Partial<Record<EmailKind, string>>;
  private readonly categories?: string[];
  private readonly sandboxMode: boolean;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly waits = new Set<{ timer: NodeJS.Timeout; done: (proceed: boolean) => void }>();
  private closed = false;

  constructor(options: SendGridMailerOptions) {
    const settings = resolveSendGridOptions(options);
    this.apiKey = settings.apiKey;
    this.from = settings.from;
    if (settings.replyTo) this.replyTo = settings.replyTo;
    this.templateIds = settings.templateIds;
    if (settings.categories) this.categories = settings.categories;
    this.sandboxMode = settings.sandboxMode;
    this.timeoutMs = settings.timeoutMs;
    this.maxRetries = settings.maxRetries;
    this.retryDelayMs = settings.retryDelayMs;
    const baseUrl = settings.baseUrl;

    // Loaded here, not at import: the client and axios cost ~80 ms and ~20 MB at startup, which apps that never
    // construct a SendGridMailer should not pay. Options are checked first, so a bad option still throws first.
    // The module's export is its default MailService instance, which carries the class.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    this.service = new (require('@sendgrid/mail') as { MailService: new () => MailService }).MailService();
    this.service.setApiKey(this.apiKey);
    this.service.setTimeout(this.timeoutMs);
    // setApiKey resets the base URL to SendGrid's, so ours is set after it. MailService keeps its client in `client`.
    if (baseUrl)
      (this.service as unknown as { client: SendGridClient }).client.setDefaultRequest('baseUrl', `${baseUrl}/`);
  }

  async send(message: EmailMessage): Promise<void> {
    let attempts = 0;
    for (;;) {
      if (this.closed)
        throw new SendGridError(`SendGrid mailer is closed; the "${message.kind}" email was not sent`, { attempts });
      attempts += 1;
      let failure: Failure;
      try {
        await this.service.send(this.body(message));
        return;
      } catch (error) {
        failure = readFailure(error);
      }
      const retryable = failure.status !== undefined && (failure.status === 429 || failure.status >= 500);
      if (!retryable || attempts > this.maxRetries) throw this.toError(message, failure, attempts);
      const wait = retryWait(attempts, this.retryDelayMs, failure.retryAfter);
      if (wait === undefined) {
        const asked = Math.round((parseRetryAfter(failure.retryAfter) ?? 0) / 1000);
        throw this.toError(
          message,
          failure,
          attempts,
          `; not retried: Retry-After asked for ${asked} s, more than the ${MAX_RETRY_WAIT_MS / 1000} s this mailer waits`,
        );
      }
      if (!(await this.sleep(wait))) throw this.toError(message, failure, attempts, '; retry cancelled by close()');
    }
  }

  /** Cancels waiting retries (their sends reject); a request in flight ends within `timeoutMs`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wait of this.waits) {
      clearTimeout(wait.timer);
      wait.done(false);
    }
    this.waits.clear();
  }

  /** The Mail Send body, in `@sendgrid/mail`'s camelCase form (it writes the snake_case JSON). */
  private body(message: EmailMessage): MailDataRequired {
    const common = {
      to: message.to,
      from: this.from,
      ...(this.replyTo ? { replyTo: this.replyTo } : {}),
      ...(this.categories ? { categories: this.categories } : {}),
      ...(this.sandboxMode ? { mailSettings: { sandboxMode: { enable: true } } } : {}),
      // Click tracking would route the reset link (and its token) through SendGrid's redirect domain and logs.
      trackingSettings: { clickTracking: { enable: false, enableText: false } },
      // The client warns on console about '"& in template data; our values are data, escaped by the template's {{ }}.
      hideWarnings: true,
    };
    const templateId = this.templateIds[message.kind];
    if (templateId) return { ...common, templateId, dynamicTemplateData: { ...message.data } };
    return { ...common, subject: message.subject, text: message.text, html: message.html };
  }

  private toError(message: EmailMessage, failure: Failure, attempts: number, note = ''): SendGridError {
    const tries = attempts === 1 ? '' : ` after ${attempts} attempts`;
    let text: string;
    if (failure.status !== undefined) {
      const detail = failure.errors.map((e) => (e.field ? `${e.message} (${e.field})` : e.message)).join('; ');
      text = `SendGrid refused the "${message.kind}" email${tries}: ${failure.status}${failure.statusText ? ` ${failure.statusText}` : ''}${detail ? `: ${detail}` : ''}${note}`;
    } else if (failure.code === 'ETIMEDOUT') {
      text = `SendGrid did not answer the "${message.kind}" email within ${this.timeoutMs} ms${tries} (not retried: it may still be delivered)`;
    } else {
      text = `Sending the "${message.kind}" email to SendGrid failed${tries}: ${failure.message ?? failure.code ?? 'unknown error'}`;
    }
    return new SendGridError(this.redact(text, message), {
      status: failure.status,
      code: failure.code,
      errors: failure.errors.map((e) => ({ ...e, message: this.redact(e.message, message) })),
      attempts,
    });
  }

  /** SendGrid may quote what it was sent: the key, link and code never leave through an error. */
  private redact(text: string, message: EmailMessage): string {
    let out = text.split(this.apiKey).join('[redacted]');
    for (const secret of [message.data.resetUrl, message.data.code]) {
      if (secret) out = out.split(secret).join('[redacted]');
    }
    return out;
  }

  /** Resolves `true` after `ms`, or `false` when `close()` cancels the wait. */
  private sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wait = {
        timer: setTimeout(() => {
          this.waits.delete(wait);
          resolve(true);
        }, ms),
        done: resolve,
      };
      this.waits.add(wait);
    });
  }
}
