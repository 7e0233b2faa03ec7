import Joi from 'joi';
import { PasswordResetError, type ErrorDetail } from './errors';

/** The parsed bodies the handlers work with. */
export interface ForgotBody {
  email: string;
}
export type VerifyBody = { token: string } | { email: string; code: string };
export type ResetBody = ({ token: string } | { email: string; code: string }) & { password: string };

export interface RequestSchemas {
  forgot: Joi.ObjectSchema<ForgotBody>;
  verify: Joi.ObjectSchema<VerifyBody>;
  reset: Joi.ObjectSchema;
}

const email = Joi.string().email({ tlds: { allow: false }, ignoreLength: false }).max(254);
// Any string of a sane length is looked up; a wrong one is TOKEN_INVALID, not a validation error.
const token = Joi.string().min(1).max(512);
// Policy (length and the rest) is checked later and answered with 422, so only the type is checked here.
const password = Joi.string().allow('').max(4096);

/**
 * Compiled once per router. `convert: false` keeps validation strict: a number
 * where a string belongs is refused, never coerced; unknown keys are refused.
 */
export function buildSchemas(codeDigits: number | undefined): RequestSchemas {
  const code = codeDigits === undefined ? Joi.forbidden() : Joi.string().pattern(/^[0-9]+$/, 'digits').max(32);
  const credential = codeDigits === undefined
    ? { token: token.required() }
    : { token, email, code };
  const withCredential = <T extends Joi.ObjectSchema>(schema: T): T =>
    (codeDigits === undefined ? schema : schema.xor('token', 'code').with('code', 'email').with('email', 'code').without('token', ['email', 'code'])) as T;

  return {
    forgot: Joi.object<ForgotBody>({ email: email.required() }).prefs({ convert: false }),
    verify: withCredential(Joi.object<VerifyBody>(credential)).prefs({ convert: false }),
    reset: withCredential(Joi.object({ ...credential, password, newPassword: password }))
      .xor('password', 'newPassword')
      .prefs({ convert: false }),
  };
}

function quoted(names: string[]): string {
  return names.map((name) => `"${name}"`).join(' or ');
}

/** Joi reports missing or conflicting peers on the object; name the field a client should fix instead. */
function describe(item: Joi.ValidationErrorItem): ErrorDetail {
  const peers = (item.context?.peers ?? []) as string[];
  switch (item.type) {
    case 'object.missing':
      return { field: peers[0] ?? 'body', message: `${quoted(peers)} is required` };
    case 'object.xor':
      return { field: peers[peers.length - 1] ?? 'body', message: `give only one of ${quoted(peers)}` };
    default:
      return { field: item.path.map(String).join('.') || String(item.context?.peer ?? 'body'), message: item.message };
  }
}

/** Validates a body; throws `VALIDATION_FAILED` with one detail per field. */
export function validateBody<T>(schema: Joi.ObjectSchema, body: unknown): T {
  const { value, error } = schema.validate(body ?? {}, { abortEarly: false });
  if (!error) return value as T;
  throw new PasswordResetError('VALIDATION_FAILED', error.details.map(describe));
}
