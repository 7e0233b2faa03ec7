import type * as ZxcvbnCore from '@zxcvbn-ts/core';
import type * as ZxcvbnCommon from '@zxcvbn-ts/language-common';
import type { PasswordOptions } from '../options/types';
import type { ErrorDetail } from './errors';
import { toEventError, type EventError } from './events';
import type { User } from './users';

/** bcrypt only reads the first 72 bytes; longer passwords are refused, never truncated. */
export const BCRYPT_MAX_BYTES = 72;

/** The resolved policy: every default filled in. */
export interface ResolvedPasswordPolicy {
  minLength: number;
  maxLength: number;
  minStrength?: number;
  blockCommon: boolean;
  /** Enforce bcrypt's byte limit (off when the app brings its own `hashPassword`). */
  maxBytes?: number;
  isBreached?: PasswordOptions['isBreached'];
  /** Where a breach check that failed open reports its error (the router's `error` event). */
  onBreachCheckError?: (error: EventError) => void;
  validate?: PasswordOptions['validate'];
}

/*
 * zxcvbn and its dictionaries are loaded on first use, not at import: together they cost ~25 ms at startup. The
 * dictionaries serve `blockCommon` (on by default) on the first `/reset`, zxcvbn only `minStrength`.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
const loadCommon = (): typeof ZxcvbnCommon => require('@zxcvbn-ts/language-common') as typeof ZxcvbnCommon;

let commonPasswords: ReadonlySet<string> | undefined;

/** The common-password list of @zxcvbn-ts/language-common, loaded once per process. */
export function getCommonPasswords(): ReadonlySet<string> {
  commonPasswords ??= new Set(loadCommon().dictionary.passwords.map((word) => word.toLowerCase()));
  return commonPasswords;
}

/**
 * zxcvbn scores only a password's first 16 characters. Its matching grows faster than the square of the length
 * (CONTRIBUTING.md has the figures: a few ms at 16 characters, ~50 ms at 64, seconds at 1,000), and a rejected
 * password leaves the link usable, so one token can ask for a score again and again: what one request costs must
 * not depend on `maxLength`. The verdict stays sound: guessing a password means guessing its first characters, so a
 * password is at least as strong as its prefix, and a prefix that scores high enough vouches for the whole. One
 * that does not is refused even if a strong tail follows. 16 characters leave room for zxcvbn's top score (4,
 * 10^10 guesses), which passphrases and random strings reach well within them.
 */
export const SCORED_CHARACTERS = 16;

/** The part zxcvbn sees: the first `SCORED_CHARACTERS` code points (a surrogate pair is never split). */
export function scoredPart(password: string): string {
  if (password.length <= SCORED_CHARACTERS) return password;
  return [...password].slice(0, SCORED_CHARACTERS).join('');
}

type StrengthScorer = (password: string, userInputs: string[]) => number;
let strengthScorer: StrengthScorer | undefined;

/** zxcvbn with the common dictionaries, set up once and only when `minStrength` is used. */
function getStrengthScorer(): StrengthScorer {
  if (!strengthScorer) {
    // Set up lazily: loading zxcvbn's dictionaries costs tens of milliseconds that apps without minStrength should not
    // pay.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see the top of this file
    const { zxcvbn, zxcvbnOptions } = require('@zxcvbn-ts/core') as typeof ZxcvbnCore;
    const { adjacencyGraphs, dictionary } = loadCommon();
    zxcvbnOptions.setOptions({ dictionary: { ...dictionary }, graphs: adjacencyGraphs });
    strengthScorer = (password, userInputs) => zxcvbn(scoredPart(password), userInputs).score;
  }
  return strengthScorer;
}

/** NFKC, so that look-alike forms of one password hash the same. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * Checks a normalized password against the policy and returns every rule it
 * breaks (empty when it is acceptable). Messages never contain the password.
 */
export async function findPasswordProblems(
  policy: ResolvedPasswordPolicy,
  password: string,
  user: User,
): Promise<ErrorDetail[]> {
  const problems: ErrorDetail[] = [];
  const reject = (rule: string, message: string): void => {
    problems.push({ field: 'password', rule, message });
  };
  const length = [...password].length;
  if (length < policy.minLength) reject('minLength', `Use at least ${policy.minLength} characters.`);
  if (length > policy.maxLength) reject('maxLength', `Use at most ${policy.maxLength} characters.`);
  else if (policy.maxBytes !== undefined && Buffer.byteLength(password, 'utf8') > policy.maxBytes) {
    reject('maxBytes', `Use a shorter password: it may take at most ${policy.maxBytes} bytes when encoded as UTF-8.`);
  }
  if (problems.length > 0) return problems;

  if (policy.blockCommon && getCommonPasswords().has(password.toLowerCase())) {
    reject('common', 'This password is too common. Choose one that is harder to guess.');
  }
  if (policy.minStrength !== undefined) {
    const userInputs = [user.email, ...(user.name ? [user.name] : [])];
    if (getStrengthScorer()(password, userInputs) < policy.minStrength) {
      reject('strength', 'This password is too easy to guess. Add more words or characters.');
    }
  }
  const breachCheck = {
    reportError: (error: unknown): void => policy.onBreachCheckError?.(toEventError(error, [password])),
  };
  if (policy.isBreached && (await policy.isBreached(password, breachCheck))) {
    reject('breached', 'This password has appeared in a data breach. Choose a different one.');
  }
  if (policy.validate) {
    const verdict = await policy.validate(password, user);
    if (verdict === false) reject('custom', 'This password is not allowed.');
    else if (typeof verdict === 'string') reject('custom', verdict);
  }
  return problems;
}
