/**
 * The router's own JSON body parsing, so it works whether or not the app
 * mounted `express.json()`, and so that every parse problem is answered in the
 * API's error shape instead of Express's HTML error page.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { PasswordResetError } from './errors';

/** Bodies of this API are a few short strings; anything larger is refused early, by Content-Length. */
export const BODY_LIMIT = '8kb';

const BODY_PARSER_ERRORS: Record<string, PasswordResetError> = {
  'entity.too.large': new PasswordResetError('PAYLOAD_TOO_LARGE'),
  'entity.parse.failed': new PasswordResetError('MALFORMED_JSON'),
  'encoding.unsupported': new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'),
  'charset.unsupported': new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'),
};

export function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/** Maps a body-parser error to the API's; other errors pass unchanged. */
export function toBodyError(error: unknown): unknown {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? BODY_PARSER_ERRORS[type] ?? new PasswordResetError('MALFORMED_JSON') : error;
}

export function jsonBody(): RequestHandler {
  const parse = express.json({ limit: BODY_LIMIT, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hasBody(req)) {
      req.body = {};
      return next();
    }
    if (!req.is('application/json')) return next(new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'));
    // The app's own express.json() got here first: use what it parsed.
    if ((req as Request & { _body?: boolean })._body === true) return next();
    parse(req, res, (error?: unknown) => next(error ? toBodyError(error) : undefined));
  };
}
