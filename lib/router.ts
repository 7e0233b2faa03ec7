/**
 * `passwordReset(options)`: the mountable router. It parses and validates
 * requests, applies the limits and maps results to SPEC's responses; the flow
 * itself lives in `reset-flow.ts`.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { PasswordResetError, ServiceUnavailableError } from './errors';
import { EventSink, secretsOfBody, toEventError } from './events';
import { chain, handle } from './handlers';
import { jsonBody, toBodyError } from './json-body';
import { openApiDocument } from './openapi';
import { resolveOptions } from './options';
import { pageRoutes } from './pages';
import { buildLimiters } from './rate-limits';
import { ResetFlow, type Credential } from './reset-flow';
import { securityHeaders, sendError, sendJson } from './responses';
import { validateBody, type ForgotBody } from './schemas';
import type { PasswordResetOptions } from './types';

/** The router `passwordReset()` returns: mount it with `app.use(path, router)`. */
export interface PasswordResetRouter extends Router {
  /** Kills every outstanding link and code of a user (call it when a password or email changes elsewhere). */
  revokeTokens(userId: string): Promise<void>;
  /** Stops timers and background work: for graceful shutdown and tests. */
  close(): Promise<void>;
}

/** The one answer `/forgot` gives to every well-formed address. */
export const FORGOT_RESPONSE = Object.freeze({
  success: true,
  message: 'If an account exists for that address, an email with a link to reset the password is on its way.',
});

const FORGOT_JSON = JSON.stringify(FORGOT_RESPONSE);

/** `/forgot` requests whose lookup and email may be in progress at once, per router; more are dropped (202 all the same). */
export const MAX_PENDING_REQUESTS = 1000;
const RESET_JSON = JSON.stringify({ success: true });

type ResetBody = Credential & { password?: string; newPassword?: string };

function credentialOf(body: ResetBody): Credential {
  return 'token' in body && body.token !== undefined ? { token: body.token } : { email: (body as { email: string }).email, code: (body as { code: string }).code };
}

export function passwordReset(options: PasswordResetOptions): PasswordResetRouter {
  const config = resolveOptions(options);
  const events = new EventSink(config.hooks.onEvent, config.logger);
  const limiters = buildLimiters(config.rateLimit, events, config.logger);
  const flow = new ResetFlow(config, events, limiters.perEmail);
  const parseJson = jsonBody();
  const pending = new Set<Promise<void>>();
  const router = express.Router() as PasswordResetRouter;

  /** `/forgot`'s work after the answer, tracked so that `close()` can wait for it. */
  const startReset = (email: string, ip: string | undefined): void => {
    // A flood faster than the store or mailer would otherwise queue work (and memory) without bound.
    if (pending.size >= MAX_PENDING_REQUESTS) {
      events.emit({ type: 'error', stage: 'forgot', ip, error: { name: 'OverloadedError', message: `more than ${MAX_PENDING_REQUESTS} reset requests in progress; this one was dropped` } });
      return;
    }
    // Started from the check phase: answers to requests already waiting in this turn of the event loop go out
    // first, so one address's lookup and email never delay the answer to another request.
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() => flow.requestReset(email, ip));
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  /** The error to answer with; what the client must not see goes to `onEvent`. */
  const report = (error: unknown, req: Request): PasswordResetError => {
    const mapped = toBodyError(error);
    if (mapped instanceof ServiceUnavailableError) {
      events.emit({ type: 'error', stage: mapped.dependency, error: toEventError(mapped.cause, secretsOfBody(req.body)), ip: req.ip });
    } else if (!(mapped instanceof PasswordResetError)) {
      events.emit({ type: 'error', stage: 'request', error: toEventError(mapped, secretsOfBody(req.body)), ip: req.ip });
    }
    return mapped instanceof PasswordResetError ? mapped : new PasswordResetError('INTERNAL_ERROR');
  };

  // Form posts and the GET pages; JSON requests pass through to the API below unchanged.
  if (config.pages) router.use(pageRoutes({ config, pages: config.pages, flow, limiters, requestReset: startReset, report }));
  if (config.openapi) {
    const document = openApiDocument({ basePath: '/', code: config.code ?? false });
    // Serialised once per mount path (a router is mounted at one or a few), not per request.
    const serialised = new Map<string, string>();
    const json = (baseUrl: string): string => {
      let body = serialised.get(baseUrl);
      if (body === undefined) serialised.set(baseUrl, (body = JSON.stringify({ ...document, servers: [{ url: baseUrl || '/' }] })));
      return body;
    };
    router.get('/openapi.json', securityHeaders, (req, res) => sendJson(res, 200, json(req.baseUrl)));
  }

  router.post('/forgot', chain(securityHeaders, limiters.forgot, parseJson, (req, res) => {
    const { email } = validateBody<ForgotBody>(config.schemas.forgot, req.body);
    // Answer first: nothing that depends on whether the account exists may happen before the 202 is written.
    sendJson(res, 202, FORGOT_JSON);
    startReset(email, req.ip);
  }));

  router.post('/verify', chain(securityHeaders, limiters.verify, parseJson, handle(async (req, res) => {
    const body = validateBody<Credential>(config.schemas.verify, req.body);
    const { expiresAt } = await flow.verify(credentialOf(body as ResetBody), req.ip);
    sendJson(res, 200, JSON.stringify({ success: true, valid: true, expiresAt: expiresAt.toISOString() }));
  })));

  router.post('/reset', chain(securityHeaders, limiters.reset, parseJson, handle(async (req, res) => {
    const body = validateBody<ResetBody>(config.schemas.reset, req.body);
    await flow.reset(credentialOf(body), body.password ?? body.newPassword ?? '', req);
    sendJson(res, 200, RESET_JSON);
  })));

  // Every error raised in this router is answered here, in the API's shape: never Express's HTML page.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = report(error, req);
    securityHeaders(req, res, () => undefined);
    sendError(res, mapped);
  });

  router.revokeTokens = (userId: string) => flow.revokeTokens(userId);
  router.close = async () => {
    await Promise.allSettled([...pending]);
    await flow.drain();
    await Promise.all([limiters.shutdown(), config.store.close(), config.mailer.close?.()]);
  };
  return router;
}
