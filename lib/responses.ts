import type { NextFunction, Request, Response } from 'express';

import { PasswordResetError } from './errors';

/** Sent on every response of the router: nothing here may be cached or leak through a Referer. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}

/** Writes an error in SPEC's shape, unless a response already started. */
export function sendError(res: Response, error: PasswordResetError): void {
  if (res.headersSent) return;
  res.status(error.status).json(error.toJSON());
}
