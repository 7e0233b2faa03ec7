import type { NextFunction, Request, Response } from 'express';

import { PasswordResetError } from './errors';

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

/** Writes an error in SPEC's shape, unless a response already started. */
export function sendError(res: Response, error: PasswordResetError): void {
  if (res.headersSent) return;
  sendJson(res, error.status, JSON.stringify(error));
}
