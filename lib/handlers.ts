import type { Request, RequestHandler, Response } from 'express';

/** Express 4 does not catch rejected promises: every async handler goes through this. */
export function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

/** A route's handlers without the ones switched off (a limiter set to `false` is `undefined`). */
export function chain(...handlers: (RequestHandler | undefined)[]): RequestHandler[] {
  return handlers.filter((handler): handler is RequestHandler => handler !== undefined);
}
