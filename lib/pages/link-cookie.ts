/**
 * The emailed link's token, moved out of the address bar: the first load of
 * `GET /reset?token=…` stores it in this cookie and redirects to the clean
 * `/reset`, so the token stays out of history, bookmarks, screenshots and the
 * access logs of every later request.
 *
 * - `HttpOnly`: no script reads it; `Path` is the reset page itself, so no other
 *   page of the site is ever sent it.
 * - `SameSite=Lax`, not `Strict`: the redirect follows a click in a webmail, and
 *   browsers withhold Strict cookies from every request of a navigation that
 *   another site started, redirects included, so the clean page would never see
 *   it. Lax only lets it ride on top-level GETs, which merely show the form; the
 *   form post still needs the Strict CSRF cookie (see `csrf.ts`).
 * - `Secure` with the `__Secure-` prefix over HTTPS; plain-HTTP development
 *   (`http://localhost`) uses the bare name, which browsers would not store
 *   otherwise.
 * - Short-lived, and cleared once the link is used or found dead.
 */
import type { Request, Response } from 'express';
import { readCookie } from './csrf';

/** Longest a token waits in the browser; opening the link again sets it anew. */
const MAX_AGE_MS = 60 * 60 * 1000;

/** What a token of this package can look like; anything else never becomes a cookie. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,512}$/;

function cookieName(req: Request): string {
  return req.secure ? '__Secure-epr_link' : 'epr_link';
}

/** The reset page's full path, wherever the router is mounted. */
function cookiePath(req: Request, resetPath: string): string {
  return `${req.baseUrl}${resetPath}`;
}

export function setLinkCookie(req: Request, res: Response, resetPath: string, token: string, ttlMs: number): void {
  res.cookie(cookieName(req), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: cookiePath(req, resetPath),
    maxAge: Math.min(ttlMs, MAX_AGE_MS),
  });
}

export function readLinkCookie(req: Request): string | undefined {
  const value = readCookie(req, cookieName(req));
  return value !== undefined && TOKEN_SHAPE.test(value) ? value : undefined;
}

export function clearLinkCookie(req: Request, res: Response, resetPath: string): void {
  if (readCookie(req, cookieName(req)) === undefined) return;
  res.clearCookie(cookieName(req), {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    path: cookiePath(req, resetPath),
  });
}
