/**
 * The router's HTTP API as an OpenAPI 3.1 document. Request bodies are
 * converted from the very Joi schemas the router validates with (by
 * joi-to-json), and error statuses and messages come from `PasswordResetError`,
 * so the document cannot drift from what the router does.
 */
import type Joi from 'joi';
import type * as JoiToJson from 'joi-to-json';
import { PasswordResetError, type ErrorCode } from '../core/errors';
import { DEFAULTS } from '../options/defaults';
import { resolveFields, resolveRoutes } from '../options/resolve';
import type { FieldsOptions, RoutesOptions } from '../options/types';
import { invalidOption } from '../options/checks';
import { checkFields, checkRoutes } from '../options/validate';
import { ENDPOINTS, ENDPOINT_NAMES, SECOND_FACTOR_ERRORS, compileSchemas, type EndpointName } from './endpoints';
import type { WireFormat } from './request-schemas';

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** Where the router is mounted, e.g. `'/auth/password'`: the document's server URL. @default '/' */
  basePath?: string;
  /**
   * Describe the code flow's bodies too (`{ email, code }` beside `{ token }`), as with `code: { enabled: true }`;
   * `exchange: true` adds the `token` a right code is traded for to `/verify`'s answer, as with `code.exchange`.
   * @default false
   */
  code?: boolean | { digits?: number; exchange?: boolean };
  /** **(0.2)** The router's `routes`: the paths documented. @default the default routes */
  routes?: RoutesOptions;
  /** **(0.2)** The router's `fields`: the request bodies' field names. @default the default names */
  fields?: FieldsOptions;
  /**
   * **(0.2)** The router has `secondFactor`: `/reset` documents `otp` and its `401` answers, `/verify` its
   * `secondFactor` member. @default false
   */
  secondFactor?: boolean;
  /** **(0.2)** The router's `unknownFields`: `'ignore'` documents bodies as open to other keys. @default 'reject' */
  unknownFields?: 'reject' | 'ignore';
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

/** Version of the HTTP API this document describes (not of the package). */
const API_VERSION = '1.0.0';

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

let parseJoi: ((joi: Joi.Schema, mode: 'open-api-3.1') => JsonObject) | undefined;

/**
 * Joi → JSON Schema in OpenAPI 3.1's dialect. joi-to-json (and the lodash it brings) is loaded on first use: it costs
 * ~20 ms and ~9 MB at startup that apps without `openapi` should not pay. The ESM build defines `require` (tsup
 * banner), so this works from both builds.
 */
function toJsonSchema(schema: Joi.Schema): JsonObject {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
  parseJoi ??= require('joi-to-json') as typeof JoiToJson.default as unknown as typeof parseJoi;
  return parseJoi!(schema, 'open-api-3.1');
}

