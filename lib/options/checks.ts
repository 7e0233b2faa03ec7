/**
 * The building blocks of every option check: the router's own (`validate.ts`)
 * and those of the stores, mailers and adapters, which check their options at
 * construction too. A mistake throws an `OptionsError` that names the option and
 * says what is allowed, never showing a string's content (it may be a secret).
 */
import { OptionsError, describeValue } from '../core/errors';

/** An object read key by key before it is known to fit its type. */
export type PlainObject = Record<string, unknown>;

/** Throws the `ERR_EPR_OPTION_INVALID` error of `option`. */
export function invalidOption(option: string, message: string): never {
  throw new OptionsError('ERR_EPR_OPTION_INVALID', option, message);
}

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Levenshtein distance, case-insensitive (`ratelimit` is one edit from nothing): option names are short. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= y.length; j += 1) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[y.length]!;
}

/** The allowed name closest to `key`, if one is close enough to be the one meant (tsc's rule: a third edited). */
export function closestName(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length * 0.34));
  for (const name of allowed) {
    const distance = editDistance(key, name);
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** An object whose keys are all in `allowed`; returns it for reading its fields. */
export function checkObject(option: string, value: unknown, allowed: readonly string[]): PlainObject {
  if (!isPlainObject(value)) invalidOption(option, `must be an object, got ${describeValue(value)}`);
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const meant = closestName(key, allowed);
    const hint = meant === undefined ? '' : ` did you mean '${meant}'?`;
    invalidOption(`${option}.${key}`, `is not a known option;${hint} allowed: ${allowed.join(', ')}`);
  }
  return value;
}

export function checkFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    invalidOption(option, `must be a function, got ${describeValue(value)}`);
  }
}

export function checkBoolean(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    invalidOption(option, `must be true or false, got ${describeValue(value)}`);
  }
}

export function checkString(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    invalidOption(option, `must be a non-empty string, got ${describeValue(value)}`);
  }
}

/** A positive safe integer option with a default, e.g. a store's timeout; returns the value to use. */
export function checkPositiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    invalidOption(option, `must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

export function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(option, `must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
}

/** An object that has each of `methods`. */
export function checkImplements(option: string, value: unknown, methods: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null) {
    invalidOption(option, `must be an object with ${methods.join(', ')}, got ${describeValue(value)}`);
  }
  for (const method of methods) {
    if (typeof (value as PlainObject)[method] !== 'function') invalidOption(option, `must have a ${method}() method`);
  }
}

/** An absolute http(s) URL; returns it parsed. `example` shows what is meant in the message. */
export function checkHttpUrl(option: string, value: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    invalidOption(option, `must be an absolute http(s) URL such as '${example}', got "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    invalidOption(option, `must use http or https, got "${url.protocol}"`);
  }
  return url;
}
