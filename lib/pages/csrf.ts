/**
 * Protection of the hosted pages' form posts against cross-site submission.
 *
 * A per-browser double-submit cookie, checked together with Fetch Metadata:
 * - the page sets a random 256-bit value in an HttpOnly, SameSite=Strict
 *   cookie (`__Host-` prefixed over HTTPS, so a sibling subdomain cannot plant
 *   one) and repeats it in a hidden form field; a post must carry both, equal.
 *   Another site can neither read the cookie or the page, nor make the browser
 *   send a SameSite=Strict cookie with its own post.
 * - when the browser sends `Sec-Fetch-Site`, anything but `same-origin` (or a
 *   user-typed `none`) is refused outright.
 * An `Origin` check cannot be the main defence: the pages are served with
 * `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` on
 * form posts. No server-side secret is involved, so any number of instances
 * accept each other's forms.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/** The name of the hidden form field. */
export const CSRF_FIELD = '_csrf';

const VALUE = /^[A-Za-z0-9_-]{43}$/;

function cookieName(req: Request): string {
  // `__Host-` cookies must be Secure, so plain-HTTP development uses the bare name.
  return req.secure ? '__Host-epr_csrf' : 'epr_csrf';
}

/** The value of the cookie `name` as the browser sent it. */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The value for the hidden field; sets the cookie when the browser has no valid one yet. */
export function issueCsrfValue(req: Request, res: Response): string {
  const name = cookieName(req);
  const existing = readCookie(req, name);
  // Reuse the browser's value, so forms open in several tabs all stay valid.
  if (existing !== undefined && VALUE.test(existing)) return existing;
  const value = randomBytes(32).toString('base64url');
  res.cookie(name, value, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
  return value;
}

/** True when the form post came from one of this site's pages (see the module comment). */
export function isSameSitePost(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const cookie = readCookie(req, cookieName(req));
  const field = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  if (cookie === undefined || !VALUE.test(cookie) || typeof field !== 'string' || field.length !== cookie.length)
    return false;
  return timingSafeEqual(Buffer.from(field), Buffer.from(cookie));
}
