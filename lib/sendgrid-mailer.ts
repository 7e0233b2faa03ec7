/**
 * `SendGridMailer`: delivers the package's emails through SendGrid's v3 Mail
 * Send API with the official `@sendgrid/mail` client. Options are checked once,
 * at construction; each send builds one request body, retries 429/5xx answers a
 * bounded number of times and rejects with a `SendGridError` that carries
 * SendGrid's status and error messages but never the key, link or code.
 */
import { MailService, type MailDataRequired } from '@sendgrid/mail';
import { OptionsError, describeValue } from './errors';
import type { EmailKind, EmailMessage, Mailer } from './mailer';
import type { EmailAddress, SendGridOptions } from './types';
import { checkBoolean, checkInteger, checkObject, checkString } from './validations';

/** Options of {@link SendGridMailer}: the same object as the router's `sendgrid` option. */
export type SendGridMailerOptions = SendGridOptions;

/** The `@sendgrid/client` instance behind a `MailService` (typed from `setClient`, so no second import is needed). */
type SendGridClient = Parameters<MailService['setClient']>[0];

const DEFAULTS = { timeoutMs: 10_000, maxRetries: 2, retryDelayMs: 500 } as const;
/** The longest wait before a retry. A `Retry-After` beyond it ends the retries: the send is background work and `close()` waits for it. */
export const MAX_RETRY_WAIT_MS = 10_000;
const KEYS = ['apiKey', 'from', 'replyTo', 'templateIds', 'sandboxMode', 'categories', 'timeoutMs', 'maxRetries', 'retryDelayMs', 'baseUrl'] as const;
const KINDS: readonly EmailKind[] = ['reset', 'changed', 'unknown'];
// SendGrid keys are "SG.<id>.<secret>" in base64url characters. Only the prefix and the alphabet are checked (as
// @sendgrid/mail itself checks the prefix), so short placeholder keys in tests and sandboxes still work.
const API_KEY = /^SG\.[A-Za-z0-9_.-]+$/;
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;
const NAMED_ADDRESS = /^\s*"?([^"<>]*?)"?\s*<([^<>]+)>\s*$/;
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

  constructor(message: string, details: { status?: number; code?: string; errors?: SendGridErrorDetail[]; attempts: number }) {
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

function fail(option: string, message: string): never {
  throw new OptionsError('ERR_EPR_OPTION_INVALID', option, message);
}

function parseAddress(option: string, value: unknown): { email: string; name?: string } {
  let email: unknown;
  let name: unknown;
  if (typeof value === 'string') {
    const named = NAMED_ADDRESS.exec(value);
    email = named ? named[2]!.trim() : value.trim();
    name = named?.[1]?.trim() || undefined;
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const address = checkObject(option, value, ['email', 'name']);
    checkString(`${option}.name`, address.name);
    email = address.email;
    name = address.name;
  } else {
    fail(option, `must be an address such as 'Acme <no-reply@acme.example>' or { email, name }, got ${describeValue(value)}`);
  }
  if (typeof email !== 'string' || !ADDRESS.test(email)) {
    const shown = typeof email === 'string' ? `"${email}"` : describeValue(email);
    fail(option, `must hold a valid email address such as 'Acme <no-reply@acme.example>', got ${shown}`);
  }
  return name === undefined ? { email } : { email, name: name as string };
}

function checkApiKey(value: unknown): string {
  const option = 'sendgrid.apiKey';
  if (value === undefined || value === '') {
    throw new OptionsError('ERR_EPR_OPTION_REQUIRED', option, 'is required: your SendGrid API key, e.g. process.env.SENDGRID_API_KEY');
  }
  if (typeof value !== 'string') fail(option, `must be a string, got ${describeValue(value)}`);
  // Never the key itself in the message: its length and the expected shape are enough to spot the mistake.
  if (/\s/.test(value)) fail(option, `contains whitespace (a stray newline from a .env file?); got ${describeValue(value)}`);
  if (!API_KEY.test(value)) fail(option, `must be a SendGrid API key of the form "SG.<id>.<secret>", got ${describeValue(value)}`);
  return value;
}

function checkTemplateIds(value: unknown): Partial<Record<EmailKind, string>> {
  if (value === undefined) return {};
  const ids = checkObject('sendgrid.templateIds', value, KINDS);
  for (const [kind, id] of Object.entries(ids)) {
    // Legacy template ids do not take dynamic_template_data: only dynamic ("d-") templates can show the link.
    if (typeof id !== 'string' || !/^d-[0-9a-f]{32}$/i.test(id)) {
      fail(`sendgrid.templateIds.${kind}`, `must be a dynamic template id such as 'd-0123456789abcdef0123456789abcdef', got ${typeof id === 'string' ? `"${id}"` : describeValue(id)}`);
    }
  }
  return ids as Partial<Record<EmailKind, string>>;
}

function checkCategories(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 10) fail('sendgrid.categories', `must be an array of at most 10 strings, got ${describeValue(value)}`);
  value.forEach((category: unknown, i) => {
    if (typeof category !== 'string' || category.length === 0 || category.length > 255) {
      fail(`sendgrid.categories[${i}]`, `must be a string of 1 to 255 characters, got ${describeValue(category)}`);
    }
  });
  return value.length > 0 ? [...(value as string[])] : undefined;
}

function checkBaseUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  checkString('sendgrid.baseUrl', value);
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    fail('sendgrid.baseUrl', `must be an absolute http(s) URL such as 'http://127.0.0.1:8025', got "${String(value)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('sendgrid.baseUrl', `must use http or https, got "${url.protocol}"`);
  return url.origin + url.pathname.replace(/\/$/, '');
}

/** Milliseconds a `Retry-After` value (delta-seconds or an HTTP date) asks for; `undefined` when absent or unreadable. */
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
export function retryWait(retry: number, retryDelayMs: number, retryAfter: string | undefined, now: number = Date.now()): number | undefined {
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== undefined && asked > MAX_RETRY_WAIT_MS) return undefined;
  const backoff = Math.min(retryDelayMs * 2 ** (retry - 1), MAX_RETRY_WAIT_MS);
  return Math.max(backoff, asked ?? 0);
}

function readFailure(error: unknown): Failure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown; message?: unknown; response?: { headers?: Record<string, unknown>; body?: unknown };
  };
  // @sendgrid/client's ResponseError: `code` is the HTTP status, `message` the status text, `response.body` the JSON answer.
  if (typeof e.code === 'number') {
    const body = e.response?.body as { errors?: unknown } | undefined;
    const errors = Array.isArray(body?.errors) ? body.errors.slice(0, MAX_ERRORS).flatMap((entry: unknown) => {
      const { message, field } = (entry ?? {}) as { message?: unknown; field?: unknown };
      if (typeof message !== 'string') return [];
      return [{ message: message.slice(0, MAX_ERROR_LENGTH), ...(typeof field === 'string' && field ? { field: field.slice(0, 100) } : {}) }];
    }) : [];
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
    return { code: timedOut ? 'ETIMEDOUT' : e.code, errors: [], message: typeof e.message === 'string' ? e.message : undefined };
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
  private readonly service = new MailService();
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
    const o = checkObject('sendgrid', options, KEYS);
    this.apiKey = checkApiKey(o.apiKey);
    if (o.from === undefined) throw new OptionsError('ERR_EPR_OPTION_REQUIRED', 'sendgrid.from', "is required: a verified sender such as 'Acme <no-reply@acme.example>'");
    this.from = parseAddress('sendgrid.from', o.from);
    if (o.replyTo !== undefined) this.replyTo = parseAddress('sendgrid.replyTo', o.replyTo as EmailAddress);
    this.templateIds = checkTemplateIds(o.templateIds);
    this.categories = checkCategories(o.categories);
    checkBoolean('sendgrid.sandboxMode', o.sandboxMode);
    this.sandboxMode = o.sandboxMode === true;
    checkInteger('sendgrid.timeoutMs', o.timeoutMs, 1, 300_000);
    checkInteger('sendgrid.maxRetries', o.maxRetries, 0, 10);
    checkInteger('sendgrid.retryDelayMs', o.retryDelayMs, 0, MAX_RETRY_WAIT_MS);
    this.timeoutMs = (o.timeoutMs as number | undefined) ?? DEFAULTS.timeoutMs;
    this.maxRetries = (o.maxRetries as number | undefined) ?? DEFAULTS.maxRetries;
    this.retryDelayMs = (o.retryDelayMs as number | undefined) ?? DEFAULTS.retryDelayMs;
    const baseUrl = checkBaseUrl(o.baseUrl);

    this.service.setApiKey(this.apiKey);
    this.service.setTimeout(this.timeoutMs);
    // setApiKey resets the base URL to SendGrid's, so ours is set after it. MailService keeps its client in `client`.
    if (baseUrl) (this.service as unknown as { client: SendGridClient }).client.setDefaultRequest('baseUrl', `${baseUrl}/`);
  }

  async send(message: EmailMessage): Promise<void> {
    let attempts = 0;
    for (;;) {
      if (this.closed) throw new SendGridError(`SendGrid mailer is closed; the "${message.kind}" email was not sent`, { attempts });
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
        throw this.toError(message, failure, attempts, `; not retried: Retry-After asked for ${asked} s, more than the ${MAX_RETRY_WAIT_MS / 1000} s this mailer waits`);
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
