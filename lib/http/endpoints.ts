/**
 * The endpoints of the JSON API: the one table of them. Each entry keeps
 * together what the router, the limiters, the hosted pages, the option checks
 * and the OpenAPI document need to know about one endpoint, so adding an
 * endpoint is an entry here and a method of the flow.
 */
import type Joi from 'joi';
import type { ErrorCode } from '../core/errors';
import type { Requester, ResetFlow } from '../core/reset-flow';
import type { LimitOptions } from '../options/types';
import { TOKEN_KINDS } from '../stores/token-store';
import { clientKey } from './client-key';
import {
  bodyReader,
  credentialOf,
  forgotSchema,
  resetSchema,
  verifySchema,
  type BodyReader,
  type ForgotBody,
  type ResetBody,
  type SchemaSettings,
  type VerifyBody,
  type WireFormat,
} from './request-schemas';

/** The one answer `/forgot` gives to every well-formed address. */
export const FORGOT_RESPONSE = Object.freeze({
  success: true,
  message: 'If an account exists for that address, an email with a link to reset the password is on its way.',
});

/** A success answer: the status and the JSON body. */
export interface EndpointAnswer {
  status: number;
  body: object;
}

/** What an endpoint's `run` works with. `Context` is what hooks receive (the Express request). */
export interface EndpointCall<Body, Context> {
  body: Body;
  flow: ResetFlow<Context>;
  requester: Requester<Context>;
}

/** How the OpenAPI document describes an endpoint. */
export interface EndpointDocs {
  operationId: string;
  summary: string;
  description: string;
  /** Component name of the request body's schema. */
  requestName: string;
  /** Request examples; `code` is on when the code flow is. */
  examples(code: { digits: number } | undefined): Record<string, { summary?: string; value: object }>;
  /**
   * The success answer: its description, component name and JSON Schema; `exchange` and `secondFactor`: the
   * properties it also may have with `code.exchange` on, or with `secondFactor` set.
   */
  success: {
    description: string;
    name: string;
    schema: Record<string, unknown>;
    exchange?: Record<string, Record<string, unknown>>;
    secondFactor?: Record<string, Record<string, unknown>>;
  };
}

/** One endpoint of the table. */
export interface EndpointDefinition<Body> {
  /** Path under the router's mount path unless `routes` says otherwise (the router reads `ResolvedOptions.routes`). */
  defaultPath: `/${string}`;
  /** Status of the success answer. */
  successStatus: 200 | 202;
  /** Every error code the endpoint can answer with. */
  errors: readonly ErrorCode[];
  /** The per-IP limit when `rateLimit` does not set one. */
  defaultLimit: LimitOptions;
  /** The request body's schema, compiled once per router. */
  schema(settings: SchemaSettings): Joi.ObjectSchema<Body>;
  docs: EndpointDocs;
  /**
   * Does the endpoint's work and returns its answer. `/forgot` answers before its work starts, so `run` only
   * schedules it (see `afterAnswer`).
   */
  run<Context>(call: EndpointCall<Body, Context>): Promise<EndpointAnswer> | EndpointAnswer;
  /** Work to start once the answer is written, whatever happens next. */
  afterAnswer?<Context>(call: EndpointCall<Body, Context>): void;
}

export const FORGOT_ANSWER: EndpointAnswer = { status: 202, body: FORGOT_RESPONSE };
const RESET_ANSWER: EndpointAnswer = { status: 200, body: Object.freeze({ success: true }) };
const FIFTEEN_MINUTES = 15 * 60_000;

// The errors every endpoint shares, in the order the OpenAPI document lists them.
const REQUEST_ERRORS = ['VALIDATION_FAILED', 'MALFORMED_JSON'] as const;
const TOKEN_ERRORS = ['TOKEN_INVALID', 'TOKEN_EXPIRED'] as const;
const BODY_ERRORS = ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const;
/** The errors only a router with `secondFactor` answers (the OpenAPI document leaves them out otherwise). */
export const SECOND_FACTOR_ERRORS: readonly ErrorCode[] = ['SECOND_FACTOR_REQUIRED', 'SECOND_FACTOR_INVALID'];
const TOKEN_EXAMPLE = 'k3oKq8m5Xr0bZ2u9V1yW7tN4sP6cL0dH8fJ2gA5eQ1w';

/** `{ token }`, and with the code flow on `{ email, code }`, each with `extra` fields. */
function credentialExamples(
  code: { digits: number } | undefined,
  extra: object,
): Record<string, { summary: string; value: object }> {
  return {
    token: { summary: 'With the token from the link', value: { token: TOKEN_EXAMPLE, ...extra } },
    ...(code
      ? {
          code: {
            summary: 'With the address and the code from the email',
            value: { email: 'ada@example.com', code: '3141592653'.slice(0, code.digits), ...extra },
          },
        }
      : {}),
  };
}

const forgot: EndpointDefinition<ForgotBody> = {
  defaultPath: '/forgot',
  successStatus: 202,
  // No 503 here: /forgot answers before it touches any store.
  errors: [...REQUEST_ERRORS, ...BODY_ERRORS, 'RATE_LIMITED', 'INTERNAL_ERROR'],
  defaultLimit: { windowMs: FIFTEEN_MINUTES, limit: 50 },
  schema: forgotSchema,
  docs: {
    operationId: 'requestPasswordReset',
    summary: 'Request a reset email',
    description:
      'The same status, body and headers for every well-formed address, known or not. ' +
      'The email (with a link, and a code when the code flow is on) is sent after the answer.',
    requestName: 'ForgotRequest',
    examples: () => ({ email: { value: { email: 'ada@example.com' } } }),
    success: {
      description: 'Accepted; the same answer for every well-formed address.',
      name: 'ForgotAccepted',
      schema: {
        type: 'object',
        required: ['success', 'message'],
        additionalProperties: false,
        properties: { success: { const: true }, message: { type: 'string' } },
      },
    },
  },
  // Answer first: nothing that depends on whether the account exists may happen before the 202 is written.
  run: () => FORGOT_ANSWER,
  afterAnswer: ({ body, flow, requester }) => flow.startRequestReset(body.email, requester.ip, clientKey(requester.ip)),
};

