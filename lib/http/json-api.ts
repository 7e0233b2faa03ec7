/**
 * The JSON API: one `POST` route per entry of the endpoints table, each behind
 * the security headers, its per-IP limiter and the JSON body parser, and one
 * error handler that answers everything in the API's error shape.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { PasswordResetError, ServiceUnavailableError } from '../core/errors';
import { secretsOfBody, toEventError, type EventSink } from '../core/events';
import type { Requester, ResetFlow } from '../core/reset-flow';
import { jsonBody, toBodyError } from './body-parsing';
import type { EndpointName, RoutePath } from '../options/types';
import { ENDPOINTS, ENDPOINT_NAMES, type EndpointDefinition, type RequestReaders } from './endpoints';
import type { Limiters } from './rate-limits';
import type { Answers } from './respond';
import { catchAsync, enabledHandlers, securityHeaders } from './responses';

const METHOD_NOT_ALLOWED = new PasswordResetError('METHOD_NOT_ALLOWED');

/** Maps any error to the API error answered with, emitting the event the app must hear of it. */
export type ApiErrorMapper = (error: unknown, req: Request) => PasswordResetError;

/** What the client must not see (a dependency's failure, a bug) goes to `onEvent`; the client gets a code. */
export function apiErrorMapper(events: EventSink, secretKeys?: readonly string[]): ApiErrorMapper {
  return (error, req) => {
    const mapped = toBodyError(error);
    // Only what reaches an event needs scrubbing: a client's own mistake (a PasswordResetError) costs nothing here.
    if (mapped instanceof ServiceUnavailableError) {
      const error = toEventError(mapped.cause, secretsOfBody(req.body, secretKeys));
      events.emit({ type: 'error', stage: mapped.dependency, error, ip: req.ip });
    } else if (!(mapped instanceof PasswordResetError)) {
      events.emit({
        type: 'error',
        stage: 'request',
        error: toEventError(mapped, secretsOfBody(req.body, secretKeys)),
        ip: req.ip,
      });
    }
    return mapped instanceof PasswordResetError ? mapped : new PasswordResetError('INTERNAL_ERROR');
  };
}

/** The flow's view of an Express request. */
export function requesterOf(req: Request, secretKeys?: readonly string[]): Requester<Request> {
  return { ip: req.ip, context: req, secrets: () => secretsOfBody(req.body, secretKeys) };
}

/** Which endpoint a request came in on, for `respond` (absent: a path of the router that is no endpoint). */
const endpointOfRequest = new WeakMap<Request, EndpointName>();

export function endpointOf(req: Request): EndpointName | undefined {
  return endpointOfRequest.get(req);
}

/**
 * Marks each request on an endpoint's path with the endpoint's name, before anything (pages, limiters, body
 * parsing, 405 guards) can fail it, so every error answer there goes through `respond` as that endpoint's.
 */
export function addEndpointTags(router: Router, routes: Readonly<Record<EndpointName, RoutePath | false>>): void {
  for (const name of ENDPOINT_NAMES) {
    const path = routes[name];
    if (path === false) continue;
    router.all(path, (req, _res, next) => {
      endpointOfRequest.set(req, name);
      next();
    });
  }
}

export interface JsonApiDependencies {
  readers: RequestReaders;
  routes: Readonly<Record<EndpointName, RoutePath | false>>;
  flow: ResetFlow<Request>;
  limiters: Limiters;
  answers: Answers;
  secretKeys: readonly string[];
}

/** Adds the API's routes to `router` (on it, not in a sub-router: one layer less per request). */
export function addJsonApi(router: Router, deps: JsonApiDependencies): void {
  const { readers, routes, flow, limiters, answers, secretKeys } = deps;
  const parseJson = jsonBody();
  for (const name of ENDPOINT_NAMES) {
    const path = routes[name];
    if (path === false) continue;
    // Each entry is typed with its own body; read through the common shape, the reader and `run` still agree.
    const endpoint = ENDPOINTS[name] as EndpointDefinition<unknown>;
    const read = readers[name] as (body: unknown) => unknown;
    const handler = catchAsync(async (req, res) => {
      const call = { body: read(req.body), flow, requester: requesterOf(req, secretKeys) };
      const answer = await endpoint.run(call);
      if (answers.success(req, res, name, answer)) endpoint.afterAnswer?.(call);
    });
    router.post(path, enabledHandlers(securityHeaders, limiters.perIp[name], parseJson, handler));
  }
}

/**
 * Other methods on the router's own paths: `405 METHOD_NOT_ALLOWED` with `Allow`, instead of falling through to
 * the app's HTML 404; `OPTIONS` answers `204` with `Allow` and the security headers. `allowed` maps each path the
 * router serves to the methods it answers there.
 */
/**
 * `OPTIONS` on the router's paths: `204` with `Allow` and the security headers. Registered before the hosted pages,
 * whose sub-router would otherwise answer it with Express's automatic reply (200, no security headers).
 */
export function addOptionsAnswers(router: Router, allowed: ReadonlyMap<string, readonly string[]>): void {
  for (const [path, methods] of allowed) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    router.options(path, securityHeaders, (_req, res) => {
      res.setHeader('Allow', allow);
      res.statusCode = 204;
      res.end();
    });
  }
}

export function addMethodGuards(router: Router, allowed: ReadonlyMap<string, readonly string[]>): void {
  for (const [path, methods] of allowed) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    router.all(path, securityHeaders, (req, res, next) => {
      res.setHeader('Allow', allow);
      if (req.method !== 'OPTIONS') return next(METHOD_NOT_ALLOWED);
      res.statusCode = 204;
      res.end();
    });
  }
}

/** Every error raised in the router is answered here, in the API's shape: never Express's HTML page. */
export function addApiErrorHandler(router: Router, toApiError: ApiErrorMapper, answers: Answers): void {
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = toApiError(error, req);
    securityHeaders(req, res, () => undefined);
    answers.error(req, res, endpointOf(req), mapped);
  });
}