function errorResponse(codes: ErrorCode[], status: number): JsonObject {
  const errors = codes.map((code) => new PasswordResetError(code));
  const headers: JsonObject = {
    'Cache-Control': { $ref: '#/components/headers/CacheControl' },
    'Referrer-Policy': { $ref: '#/components/headers/ReferrerPolicy' },
  };
  if (status === 429) {
    headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
    for (const name of ['RateLimit-Policy', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'])
      headers[name] = { $ref: `#/components/headers/${name.replace(/-/g, '')}` };
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
    headers: {
      'Cache-Control': { $ref: '#/components/headers/CacheControl' },
      'Referrer-Policy': { $ref: '#/components/headers/ReferrerPolicy' },
    },
    content: { 'application/json': { schema: ref(schema) } },
  };
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A request schema converted from Joi (under this package's own field names) rewritten to the names of `fields`:
 * a field with several names is any one of them, and never two at once. The router validates the same way (a body
 * reader maps the names, then the Joi schema checks the body), so the two agree.
 */
function wireSchema(schema: JsonObject, wire: WireFormat): JsonObject {
  const namesOf = (key: string): readonly string[] => wire.fields[key as keyof WireFormat['fields']] ?? [key];
  const anyOf = (key: string): JsonObject => {
    const names = namesOf(key);
    return names.length === 1 ? { required: [...names] } : { anyOf: names.map((name) => ({ required: [name] })) };
  };
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    const allOf: unknown[] = [];
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && isObject(value)) {
        out.properties = Object.fromEntries(
          Object.entries(value).flatMap(([field, sub]) => namesOf(field).map((name) => [name, rewrite(sub)])),
        );
      } else if (key === 'required' && Array.isArray(value)) {
        const fields = value as string[];
        const single = fields.filter((field) => namesOf(field).length === 1).map((field) => namesOf(field)[0]);
        if (single.length > 0) out.required = single;
        allOf.push(...fields.filter((field) => namesOf(field).length > 1).map(anyOf));
      } else if (key === 'propertyNames' && isObject(value) && Array.isArray(value.enum)) {
        out.propertyNames = { ...value, enum: (value.enum as string[]).flatMap(namesOf) };
      } else if (key === 'dependentRequired' && isObject(value)) {
        for (const [field, peers] of Object.entries(value))
          allOf.push({ if: anyOf(field), then: { allOf: (peers as string[]).map(anyOf) } });
      } else if (key === 'allOf' && Array.isArray(value)) {
        allOf.unshift(...value.map(rewrite));
      } else if (key === 'additionalProperties' && wire.unknownFields === 'ignore') {
        // Unknown keys are dropped unread.
      } else {
        out[key] = rewrite(value);
      }
    }
    if (allOf.length > 0) out.allOf = allOf;
    return out;
  };
  const rewritten = rewrite(schema) as JsonObject;
  // One name per field: two names of one field in one body is a 400.
  const properties = Object.keys(isObject(schema.properties) ? schema.properties : {});
  const twice = properties
    .map(namesOf)
    .filter((names) => names.length > 1)
    .flatMap((names) => names.flatMap((a, i) => names.slice(i + 1).map((b) => ({ required: [a, b] }))));
  if (twice.length > 0)
    rewritten.allOf = [...((rewritten.allOf as unknown[] | undefined) ?? []), { not: { anyOf: twice } }];
  return rewritten;
}

/** An example body under the names of `fields` (the first name of each). */
function wireExample(value: object, wire: WireFormat): object {
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [wire.fields[key as keyof WireFormat['fields']]?.[0] ?? key, field]),
  );
}

function operation(
  name: EndpointName,
  code: { digits: number } | undefined,
  wire: WireFormat,
  secondFactor: boolean,
): JsonObject {
  const { successStatus, docs } = ENDPOINTS[name];
  const errors = errorsOf(name, secondFactor);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const errorCode of errors) {
    const status = new PasswordResetError(errorCode).status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), errorCode]);
  }
  const responses: JsonObject = { [String(successStatus)]: okResponse(docs.success.description, docs.success.name) };
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b))
    responses[String(status)] = errorResponse(codes, status);
  return {
    post: {
      operationId: docs.operationId,
      summary: docs.summary,
      description: docs.description,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: ref(docs.requestName),
            examples: Object.fromEntries(
              Object.entries(docs.examples(code)).map(([key, example]) => [
                key,
                { ...example, value: wireExample(example.value, wire) },
              ]),
            ),
          },
        },
      },
      responses,
    },
  };
}

/** The error codes an endpoint answers with: the second factor's only when the router has one. */
function errorsOf(name: EndpointName, secondFactor: boolean): readonly ErrorCode[] {
  const { errors } = ENDPOINTS[name];
  return secondFactor ? errors : errors.filter((code) => !SECOND_FACTOR_ERRORS.includes(code));
}

/**
 * The OpenAPI 3.1 document of the router's JSON API (`POST /forgot`,
 * `/verify`, `/reset`). With `openapi: true` the router serves it at
 * `GET /openapi.json`, with its mount path as the server URL.
 */
