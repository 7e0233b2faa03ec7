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
import { ENDPOINTS, ENDPOINT_NAMES, type EndpointDefinition, type RequestSchemas } from './endpoints';
import type { Limiters } from './rate-limits';
import { validateBody } from './request-schemas';
import { catchAsync, enabledHandlers, securityHeaders, sendError, sendJson } from './responses';

const METHOD_NOT_ALLOWED = new PasswordResetError('METHOD_NOT_ALLOWED');

/** Maps any error to the API error answered with, emitting the event the app must hear of it. */
export type ApiErrorMapper = (error: unknown, req: Request) => PasswordResetError;

/** What the client must not see (a dependency's failure, a bug) goes to `onEvent`; the client gets a code. */
export function apiErrorMapper(events: EventSink): ApiErrorMapper {
  return (error, req) => {
    const mapped = toBodyError(error);
    // Only what reaches an event needs scrubbing: a client's own mistake (a PasswordResetError) costs nothing here.
    if (mapped instanceof ServiceUnavailableError) {
      const error = toEventError(mapped.cause, secretsOfBody(req.body));
      events.emit({ type: 'error', stage: mapped.dependency, error, ip: req.ip });
    } else if (!(mapped instanceof PasswordResetError)) {
      events.emit({
        type: 'error',
        stage: 'request',
        error: toEventError(mapped, secretsOfBody(req.body)),
        ip: req.ip,
      });
    }
    return mapped instanceof PasswordResetError ? mapped : new PasswordResetError('INTERNAL_ERROR');
  };
}

/** The flow's view of an Express request. */
export function requesterOf(req: Request): Requester<Request> {
  return { ip: req.ip, context: req, secrets: () => secretsOfBody(req.body) };
}

export interface JsonApiDependencies {
  schemas: RequestSchemas;
  flow: ResetFlow<Request>;
  limiters: Limiters;
}

/** Adds the API's routes to `router` (on it, not in a sub-router: one layer less per request). */
export function addJsonApi(router: Router, { schemas, flow, limiters }: JsonApiDependencies): void {
  const parseJson = jsonBody();
  for (const name of ENDPOINT_NAMES) {
    // Each entry is typed with its own body; read through the common shape, the schema and `run` still agree.
    const endpoint = ENDPOINTS[name] as EndpointDefinition<unknown>;
    const schema = schemas[name];
    const handler = catchAsync(async (req, res) => {
      const call = { body: validateBody<unknown>(schema, req.body), flow, requester: requesterOf(req) };
      const answer = await endpoint.run(call);
      sendJson(res, answer.status, answer.json);
      endpoint.afterAnswer?.(call);
    });
    router.post(endpoint.path, enabledHandlers(securityHeaders, limiters.perIp[name], parseJson, handler));
  }
}

/**
 * Other methods on the router's own paths: `405 METHOD_NOT_ALLOWED` with `Allow`, instead of falling through to
 * the app's HTML 404; `OPTIONS` answers `204` with `Allow` and the security headers. `allowed` maps each path the
 * router serves to the methods it answers there.
 */
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
export function addApiErrorHandler(router: Router, toApiError: ApiErrorMapper): void {
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = toApiError(error, req);
    securityHeaders(req, res, () => undefined);
    sendError(res, mapped);
  });
}
