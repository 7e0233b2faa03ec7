/**
 * The request bodies as Joi schemas: the router validates with them, the hosted
 * pages check their forms against them, and the OpenAPI document is converted from them.
 */
import type Joi from 'joi';
import { INVISIBLE_CHARACTER } from '../core/email-address';
import { PasswordResetError, type ErrorDetail } from '../core/errors';

/** The parsed bodies the endpoints work with. */
export interface ForgotBody {
  email: string;
}
export type VerifyBody = { token: string } | { email: string; code: string };
/**
 * As validated; whichever accepted name (`fields.password`) the client used, it is read as `password`. `otp`: only
 * with `secondFactor` set.
 */
export type ResetBody = VerifyBody & { password: string; otp?: string };

/**
 * Joi is loaded, and the schemas built, when a router first validates a body (or documents it), not at import or
 * construction: loading Joi is ~50 ms of a process's startup, which processes that never answer a reset request
 * (workers, scripts, most tests) should not pay.
 */
let loaded:
  | {
      joi: typeof Joi;
      email: Joi.StringSchema;
      token: Joi.StringSchema;
      password: Joi.StringSchema;
      otp: Joi.StringSchema;
    }
  | undefined;

function rules(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  const joi = require('joi') as typeof Joi;
  loaded = {
    joi,
    // Joi's email rule lets invisible characters through, and a user store may ignore them when it matches: each
    // would be one more spelling of a victim's address.
    email: joi
      .string()
      .email({ tlds: { allow: false }, ignoreLength: false })
      .max(254)
      // A custom rule, not an inverted pattern: joi-to-json would put that in the OpenAPI document as a pattern.
      .custom((value: string, helpers) => (INVISIBLE_CHARACTER.test(value) ? helpers.error('string.invisible') : value))
      .messages({ 'string.invisible': '{{#label}} must not contain invisible or control characters' }),
    // Any string of a sane length is looked up; a wrong one is TOKEN_INVALID, not a validation error.
    token: joi.string().min(1).max(512),
    // Policy (length and the rest) is checked later and answered with 422, so only the type is checked here.
    password: joi.string().allow('').max(4096),
    // TOTPs are 6-8 digits, but an app's second factor may be a backup code or a longer token: any short string is
    // handed to `secondFactor.verify`, whose `false` is the answer to a wrong one.
    otp: joi.string().min(1).max(64),
  };
  return loaded;
}

/** What the request schemas depend on: the code flow's digits, when it is on, and whether `secondFactor` is set. */
export interface SchemaSettings {
  codeDigits: number | undefined;
  /** `/reset` accepts `otp`. @default false */
  secondFactor?: boolean;
}

/**
 * `convert: false` keeps validation strict: a number where a string belongs is
 * refused, never coerced; unknown keys are refused. `abortEarly: false` (every problem reported) is set here, once,
 * not per call: options passed to `validate()` are merged into the schema's on every request.
 */
function strict<T>(schema: Joi.ObjectSchema<T>): Joi.ObjectSchema<T> {
  return schema.prefs({ convert: false, abortEarly: false });
}

/** `{ token }`, or with the code flow on `{ email, code }` in its place, plus `extra` fields. */
function credentialSchema({ codeDigits }: SchemaSettings, extra: Joi.PartialSchemaMap = {}): Joi.ObjectSchema {
  const { joi, token, email } = rules();
  if (codeDigits === undefined) return joi.object({ token: token.required(), ...extra });
  const code = joi
    .string()
    .pattern(/^[0-9]+$/, 'digits')
    .max(32);
  const schema = joi
    .object({ token, email, code, ...extra })
    .xor('token', 'code')
    .with('code', 'email')
    .with('email', 'code')
    .without('token', ['email', 'code']);
  return schema;
}

export const forgotSchema = (): Joi.ObjectSchema<ForgotBody> =>
  strict(rules().joi.object<ForgotBody>({ email: rules().email.required() }));

export const verifySchema = (settings: SchemaSettings): Joi.ObjectSchema<VerifyBody> =>
  strict(credentialSchema(settings) as Joi.ObjectSchema<VerifyBody>);

