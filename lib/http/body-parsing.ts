/**
 * The router's own body parsing: JSON for the API, urlencoded forms for the
 * hosted pages. It works whether or not the app mounted `express.json()` or
 * `express.urlencoded()` (what they parsed is used), and every parse problem is
 * answered in the API's error shape instead of Express's HTML error page.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { PasswordResetError } from '../core/errors';

/** Bodies of this API are a few short strings; anything larger is refused early, by Content-Length. */
export const BODY_LIMIT = '8kb';

const BODY_PARSER_ERRORS: Record<string, PasswordResetError> = {
  'entity.too.large': new PasswordResetError('PAYLOAD_TOO_LARGE'),
  'entity.parse.failed': new PasswordResetError('MALFORMED_JSON'),
  'encoding.unsupported': new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'),
  'charset.unsupported': new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'),
};

export function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** Maps a body-parser error to the API's; other errors pass unchanged. */
export function toBodyError(error: unknown): unknown {
  const { type, code } = (error ?? {}) as { type?: unknown; code?: unknown };
  if (typeof type === 'string') return BODY_PARSER_ERRORS[type] ?? new PasswordResetError('MALFORMED_JSON');
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR): a body that does not decode in its Content-Encoding is bad input.
  if (typeof code === 'string' && /^Z_[A-Z_]+$/.test(code)) return new PasswordResetError('MALFORMED_JSON');
  return error;
}

/** True once a body parser (the app's or ours) has read this request's body. */
function alreadyParsed(req: Request): boolean {
  return (req as Request & { _body?: boolean })._body === true;
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
    if (alreadyParsed(req)) return next();
    parse(req, res, (error?: unknown) => next(error ? toBodyError(error) : undefined));
  };
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** True for a request whose body is a plain HTML form post. */
export function isFormPost(req: Request): boolean {
  return req.is(FORM_TYPE) === FORM_TYPE;
}

export function formBody(): RequestHandler {
  // `extended: false`: flat string fields only; a repeated field becomes an array, which validation refuses.
  const parse = express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 20, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (alreadyParsed(req)) return next();
    parse(req, res, (error?: unknown) => next(error ? toBodyError(error) : undefined));
  };
}
