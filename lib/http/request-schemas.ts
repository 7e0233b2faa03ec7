/**
 * The request bodies as Joi schemas: the router validates with them, the hosted
 * pages check their forms against them, and the OpenAPI document is converted from them.
 */
import Joi from 'joi';
import { INVISIBLE_CHARACTER } from '../core/email-address';
import { PasswordResetError, type ErrorDetail } from '../core/errors';

/** The parsed bodies the endpoints work with. */
export interface ForgotBody {
  email: string;
}
export type VerifyBody = { token: string } | { email: string; code: string };
/** As validated: exactly one of `password` and its alias `newPassword`. */
export type ResetBody = VerifyBody & { password?: string; newPassword?: string };

// Joi's email rule lets invisible characters through, and a user store may ignore them when it matches: each would
// be one more spelling of a victim's address.
const email = Joi.string()
  .email({ tlds: { allow: false }, ignoreLength: false })
  .max(254)
  // A custom rule, not an inverted pattern: joi-to-json would put that in the OpenAPI document as a pattern to match.
  .custom((value: string, helpers) => (INVISIBLE_CHARACTER.test(value) ? helpers.error('string.invisible') : value))
  .messages({ 'string.invisible': '{{#label}} must not contain invisible or control characters' });
// Any string of a sane length is looked up; a wrong one is TOKEN_INVALID, not a validation error.
const token = Joi.string().min(1).max(512);
// Policy (length and the rest) is checked later and answered with 422, so only the type is checked here.
const password = Joi.string().allow('').max(4096);

/** What the request schemas depend on: the code flow's digits, when it is on. */
export interface SchemaSettings {
  codeDigits: number | undefined;
}

/**
 * `convert: false` keeps validation strict: a number where a string belongs is
 * refused, never coerced; unknown keys are refused.
 */
function strict<T>(schema: Joi.ObjectSchema<T>): Joi.ObjectSchema<T> {
  return schema.prefs({ convert: false });
}

/** `{ token }`, or with the code flow on `{ email, code }` in its place, plus `extra` fields. */
function credentialSchema({ codeDigits }: SchemaSettings, extra: Joi.PartialSchemaMap = {}): Joi.ObjectSchema {
  if (codeDigits === undefined) return Joi.object({ token: token.required(), ...extra });
  const code = Joi.string()
    .pattern(/^[0-9]+$/, 'digits')
    .max(32);
  const schema = Joi.object({ token, email, code, ...extra })
    .xor('token', 'code')
    .with('code', 'email')
    .with('email', 'code')
    .without('token', ['email', 'code']);
  return schema;
}

export const forgotSchema = (): Joi.ObjectSchema<ForgotBody> =>
  strict(Joi.object<ForgotBody>({ email: email.required() }));

export const verifySchema = (settings: SchemaSettings): Joi.ObjectSchema<VerifyBody> =>
  strict(credentialSchema(settings) as Joi.ObjectSchema<VerifyBody>);

export const resetSchema = (settings: SchemaSettings): Joi.ObjectSchema<ResetBody> =>
  strict(
    (credentialSchema(settings, { password, newPassword: password }) as Joi.ObjectSchema<ResetBody>).xor(
      'password',
      'newPassword',
    ),
  );

/** The credential of a validated `/verify` or `/reset` body. */
export function credentialOf(body: VerifyBody): { token: string } | { email: string; code: string } {
  return 'token' in body && body.token !== undefined
    ? { token: body.token }
    : { email: (body as { email: string }).email, code: (body as { code: string }).code };
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
  const result: Joi.ValidationResult<unknown> = schema.validate(body ?? {}, { abortEarly: false });
  if (!result.error) return result.value as T;
  throw new PasswordResetError('VALIDATION_FAILED', result.error.details.map(describe));
}
