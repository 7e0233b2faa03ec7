/**
 * `pwnedPasswords()`: a `password.isBreached` check against the Have I Been Pwned range API. k-anonymity: only the
 * first 5 hex digits of the password's SHA-1 leave the process; the service answers every suffix it knows under that
 * prefix (padded with fake zero-count entries so the answer's size says nothing), and the match is made here.
 */
import { createHash } from 'node:crypto';
import { checkHttpUrl, checkObject, checkPositiveInteger, checkString, invalidOption } from '../options/checks';
import type { BreachCheckContext } from '../options/types';
import { describeValue } from './errors';

export const PWNED_PASSWORDS_DEFAULTS = {
  baseUrl: 'https://api.pwnedpasswords.com',
  timeoutMs: 2000,
  minCount: 1,
  userAgent: 'express-password-reset',
  onError: 'reject',
} as const;

const ON_ERROR_VALUES = ['reject', 'allow'] as const;

export interface PwnedPasswordsOptions {
  /** Where the range API lives (tests point it at a local server); `/range/{prefix}` is appended. */
  baseUrl?: string;
  /** How long one lookup may take, answer included, before it counts as failed. @default 2000 */
  timeoutMs?: number;
  /** Fewest breaches a password must appear in to be refused. @default 1 */
  minCount?: number;
  /** The `User-Agent` header, which HIBP asks every client to send. @default 'express-password-reset' */
  userAgent?: string;
  /**
   * What a failed lookup (unreachable, slower than `timeoutMs`, an answer other than 200, an answer not in the range
   * format) means. `'reject'` (fail closed): the lookup throws, so `/reset` answers `503 SERVICE_UNAVAILABLE` and the
   * link stays usable. `'allow'` (fail open): the password is treated as not breached and the router emits an `error`
   * event (stage `password.isBreached`).
   * @default 'reject'
   */
  onError?: 'reject' | 'allow';
}

export type PwnedPasswordsErrorCode =
  'ERR_EPR_PWNED_TIMEOUT' | 'ERR_EPR_PWNED_UNREACHABLE' | 'ERR_EPR_PWNED_STATUS' | 'ERR_EPR_PWNED_BAD_RESPONSE';

/** A failed range lookup. Its message never holds the password, its hash or the prefix. */
export class PwnedPasswordsError extends Error {
  constructor(
    readonly code: PwnedPasswordsErrorCode,
    message: string,
    /** The HTTP status, for `ERR_EPR_PWNED_STATUS`. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PwnedPasswordsError';
  }
}

const RANGE_LINE = /^([0-9A-F]{35}):(\d+)$/i;

function checkOptions(options: unknown): Required<PwnedPasswordsOptions> {
  const given = checkObject('pwnedPasswords', options, Object.keys(PWNED_PASSWORDS_DEFAULTS)) as PwnedPasswordsOptions;
  checkString('pwnedPasswords.baseUrl', given.baseUrl);
  checkString('pwnedPasswords.userAgent', given.userAgent);
  const baseUrl = given.baseUrl ?? PWNED_PASSWORDS_DEFAULTS.baseUrl;
  const url = checkHttpUrl('pwnedPasswords.baseUrl', baseUrl, PWNED_PASSWORDS_DEFAULTS.baseUrl);
  // fetch refuses credentials in a URL, and a query or fragment would swallow the `/range/…` path appended to it.
  if (url.username || url.password || url.search || url.hash)
    invalidOption('pwnedPasswords.baseUrl', 'must be a plain URL without credentials, a query or a fragment');
  if (given.onError !== undefined && !ON_ERROR_VALUES.includes(given.onError)) {
    invalidOption('pwnedPasswords.onError', `must be 'reject' or 'allow', got ${describeValue(given.onError)}`);
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    timeoutMs: checkPositiveInteger('pwnedPasswords.timeoutMs', given.timeoutMs, PWNED_PASSWORDS_DEFAULTS.timeoutMs),
    minCount: checkPositiveInteger('pwnedPasswords.minCount', given.minCount, PWNED_PASSWORDS_DEFAULTS.minCount),
    userAgent: given.userAgent ?? PWNED_PASSWORDS_DEFAULTS.userAgent,
    onError: given.onError ?? PWNED_PASSWORDS_DEFAULTS.onError,
  };
}

/** Every suffix of the range answer with its count; throws when a line is not `SUFFIX:COUNT`. */
function breachCount(body: string, suffix: string): number {
  let found = 0;
  for (const line of body.split(/\r?\n/)) {
    if (line === '') continue;
    const match = RANGE_LINE.exec(line);
    // A 200 that is not the range format (a proxy's or captive portal's page) must not read as "never breached".
    if (!match) throw new PwnedPasswordsError('ERR_EPR_PWNED_BAD_RESPONSE', 'The answer is not in the range format');
    if (match[1]!.toUpperCase() === suffix) found = Number(match[2]);
  }
  return found;
}

/**
 * Returns a `password.isBreached` function that asks the Have I Been Pwned range API. Options are checked here, at
 * construction.
 */
export function pwnedPasswords(
  options: PwnedPasswordsOptions = {},
): (password: string, context?: BreachCheckContext) => Promise<boolean> {
  const { baseUrl, timeoutMs, minCount, userAgent, onError } = checkOptions(options);
  const headers = { 'Add-Padding': 'true', 'User-Agent': userAgent };

  async function lookup(password: string): Promise<boolean> {
    const hash = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
    let response: Response;
    let body: string;
    try {
      // The timeout covers reading the body too: a server that sends headers and then stalls is as slow as a dead one.
      response = await fetch(`${baseUrl}/range/${hash.slice(0, 5)}`, {
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = await response.text();
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new PwnedPasswordsError(
          'ERR_EPR_PWNED_TIMEOUT',
          `Have I Been Pwned did not answer within ${timeoutMs} ms`,
        );
      }
      // undici's message is a bare "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND) is in its cause.
      const cause = (error as { cause?: { code?: unknown } }).cause;
      const reason = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
      throw new PwnedPasswordsError('ERR_EPR_PWNED_UNREACHABLE', `Have I Been Pwned is unreachable${reason}`);
    }
    if (response.status !== 200) {
      throw new PwnedPasswordsError(
        'ERR_EPR_PWNED_STATUS',
        `Have I Been Pwned answered ${response.status}`,
        response.status,
      );
    }
    // Padding entries have count 0, below any minCount.
    return breachCount(body, hash.slice(5)) >= minCount;
  }

  return async (password, context) => {
    if (onError === 'reject') return lookup(password);
    try {
      return await lookup(password);
    } catch (error) {
      context?.reportError(error);
      return false;
    }
  };
}