const verify: EndpointDefinition<VerifyBody> = {
  defaultPath: '/verify',
  successStatus: 200,
  errors: [...REQUEST_ERRORS, ...TOKEN_ERRORS, ...BODY_ERRORS, 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR'],
  defaultLimit: { windowMs: FIFTEEN_MINUTES, limit: 100 },
  schema: verifySchema,
  docs: {
    operationId: 'verifyResetCredential',
    summary: 'Check a token (or code) without using it',
    description: 'Tells whether a reset link or code still works and until when. Does not consume it.',
    requestName: 'VerifyRequest',
    examples: (code) => credentialExamples(code, {}),
    success: {
      description: 'The token or code works.',
      name: 'VerifyResult',
      schema: {
        type: 'object',
        required: ['success', 'valid', 'expiresAt', 'kind'],
        additionalProperties: false,
        properties: {
          success: { const: true },
          valid: { const: true },
          expiresAt: { type: 'string', format: 'date-time' },
          kind: {
            enum: [...TOKEN_KINDS],
            description:
              'What the link is for: `reset` (a forgotten password) or `invite` (an invitation to choose the first ' +
              'password of a new account).',
          },
        },
      },
      exchange: {
        token: {
          type: 'string',
          description:
            'Only for `{ email, code }`: the new single-use reset token the code was traded for (use it at `/reset`); ' +
            '`expiresAt` is its expiry. The code and its emailed link no longer work.',
        },
      },
      secondFactor: {
        secondFactor: {
          const: true,
          description: 'Present when the account has a second factor: `/reset` then also needs `otp`.',
        },
      },
    },
  },
  run: async ({ body, flow, requester }) => {
    const { expiresAt, kind, token, secondFactor } = await flow.verify(credentialOf(body), requester.ip);
    return {
      status: 200,
      body: {
        success: true,
        valid: true,
        expiresAt: expiresAt.toISOString(),
        kind,
        ...(token ? { token } : {}),
        ...(secondFactor ? { secondFactor: true } : {}),
      },
    };
  },
};

const reset: EndpointDefinition<ResetBody> = {
  defaultPath: '/reset',
  successStatus: 200,
  errors: [
    ...REQUEST_ERRORS,
    ...TOKEN_ERRORS,
    ...SECOND_FACTOR_ERRORS,
    ...BODY_ERRORS,
    'PASSWORD_REJECTED',
    'RATE_LIMITED',
    'SERVICE_UNAVAILABLE',
    'INTERNAL_ERROR',
  ],
  defaultLimit: { windowMs: FIFTEEN_MINUTES, limit: 50 },
  schema: resetSchema,
  docs: {
    operationId: 'resetPassword',
    summary: 'Set a new password',
    description:
      'Checks the credential, the second factor (`otp`, for accounts that have one) and the password policy first ' +
      '(a refused request leaves the link usable), then consumes the token and stores the new password.',
    requestName: 'ResetRequest',
    examples: (code) => credentialExamples(code, { password: 'correct horse battery staple' }),
    success: {
      description: 'The password was changed; every outstanding link of the user is now dead.',
      name: 'ResetResult',
      schema: {
        type: 'object',
        required: ['success'],
        additionalProperties: false,
        properties: { success: { const: true } },
      },
    },
  },
  run: async ({ body, flow, requester }) => {
    await flow.reset(credentialOf(body), body.password, requester, body.otp);
    return RESET_ANSWER;
  },
};

/** The endpoints, in the order the router mounts them and the OpenAPI document lists them. */
export const ENDPOINTS = { forgot, verify, reset } as const;

/** The name of an endpoint (and of its per-IP limiter). */
export type EndpointName = keyof typeof ENDPOINTS;

export const ENDPOINT_NAMES = Object.keys(ENDPOINTS) as EndpointName[];

/** Every endpoint's request schema, compiled for one router. */
export type RequestSchemas = {
  [Name in EndpointName]: (typeof ENDPOINTS)[Name] extends EndpointDefinition<infer Body>
    ? Joi.ObjectSchema<Body>
    : never;
};

/** Each schema is built on first read (see request-schemas.ts: Joi loads then), once per router. */
export function compileSchemas(settings: SchemaSettings): RequestSchemas {
  const built: Partial<Record<EndpointName, Joi.ObjectSchema>> = {};
  const schemas = {} as RequestSchemas;
  for (const name of ENDPOINT_NAMES) {
    Object.defineProperty(schemas, name, {
      enumerable: true,
      get: () => (built[name] ??= (ENDPOINTS[name] as EndpointDefinition<unknown>).schema(settings)),
    });
  }
  return schemas;
}

/** Every endpoint's body reader: the JSON API's field names (`fields`, `unknownFields`) over the schemas. */
export type RequestReaders = {
  [Name in EndpointName]: (typeof ENDPOINTS)[Name] extends EndpointDefinition<infer Body> ? BodyReader<Body> : never;
};

export function compileReaders(schemas: RequestSchemas, wire: WireFormat): RequestReaders {
  return {
    forgot: bodyReader(() => schemas.forgot, wire),
    verify: bodyReader(() => schemas.verify, wire),
    reset: bodyReader(() => schemas.reset, wire),
  };
}