export const resetSchema = (settings: SchemaSettings): Joi.ObjectSchema<ResetBody> =>
  strict(
    credentialSchema(settings, {
      password: rules().password.required(),
      ...(settings.secondFactor ? { otp: rules().otp } : {}),
    }) as Joi.ObjectSchema<ResetBody>,
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

/** The name a field is shown by in an error: the schema's own, unless a body reader says what the client sent. */
type NameOf = (key: string) => string;

/** Joi reports missing or conflicting peers on the object; name the field a client should fix instead. */
function describe(item: Joi.ValidationErrorItem, nameOf: NameOf): ErrorDetail {
  const peers = ((item.context?.peers ?? []) as string[]).map(nameOf);
  switch (item.type) {
    case 'object.missing':
      return { field: peers[0] ?? 'body', message: `${quoted(peers)} is required` };
    case 'object.xor':
      return { field: peers[peers.length - 1] ?? 'body', message: `give only one of ${quoted(peers)}` };
    default: {
      const key = item.path.map(String).join('.') || String(item.context?.peer ?? 'body');
      const field = nameOf(key);
      return { field, message: field === key ? item.message : item.message.replace(`"${key}"`, `"${field}"`) };
    }
  }
}

/** Validates a body; throws `VALIDATION_FAILED` with one detail per field. */
export function validateBody<T>(schema: Joi.ObjectSchema, body: unknown, nameOf: NameOf = (key) => key): T {
  const result: Joi.ValidationResult<unknown> = schema.validate(body ?? {});
  if (!result.error) return result.value as T;
  throw new PasswordResetError(
    'VALIDATION_FAILED',
    result.error.details.map((item) => describe(item, nameOf)),
  );
}

/** The request fields under this package's own names (the schemas' keys). */
export type FieldKey = 'email' | 'token' | 'code' | 'password' | 'otp';

/** The JSON API's wire format: the names accepted per field (`fields`) and what happens to other keys. */
export interface WireFormat {
  fields: Readonly<Record<FieldKey, readonly string[]>>;
  unknownFields: 'reject' | 'ignore';
}

/** Reads a request body of the JSON API into the schema's own names, then validates it. */
export type BodyReader<T> = (body: unknown) => T;

/**
 * A reader for one endpoint: each key the client sent is looked up among the accepted names of the endpoint's
 * fields, and the body is validated under the schema's own names, so every rule lives once, in the schema. Errors
 * name the field as the client sent it.
 */
export function bodyReader<T>(schemaOf: () => Joi.ObjectSchema<T>, wire: WireFormat): BodyReader<T> {
  let schema: Joi.ObjectSchema<T> | undefined;
  const fieldOfName = new Map<string, FieldKey>();
  return (body) => {
    if (schema === undefined) {
      schema = schemaOf();
      const keys = Object.keys((schema.describe() as { keys?: Record<string, unknown> }).keys ?? {}) as FieldKey[];
      for (const key of keys) for (const name of wire.fields[key]) fieldOfName.set(name, key);
    }
    // An array, a string or null: the schema answers it as it always has ("must be of type object").
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return validateBody<T>(schema, body);
    const read: Record<string, unknown> = {};
    const sent = new Map<string, string>();
    const details: ErrorDetail[] = [];
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      // As Joi does: a JSON "__proto__" key is never read (nor reported).
      if (name === '__proto__') continue;
      const key = fieldOfName.get(name);
      if (key === undefined) {
        if (wire.unknownFields === 'reject') details.push({ field: name, message: `"${name}" is not allowed` });
        continue;
      }
      const earlier = sent.get(key);
      if (earlier !== undefined) {
        details.push({ field: name, message: `give only one of ${quoted([earlier, name])}` });
        continue;
      }
      sent.set(key, name);
      read[key] = value;
    }
    const nameOf: NameOf = (key) => sent.get(key) ?? wire.fields[key as FieldKey]?.[0] ?? key;
    try {
      const value = validateBody<T>(schema, read, nameOf);
      if (details.length === 0) return value;
    } catch (error) {
      if (!(error instanceof PasswordResetError)) throw error;
      details.push(...(error.details ?? []));
    }
    throw new PasswordResetError('VALIDATION_FAILED', details);
  };
}
