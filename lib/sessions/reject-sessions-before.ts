/**
 * Signing out everywhere without knowing the session store: a request is
 * refused when what signed it in (a session, a JWT) is older than the user's
 * last password change. Deleting sessions needs a store that can be queried
 * by user (connect-mongo can only with `stringify: false` and no encryption;
 * a JWT cannot be deleted at all); comparing two times works for any of them.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { OptionsError } from '../core/errors';
import { checkFunction, checkObject } from '../options/checks';

/** Who a request is signed in as, and since when. */
export interface SignedIn {
  /** The user's id, as the router's `User.id`. */
  userId: string;
  /**
   * When this session or token was issued (set it at sign-in, e.g. `req.session.signedInAt = Date.now()`; for a
   * JWT, `payload.iat * 1000`). `undefined` means unknown, and is refused once the user has changed the password.
   */
  issuedAt: Date | number | undefined;
}

/** What `rejectSessionsBefore()` needs: two reads, and optionally its own answer. */
export interface RejectSessionsBeforeOptions {
  /**
   * Who `req` is signed in as, or `undefined` when it is not signed in (the request is then passed on untouched:
   * authorising it stays your route's job). Read from `req.session` or from an already verified JWT.
   */
  getSignedIn: (req: Request) => SignedIn | undefined | Promise<SignedIn | undefined>;
  /**
   * When the user's password last changed, or `null`/`undefined` if it never did (nothing is refused then). Record
   * it in `hooks.onPasswordReset` (or let your users adapter write it). A throw is passed to `next(err)`: the
   * request is refused, not let through, while the time cannot be read.
   */
  getUserChangedAt: (userId: string) => Date | number | null | undefined | Promise<Date | number | null | undefined>;
  /**
   * Answers a refused request. Default: `401` with `{ success: false, error: { code: 'SESSION_REVOKED', message } }`.
   * Destroy the session here (`req.session.destroy`) so the old cookie is dead for good, or redirect to sign-in.
   */
  onRejected?: (req: Request, res: Response, next: NextFunction) => void | Promise<void>;
}

/** The code of the default `401` answer to a refused request. */
export const SESSION_REVOKED = 'SESSION_REVOKED';

const OPTIONS = ['getSignedIn', 'getUserChangedAt', 'onRejected'] as const;

function requireFunction(option: string, value: unknown): void {
  if (value === undefined) {
    throw new OptionsError('ERR_EPR_OPTION_REQUIRED', option, 'is required: a function');
  }
  checkFunction(option, value);
}

function millis(time: Date | number): number {
  return typeof time === 'number' ? time : time.getTime();
}

function defaultRejected(_req: Request, res: Response): void {
  res.status(401).json({
    success: false,
    error: { code: SESSION_REVOKED, message: 'This session ended when the password was changed. Sign in again.' },
  });
}

/**
 * Middleware that refuses a request signed in before the user's last password change: mount it before the routes
 * that need a signed-in user, after `express-session` (or your JWT verification). A session or token issued in the
 * same millisecond as the change is refused too, as is a JWT signed in the same second (its `iat` is in seconds):
 * a refused sign-in costs a retry, a let-through one the account.
 */
export function rejectSessionsBefore(options: RejectSessionsBeforeOptions): RequestHandler {
  const checked = checkObject('rejectSessionsBefore', options, OPTIONS);
  requireFunction('rejectSessionsBefore.getSignedIn', checked.getSignedIn);
  requireFunction('rejectSessionsBefore.getUserChangedAt', checked.getUserChangedAt);
  checkFunction('rejectSessionsBefore.onRejected', checked.onRejected);
  const { getSignedIn, getUserChangedAt } = options;
  const onRejected = options.onRejected ?? defaultRejected;

  const decide = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const signedIn = await getSignedIn(req);
    if (!signedIn) return next();
    const changedAt = await getUserChangedAt(signedIn.userId);
    if (changedAt === null || changedAt === undefined) return next();
    const issuedAt = signedIn.issuedAt === undefined ? Number.NEGATIVE_INFINITY : millis(signedIn.issuedAt);
    // An unreadable time (an Invalid Date) compares false both ways: refuse it rather than let it through.
    if (issuedAt > millis(changedAt)) return next();
    await onRejected(req, res, next);
  };

  return (req, res, next) => {
    decide(req, res, next).catch(next);
  };
}
