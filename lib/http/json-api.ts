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

/** Maps any error to the API error answered with, emitting the event the app must hear of it. */
export type ApiErrorMapper = (error: unknown, req: Request) => PasswordResetError;

/** What the client must not see (a dependency's failure, a bug) goes to `onEvent`; the client gets a code. */
export function apiErrorMapper(events: EventSink): ApiErrorMapper {
  return (error, req) => {
    const mapped = toBodyError(error);
    const secrets = secretsOfBody(req.body);
    if (mapped instanceof ServiceUnavailableError) {
      events.emit({ type: 'error', stage: mapped.dependency, error: toEventError(mapped.cause, secrets), ip: req.ip });
    } else if (!(mapped instanceof PasswordResetError)) {
      events.emit({ type: 'error', stage: 'request', error: toEventError(mapped, secrets), ip: req.ip });
    }
    return mapped instanceof PasswordResetError ? mapped : new PasswordResetError('INTERNAL_ERROR');
  };
}

/** The flow's view of an Express request. */
export function requesterOf(req: Request): Requester<Request> {
  return { ip: req.ip, context: req, secrets: secretsOfBody(req.body) };
}

export interface JsonApiDependencies {
  schemas: RequestSchemas;
  flow: ResetFlow<Request>;
  limiters: Limiters;
  toApiError: ApiErrorMapper;
}

/** Adds the API's routes and its error handler to `router` (on it, not in a sub-router: one layer less per request). */
export function addJsonApi(router: Router, { schemas, flow, limiters, toApiError }: JsonApiDependencies): void {
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

  // Every error raised in this router is answered here, in the API's shape: never Express's HTML page.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = toApiError(error, req);
    securityHeaders(req, res, () => undefined);
    sendError(res, mapped);
  });
}