export function openApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  const settings =
    options.code === undefined || options.code === false ? undefined : options.code === true ? {} : options.code;
  const code = settings ? { digits: settings.digits ?? DEFAULTS.code.digits } : undefined;
  const exchange = settings?.exchange ?? DEFAULTS.code.exchange;
  checkRoutes(options.routes);
  checkFields(options.fields);
  if (options.unknownFields !== undefined && options.unknownFields !== 'reject' && options.unknownFields !== 'ignore')
    invalidOption('unknownFields', "must be 'reject' or 'ignore'");
  const routes = resolveRoutes(options.routes);
  const wire: WireFormat = {
    fields: resolveFields(options.fields),
    unknownFields: options.unknownFields ?? DEFAULTS.unknownFields,
  };
  const secondFactor = options.secondFactor ?? false;
  const schemas = compileSchemas({ codeDigits: code?.digits, secondFactor });
  const served = ENDPOINT_NAMES.filter((name) => routes[name] !== false);
  const allCodes = [...new Set(served.flatMap((name) => errorsOf(name, secondFactor)))];
  const paths: JsonObject = {};
  const requestSchemas: JsonObject = {};
  const successSchemas: JsonObject = {};
  for (const name of served) {
    const path = routes[name] as string;
    const { docs } = ENDPOINTS[name];
    paths[path] = operation(name, code, wire, secondFactor);
    requestSchemas[docs.requestName] = wireSchema(toJsonSchema(schemas[name]), wire);
    const success = structuredClone(docs.success.schema);
    if (exchange && docs.success.exchange) {
      success.properties = { ...(success.properties as JsonObject), ...structuredClone(docs.success.exchange) };
    }
    if (secondFactor && docs.success.secondFactor) {
      success.properties = { ...(success.properties as JsonObject), ...structuredClone(docs.success.secondFactor) };
    }
    successSchemas[docs.success.name] = success;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'express-password-reset',
      version: API_VERSION,
      description:
        'The "forgot password" API of an express-password-reset router. Requests and responses are JSON; ' +
        'every response has `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.' +
        (code
          ? ' The code flow is on: `/verify` and `/reset` also accept `{ email, code }` in place of `{ token }`.'
          : '') +
        (code && exchange
          ? ' A right code at `/verify` is traded for a new single-use token (`token` in the answer), and the code ' +
            'and its emailed link stop working.'
          : ''),
    },
    servers: [{ url: options.basePath ?? '/' }],
    paths,
    components: {
      schemas: {
        ...requestSchemas,
        ...successSchemas,
        ErrorDetail: {
          type: 'object',
          required: ['field', 'message'],
          additionalProperties: false,
          properties: {
            field: { type: 'string', description: 'The request field (or `password` for a policy rule).' },
            message: { type: 'string' },
            rule: {
              type: 'string',
              description: 'For `PASSWORD_REJECTED`: the policy rule, e.g. `minLength`, `common`, `breached`.',
            },
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
        ReferrerPolicy: {
          description: 'No URL of this API leaks through a Referer.',
          required: true,
          schema: { const: 'no-referrer' },
        },
        RetryAfter: {
          description: 'Seconds until a request is allowed again.',
          required: true,
          schema: { type: 'string', pattern: '^[0-9]+$' },
        },
        RateLimitPolicy: {
          description: 'The limit and window, e.g. `20;w=900`.',
          required: true,
          schema: { type: 'string' },
        },
        RateLimitLimit: {
          description: 'Requests allowed per window.',
          required: true,
          schema: { type: 'string', pattern: '^[0-9]+$' },
        },
        RateLimitRemaining: {
          description: 'Requests left in this window.',
          required: true,
          schema: { type: 'string', pattern: '^[0-9]+$' },
        },
        RateLimitReset: {
          description: 'Seconds until the window resets.',
          required: true,
          schema: { type: 'string', pattern: '^[0-9]+$' },
        },
      },
    },
  };
}
