/**
 * The `sendgrid` option (the options of `SendGridMailer`): checked once and
 * turned into the values a send uses.
 */
import { OptionsError, describeValue } from '../core/errors';
import { checkBoolean, checkHttpUrl, checkInteger, checkObject, checkString, invalidOption } from '../options/checks';
import type { SendGridOptions } from '../options/types';
import { EMAIL_KINDS, type EmailKind } from './mailer';

/** What the optional settings are when absent. */
export const SENDGRID_DEFAULTS = { timeoutMs: 10_000, maxRetries: 2, retryDelayMs: 500 } as const;
/**
 * The longest wait before a retry. A `Retry-After` beyond it ends the retries: the send is background work and
 * `close()` waits for it.
 */
export const MAX_RETRY_WAIT_MS = 10_000;
/** Every key of the `sendgrid` option. */
export const SENDGRID_OPTION_KEYS = [
  'apiKey',
  'from',
  'replyTo',
  'templateIds',
  'sandboxMode',
  'categories',
  'timeoutMs',
  'maxRetries',
  'retryDelayMs',
  'baseUrl',
] as const;
// SendGrid keys are "SG.<id>.<secret>" in base64url characters. Only the prefix and the alphabet are checked (as
// @sendgrid/mail itself checks the prefix), so short placeholder keys in tests and sandboxes still work.
const API_KEY = /^SG\.[A-Za-z0-9_.-]+$/;
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;
const NAMED_ADDRESS = /^\s*"?([^"<>]*?)"?\s*<([^<>]+)>\s*$/;

/** An address as SendGrid's API takes it. */
export interface SendGridAddress {
  email: string;
  name?: string;
}

/** The `sendgrid` option with every default filled in. */
export interface ResolvedSendGridOptions {
  apiKey: string;
  from: SendGridAddress;
  replyTo?: SendGridAddress;
  templateIds: Partial<Record<EmailKind, string>>;
  categories?: string[];
  sandboxMode: boolean;
  timeoutMs: number;
  maxRetries: number;
  retryDelayMs: number;
  /** Origin and path without a trailing slash, when not SendGrid's own. */
  baseUrl?: string;
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
    invalidOption(
      option,
      `must be an address such as 'Acme <no-reply@acme.example>' or { email, name }, got ${describeValue(value)}`,
    );
  }
  if (typeof email !== 'string' || !ADDRESS.test(email)) {
    const shown = typeof email === 'string' ? `"${email}"` : describeValue(email);
    invalidOption(option, `must hold a valid email address such as 'Acme <no-reply@acme.example>', got ${shown}`);
  }
  return name === undefined ? { email } : { email, name: name as string };
}

function checkApiKey(value: unknown): string {
  const option = 'sendgrid.apiKey';
  if (value === undefined || value === '') {
    throw new OptionsError(
      'ERR_EPR_OPTION_REQUIRED',
      option,
      'is required: your SendGrid API key, e.g. process.env.SENDGRID_API_KEY',
    );
  }
  if (typeof value !== 'string') invalidOption(option, `must be a string, got ${describeValue(value)}`);
  // Never the key itself in the message: its length and the expected shape are enough to spot the mistake.
  if (/\s/.test(value))
    invalidOption(option, `contains whitespace (a stray newline from a .env file?); got ${describeValue(value)}`);
  if (!API_KEY.test(value))
    invalidOption(option, `must be a SendGrid API key of the form "SG.<id>.<secret>", got ${describeValue(value)}`);
  return value;
}

function checkTemplateIds(value: unknown): Partial<Record<EmailKind, string>> {
  if (value === undefined) return {};
  const ids = checkObject('sendgrid.templateIds', value, EMAIL_KINDS);
  for (const [kind, id] of Object.entries(ids)) {
    // Legacy template ids do not take dynamic_template_data: only dynamic ("d-") templates can show the link.
    if (typeof id !== 'string' || !/^d-[0-9a-f]{32}$/i.test(id)) {
      invalidOption(
        `sendgrid.templateIds.${kind}`,
        `must be a dynamic template id such as 'd-0123456789abcdef0123456789abcdef', got ${typeof id === 'string' ? `"${id}"` : describeValue(id)}`,
      );
    }
  }
  return ids;
}

function checkCategories(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 10)
    invalidOption('sendgrid.categories', `must be an array of at most 10 strings, got ${describeValue(value)}`);
  value.forEach((category: unknown, i) => {
    if (typeof category !== 'string' || category.length === 0 || category.length > 255) {
      invalidOption(
        `sendgrid.categories[${i}]`,
        `must be a string of 1 to 255 characters, got ${describeValue(category)}`,
      );
    }
  });
  return value.length > 0 ? [...(value as string[])] : undefined;
}

function checkBaseUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  checkString('sendgrid.baseUrl', value);
  const url = checkHttpUrl('sendgrid.baseUrl', value as string, 'http://127.0.0.1:8025');
  return url.origin + url.pathname.replace(/\/$/, '');
}

/** Checks the `sendgrid` option; throws an `OptionsError` naming the first mistake. */
export function resolveSendGridOptions(options: SendGridOptions): ResolvedSendGridOptions {
  const o = checkObject('sendgrid', options, SENDGRID_OPTION_KEYS);
  const apiKey = checkApiKey(o.apiKey);
  if (o.from === undefined)
    throw new OptionsError(
      'ERR_EPR_OPTION_REQUIRED',
      'sendgrid.from',
      "is required: a verified sender such as 'Acme <no-reply@acme.example>'",
    );
  const from = parseAddress('sendgrid.from', o.from);
  const replyTo = o.replyTo === undefined ? undefined : parseAddress('sendgrid.replyTo', o.replyTo);
  const templateIds = checkTemplateIds(o.templateIds);
  const categories = checkCategories(o.categories);
  checkBoolean('sendgrid.sandboxMode', o.sandboxMode);
  const sandboxMode = o.sandboxMode === true;
  checkInteger('sendgrid.timeoutMs', o.timeoutMs, 1, 300_000);
  checkInteger('sendgrid.maxRetries', o.maxRetries, 0, 10);
  checkInteger('sendgrid.retryDelayMs', o.retryDelayMs, 0, MAX_RETRY_WAIT_MS);
  const timeoutMs = (o.timeoutMs as number | undefined) ?? SENDGRID_DEFAULTS.timeoutMs;
  const maxRetries = (o.maxRetries as number | undefined) ?? SENDGRID_DEFAULTS.maxRetries;
  const retryDelayMs = (o.retryDelayMs as number | undefined) ?? SENDGRID_DEFAULTS.retryDelayMs;
  const baseUrl = checkBaseUrl(o.baseUrl);

  return {
    apiKey,
    from,
    templateIds,
    sandboxMode,
    timeoutMs,
    maxRetries,
    retryDelayMs,
    ...(replyTo ? { replyTo } : {}),
    ...(categories ? { categories } : {}),
    ...(baseUrl ? { baseUrl } : {}),
  };
}
