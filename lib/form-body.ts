/**
 * Parsing of the hosted pages' form posts (`application/x-www-form-urlencoded`),
 * beside `json-body.ts`: same size limit, same error mapping, and it reuses what
 * an app-level `express.urlencoded()` already parsed.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { BODY_LIMIT, toBodyError } from './json-body';

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** True for a request whose body is a plain HTML form post. */
export function isFormPost(req: Request): boolean {
  return req.is(FORM_TYPE) === FORM_TYPE;
}

export function formBody(): RequestHandler {
  // `extended: false`: flat string fields only; a repeated field becomes an array, which validation refuses.
  const parse = express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 20, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    if ((req as Request & { _body?: boolean })._body === true) return next();
    parse(req, res, (error?: unknown) => next(error ? toBodyError(error) : undefined));
  };
}
