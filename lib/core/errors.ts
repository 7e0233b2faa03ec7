/**
 * Error classes with stable codes. `PasswordResetError` is what the HTTP API
 * answers with; `OptionsError` is thrown once, at construction, for a bad option.
 */

/** Every `error.code` the HTTP API can answer with (see the README's HTTP API). */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  /** `secondFactor`: the account has one and `/reset` came without `otp`. */
  | 'SECOND_FACTOR_REQUIRED'
  /** `secondFactor`: the `otp` was wrong. */
  | 'SECOND_FACTOR_INVALID'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PASSWORD_REJECTED'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'FORBIDDEN'
  | 'METHOD_NOT_ALLOWED'
  /** `router.sendResetLink` / `createResetLink` only (the app's API, never an HTTP answer): no such account. */
  | 'ACCOUNT_NOT_FOUND'
  | 'INTERNAL_ERROR';

/** One entry of `error.details`: which field (or password rule) failed and why. */
export interface ErrorDetail {
  field: string;
  message: string;
  /** For `PASSWORD_REJECTED`: the policy rule that failed, e.g. `minLength`. */
  rule?: string;
}

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  TOKEN_INVALID: 400,
  TOKEN_EXPIRED: 400,
  SECOND_FACTOR_REQUIRED: 401,
  SECOND_FACTOR_INVALID: 401,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PASSWORD_REJECTED: 422,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  FORBIDDEN: 403,
  METHOD_NOT_ALLOWED: 405,
  ACCOUNT_NOT_FOUND: 404,
  INTERNAL_ERROR: 500,
};

const MESSAGE: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'The request is not valid.',
  MALFORMED_JSON: 'The request body is not valid JSON.',
  TOKEN_INVALID: 'This reset link or code is invalid or has already been used.',
  TOKEN_EXPIRED: 'This reset link or code has expired. Please request a new one.',
  SECOND_FACTOR_REQUIRED: 'This account needs an authentication code to reset its password.',
  SECOND_FACTOR_INVALID: 'The authentication code is wrong.',
  PAYLOAD_TOO_LARGE: 'The request body is too large.',
  UNSUPPORTED_MEDIA_TYPE: 'The request body must be application/json.',
  PASSWORD_REJECTED: 'The new password does not meet the password policy.',
  RATE_LIMITED: 'Too many requests. Please try again later.',
  SERVICE_UNAVAILABLE: 'The service is temporarily unavailable. Please try again later.',
  FORBIDDEN: 'This request was refused.',
  METHOD_NOT_ALLOWED: 'This method is not allowed on this path.',
  ACCOUNT_NOT_FOUND: 'No account has this address.',
  INTERNAL_ERROR: 'Something went wrong. Please try again later.',
};

/**
 * An error the API answers with, in the documented error shape `{ success: false, error: { code, message, details? }
 * }`.
 */
export class PasswordResetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: ErrorDetail[];

  constructor(code: ErrorCode, details?: ErrorDetail[], message: string = MESSAGE[code]) {
    super(message);
    this.name = 'PasswordResetError';
    this.code = code;
    this.status = STATUS[code];
    if (details && details.length > 0) this.details = details;
  }

  toJSON(): { success: false; error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
    return {
      success: false,
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

/**
 * The answer when the password write itself failed: it may still land (the router then finishes the reset), so the
 * message must not say that nothing changed.
 */
export const UNCONFIRMED_MESSAGE =
  'The new password could not be confirmed in time. It may still take effect in a moment; ' +
  'if it does not, please try again later.';

/**
 * A dependency (token store, user store, breach check) failed. The cause is kept
 * for events; the client only ever sees `SERVICE_UNAVAILABLE`.
 */
export class ServiceUnavailableError extends PasswordResetError {
  constructor(
    readonly dependency: string,
    cause: unknown,
    /** The password write failed: the change may still land, and the message says so. */
    readonly unconfirmed = false,
  ) {
    super('SERVICE_UNAVAILABLE', undefined, unconfirmed ? UNCONFIRMED_MESSAGE : undefined);
    this.name = 'ServiceUnavailableError';
    this.cause = cause;
  }
}

/** Stable codes for configuration mistakes, one per kind of mistake. */
export type OptionsErrorCode = 'ERR_EPR_OPTION_REQUIRED' | 'ERR_EPR_OPTION_INVALID' | 'ERR_EPR_OPTION_CONFLICT';

/** Thrown by `passwordReset()` and the bundled stores/mailers when an option is wrong. */
export class OptionsError extends Error {
  readonly code: OptionsErrorCode;
  /** The option path, e.g. `password.minLength`. */
  readonly option: string;

  constructor(code: OptionsErrorCode, option: string, message: string) {
    super(`express-password-reset: option "${option}" ${message}`);
    this.name = 'OptionsError';
    this.code = code;
    this.option = option;
  }
}

/** Describes a value for an error message without ever printing a string's content (it may be a secret). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}
