/**
 * Writing answers: the headers every answer of the router carries, JSON bodies
 * written directly, and the two helpers every route is built with.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Sent on every response of the router: nothing here may be cached or leak through a Referer. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}

/**
 * Writes a JSON body directly. `res.json()` would also hash every body for an
 * ETag, which is wasted work on uncacheable POST answers.
 */
export function sendBody(res: Response, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export function sendJson(res: Response, status: number, json: string): void {
  sendBody(res, status, 'application/json; charset=utf-8', json);
}

/** Express 4 does not catch rejected promises: every async handler goes through this, which hands them to `next`. */
export function catchAsync(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

/** A route's handlers without the ones switched off (a limiter set to `false` is `undefined`). */
export function enabledHandlers(...handlers: (RequestHandler | undefined)[]): RequestHandler[] {
  return handlers.filter((handler): handler is RequestHandler => handler !== undefined);
}
