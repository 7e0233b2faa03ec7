/**
 * Authing / GenAuth `resetPassword` (`POST /api/v3/reset-password { password, passwordResetToken,
 * passwordEncryptType }`), answering `{ statusCode, message, requestId, data: { success } }` and, on a failure,
 * `{ statusCode, message, apiCode, requestId }`. The email step is served at `POST /api/v3/send-email { email }`
 * (Authing's `channel` and other extra keys are ignored: `unknownFields: 'ignore'`), and the emailed code is
 * traded for `passwordResetToken` at `POST /api/v3/verify-reset-password-request { email, passCode }`
 * (`code.exchange`), answering `{ statusCode, data: { passwordResetToken, tokenExpiresIn } }`.
 *
 * Not as documented:
 * - `passwordEncryptType` `rsa` and `sm2` are refused (400): passwords are not decrypted here, TLS protects them in
 *   transit. `none` (the default) works.
 * - Authing's `verify-reset-password-request` nests the code (`emailPassCodePayload: { email, passCode }`); this
 *   router reads flat bodies, so the example takes `{ email, passCode }`. The emailed link carries a token too.
 * - Phone (SMS) codes are out of scope; only email.
 *
 * Run it: `npx tsx examples/compat/authing.ts`.
 */
import { randomUUID } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import { passwordReset, type ErrorCode } from '../../lib';
import { RESET_URL, runExample, type CompatApp, type CompatDeps } from './shared';

export const AUTHING_MOUNT = '/api/v3';

/** Authing's `apiCode`s are its own; these stand in for them, one per error code of this package. */
const API_CODES: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 2001,
  TOKEN_INVALID: 2010,
  TOKEN_EXPIRED: 2011,
  PASSWORD_REJECTED: 2020,
  RATE_LIMITED: 2030,
};

/** An encrypted password would be stored as typed (the ciphertext): refuse it rather than ignore the key. */
const plainPasswordsOnly: RequestHandler = (req, res, next) => {
  const type = (req.body as { passwordEncryptType?: unknown } | undefined)?.passwordEncryptType;
  if (type === undefined || type === 'none') return next();
  res.status(400).json({
    statusCode: 400,
    message: 'passwordEncryptType must be "none": send the password over TLS as it is',
    apiCode: 2001,
    requestId: randomUUID(),
  });
};

export function createAuthingApp(deps: CompatDeps): CompatApp {
  const router = passwordReset({
    ...deps,
    resetUrl: RESET_URL,
    routes: { forgot: '/send-email', verify: '/verify-reset-password-request', reset: '/reset-password' },
    fields: { token: ['passwordResetToken'], code: ['passCode'], password: ['password'] },
    code: { enabled: true, exchange: true, exchangeTtl: '10m' },
    unknownFields: 'ignore',
    respond: (outcome) => {
      if ('error' in outcome)
        return {
          status: outcome.status,
          body: {
            statusCode: outcome.status,
            message: outcome.error.message,
            apiCode: API_CODES[outcome.error.code] ?? 5000,
            requestId: randomUUID(),
          },
        };
      // /forgot's answer is built once, so it carries no per-request id.
      if (outcome.endpoint === 'forgot')
        return { status: 200, body: { statusCode: 200, message: outcome.body.message } };
      if (outcome.endpoint === 'verify') {
        const { token, expiresAt } = outcome.body;
        const tokenExpiresIn = Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000));
        return {
          status: 200,
          body: { statusCode: 200, requestId: randomUUID(), data: { passwordResetToken: token, tokenExpiresIn } },
        };
      }
      return {
        status: 200,
        body: { statusCode: 200, message: 'Operation successful', requestId: randomUUID(), data: { success: true } },
      };
    },
  });
  const app = express();
  // Reads only the encryption type, on the reset path; a body it cannot parse is left to the router to answer.
  const json = express.json({ limit: '10kb' });
  app.post(`${AUTHING_MOUNT}/reset-password`, (req, res, next) =>
    json(req, res, (error?: unknown) => (error ? next() : plainPasswordsOnly(req, res, next))),
  );
  app.use(AUTHING_MOUNT, router);
  return { app, router };
}

if (require.main === module)
  runExample(
    'Authing resetPassword',
    createAuthingApp,
    `POST ${AUTHING_MOUNT}/send-email, POST ${AUTHING_MOUNT}/verify-reset-password-request, ` +
      `POST ${AUTHING_MOUNT}/reset-password`,
  );
