/**
 * The router's HTTP API as an OpenAPI 3.1 document. Request bodies are
 * converted from the very Joi schemas the router validates with (by
 * joi-to-json), and error statuses and messages come from `PasswordResetError`,
 * so the document cannot drift from what the router does.
 */
import type Joi from 'joi';
import parseJoi from 'joi-to-json';
import { PasswordResetError, type ErrorCode } from './errors';
import { buildSchemas } from './schemas';

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** Where the router is mounted, e.g. `'/auth/password'`: the document's server URL. @default '/' */
  basePath?: string;
  /** Describe the code flow's bodies too (`{ email, code }` beside `{ token }`), as with `code: { enabled: true }`. @default false */
  code?: boolean | { digits?: number };
}

/** A part of the document (a JSON Schema in OpenAPI 3.1's dialect, 2020-12, or any other object), as plain JSON. */
export type JsonObject = Record<string, unknown>;

/** An OpenAPI 3.1 document. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  paths: JsonObject;
  components: JsonObject;
}

type Endpoint = '/forgot' | '/verify' | '/reset';

/** Version of the HTTP API this document describes (not of the package). */
const API_VERSION = '1.0.0';

/** Which errors each endpoint can answer with; statuses come from `PasswordResetError`. */
const ENDPOINT_ERRORS: Record<Endpoint, ErrorCode[]> = {
  // No 503 here: /forgot answers before it touches any store.
  '/forgot': ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'INTERNAL_ERROR'],
  '/verify': ['VALIDATION_FAILED', 'MALFORMED_JSON', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR'],
  '/reset': ['VALIDATION_FAILED', 'MALFORMED_JSON', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'PASSWORD_REJECTED', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR'],
};

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

/**
 * Joi → JSON Schema in OpenAPI 3.1's dialect. A static import on purpose: a
 * lazy `require()` throws in the ESM build ("Dynamic require ... is not supported").
 */
function toJsonSchema(schema: Joi.Schema): JsonObject {
  return (parseJoi as unknown as (joi: Joi.Schema, mode: 'open-api-3.1') => JsonObject)(schema, 'open-api-3.1');
}

function errorResponse(codes: ErrorCode[], status: number): JsonObject {
  const errors = codes.map((code) => new PasswordResetError(code));
  const headers: JsonObject = {
    'Cache-Control': { $ref: '#/components/headers/CacheControl' },
    'Referrer-Policy': { $ref: '#/components/headers/ReferrerPolicy' },
  };
  if (status === 429) {
    headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
    for (const name of ['RateLimit-Policy', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) headers[name] = { $ref: `#/components/headers/${name.replace(/-/g, '')}` };
  }
  return {
    description: errors.map((error) => `\`${error.code}\`: ${error.message}`).join(' '),
    headers,
    content: {
      'application/json': {
        schema: { allOf: [ref('Error'), { properties: { error: { properties: { code: { enum: codes } } } } }] },
        examples: Object.fromEntries(errors.map((error) => [error.code, { value: error.toJSON() }])),
      },
    },
  };
}

function okResponse(description: string, schema: string): JsonObject {
  return {
    description,
    headers: { 'Cache-Control': { $ref: '#/components/headers/CacheControl' }, 'Referrer-Policy': { $ref: '#/components/headers/ReferrerPolicy' } },
    content: { 'application/json': { schema: ref(schema) } },
  };
}

function operation(endpoint: Endpoint, spec: { id: string; summary: string; description: string; request: string; examples: JsonObject; ok: [string, JsonObject] }): JsonObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of ENDPOINT_ERRORS[endpoint]) {
    const status = new PasswordResetError(code).status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: JsonObject = { [spec.ok[0]]: spec.ok[1] };
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[String(status)] = errorResponse(codes, status);
  return {
    post: {
      operationId: spec.id,
      summary: spec.summary,
      description: spec.description,
      requestBody: { required: true, content: { 'application/json': { schema: ref(spec.request), examples: spec.examples } } },
      responses,
    },
  };
}

/**
 * The OpenAPI 3.1 document of the router's JSON API (`POST /forgot`,
 * `/verify`, `/reset`). With `openapi: true` the router serves it at
 * `GET /openapi.json`, with its mount path as the server URL.
 */
export function openApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  const code = options.code === undefined || options.code === false ? undefined : options.code === true ? {} : options.code;
  const schemas = buildSchemas(code ? code.digits ?? 6 : undefined);
  const allCodes = [...new Set(Object.values(ENDPOINT_ERRORS).flat())];
  const token = 'k3oKq8m5Xr0bZ2u9V1yW7tN4sP6cL0dH8fJ2gA5eQ1w';
  const codeExample = '3141592653'.slice(0, code?.digits ?? 6);
  const credentialExamples = (extra: JsonObject): JsonObject => ({
    token: { summary: 'With the token from the link', value: { token, ...extra } },
    ...(code ? { code: { summary: 'With the address and the code from the email', value: { email: 'ada@example.com', code: codeExample, ...extra } } } : {}),
  });

  return {
    openapi: '3.1.0',
    info: {
      title: 'express-password-reset',
      version: API_VERSION,
      description: 'The "forgot password" API of an express-password-reset router. Requests and responses are JSON; ' +
        'every response has `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.' +
        (code ? ' The code flow is on: `/verify` and `/reset` also accept `{ email, code }` in place of `{ token }`.' : ''),
    },
    servers: [{ url: options.basePath ?? '/' }],
    paths: {
      '/forgot': operation('/forgot', {
        id: 'requestPasswordReset',
        summary: 'Request a reset email',
        description: 'The same status, body and headers for every well-formed address, known or not. The email (with a link, and a code when the code flow is on) is sent after the answer.',
        request: 'ForgotRequest',
        examples: { email: { value: { email: 'ada@example.com' } } },
        ok: ['202', okResponse('Accepted; the same answer for every well-formed address.', 'ForgotAccepted')],
      }),
      '/verify': operation('/verify', {
        id: 'verifyResetCredential',
        summary: 'Check a token (or code) without using it',
        description: 'Tells whether a reset link or code still works and until when. Does not consume it.',
        request: 'VerifyRequest',
        examples: credentialExamples({}),
        ok: ['200', okResponse('The token or code works.', 'VerifyResult')],
      }),
      '/reset': operation('/reset', {
        id: 'resetPassword',
        summary: 'Set a new password',
        description: 'Checks the password policy first (a rejected password leaves the link usable), then consumes the token and stores the new password. `newPassword` is accepted as an alias of `password`.',
        request: 'ResetRequest',
        examples: credentialExamples({ password: 'correct horse battery staple' }),
        ok: ['200', okResponse('The password was changed; every outstanding link of the user is now dead.', 'ResetResult')],
      }),
    },
    components: {
      schemas: {
        ForgotRequest: toJsonSchema(schemas.forgot),
        VerifyRequest: toJsonSchema(schemas.verify),
        ResetRequest: toJsonSchema(schemas.reset),
        ForgotAccepted: {
          type: 'object',
          required: ['success', 'message'],
          additionalProperties: false,
          properties: { success: { const: true }, message: { type: 'string' } },
        },
        VerifyResult: {
          type: 'object',
          required: ['success', 'valid', 'expiresAt'],
          additionalProperties: false,
          properties: { success: { const: true }, valid: { const: true }, expiresAt: { type: 'string', format: 'date-time' } },
        },
        ResetResult: {
          type: 'object',
          required: ['success'],
          additionalProperties: false,
          properties: { success: { const: true } },
        },
        ErrorDetail: {
          type: 'object',
          required: ['field', 'message'],
          additionalProperties: false,
          properties: {
            field: { type: 'string', description: 'The request field (or `password` for a policy rule).' },
            message: { type: 'string' },
            rule: { type: 'string', description: 'For `PASSWORD_REJECTED`: the policy rule, e.g. `minLength`, `common`, `breached`.' },
          },
        },
        Error: {
          type: 'object',
          required: ['success', 'error'],
          additionalProperties: false,
          properties: {
            success: { const: false },
            error: {
              type: 'object',
              required: ['code', 'message'],
              additionalProperties: false,
              properties: {
                code: { enum: allCodes },
                message: { type: 'string' },
                details: { type: 'array', minItems: 1, items: ref('ErrorDetail') },
              },
            },
          },
        },
      },
      headers: {
        CacheControl: { description: 'Nothing may be cached.', required: true, schema: { const: 'no-store' } },
        ReferrerPolicy: { description: 'No URL of this API leaks through a Referer.', required: true, schema: { const: 'no-referrer' } },
        RetryAfter: { description: 'Seconds until a request is allowed again.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        RateLimitPolicy: { description: 'The limit and window, e.g. `20;w=900`.', required: true, schema: { type: 'string' } },
        RateLimitLimit: { description: 'Requests allowed per window.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        RateLimitRemaining: { description: 'Requests left in this window.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        RateLimitReset: { description: 'Seconds until the window resets.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
      },
    },
  };
}
