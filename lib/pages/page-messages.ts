/**
 * What the hosted pages say when something is wrong: the localized texts for
 * schema errors, broken password rules and API errors answered as a page.
 */
import type { ErrorCode, ErrorDetail } from '../core/errors';
import type { PageTexts } from '../locales';

/** The built-in message the policy uses for `validate() === false`; an app's own string is shown as given. */
const DEFAULT_CUSTOM_MESSAGE = 'This password is not allowed.';

/** The policy's numbers the texts show. */
export interface PasswordLimits {
  minLength: number;
  maxLength: number;
}

/** Localized text for a field that failed the request schema. */
export const fieldMessage = (
  t: PageTexts,
  field: string,
  value: string | undefined,
  { maxLength }: PasswordLimits,
): string => {
  switch (field) {
    case 'email':
      return value ? t.errors.emailInvalid : t.errors.emailRequired;
    case 'code':
      return value ? t.errors.codeInvalid : t.errors.codeRequired;
    case 'password':
      return value ? t.errors.rules.maxLength(maxLength) : t.errors.passwordRequired;
    case 'otp':
      return value ? t.errors.otpInvalid : t.errors.otpRequired;
    default:
      return t.errors.badRequest;
  }
};

/** Localized text for a broken password rule (`error.details[].rule`). */
export const ruleMessage = (t: PageTexts, detail: ErrorDetail, { minLength, maxLength }: PasswordLimits): string => {
  switch (detail.rule) {
    case 'minLength':
      return t.errors.rules.minLength(minLength);
    case 'maxLength':
      return t.errors.rules.maxLength(maxLength);
    case 'maxBytes':
      return t.errors.rules.maxBytes;
    case 'common':
      return t.errors.rules.common;
    case 'strength':
      return t.errors.rules.strength;
    case 'breached':
      return t.errors.rules.breached;
    default:
      return detail.message === DEFAULT_CUSTOM_MESSAGE ? t.errors.rules.custom : detail.message;
  }
};

/** Localized text for an API error answered as a page. */
export const API_ERROR_TEXT: Partial<Record<ErrorCode, (t: PageTexts) => string>> = {
  RATE_LIMITED: (t) => t.errors.rateLimited,
  SERVICE_UNAVAILABLE: (t) => t.errors.unavailable,
  PAYLOAD_TOO_LARGE: (t) => t.errors.tooLarge,
  FORBIDDEN: (t) => t.errors.forbidden,
  VALIDATION_FAILED: (t) => t.errors.badRequest,
  MALFORMED_JSON: (t) => t.errors.badRequest,
  UNSUPPORTED_MEDIA_TYPE: (t) => t.errors.badRequest,
};
