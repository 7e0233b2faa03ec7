/**
 * A generic `POST /auth/reset-password` ("Reset user password with a code (resetToken)") whose errors are
 * `{ code: <number>, message }`: `403` for a refused reset, `404` "not found", and the same shape by default.
 *
 * Not as documented: `404` is never answered for an unknown account, by design (it would tell anyone which addresses
 * have accounts): an unknown or used `resetToken` is `403` like any refused one. The document names no request step;
 * this example serves it at `POST /auth/forgot-password { email }`.
 *
 * Run it: `npx tsx examples/compat/generic.ts`.
 */
import express from 'express';
import { passwordReset, type ErrorCode } from '../../lib';
import { RESET_URL, runExample, type CompatApp, type CompatDeps } from './shared';

export const GENERIC_MOUNT = '/auth';

/** The document's errors carry a number: one per error code of this package. */
export const GENERIC_ERROR_NUMBERS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 1001,
  MALFORMED_JSON: 1002,
  PAYLOAD_TOO_LARGE: 1003,
  UNSUPPORTED_MEDIA_TYPE: 1004,
  METHOD_NOT_ALLOWED: 1005,
  TOKEN_INVALID: 2001,
  TOKEN_EXPIRED: 2002,
  SECOND_FACTOR_REQUIRED: 2004,
  SECOND_FACTOR_INVALID: 2005,
  PASSWORD_REJECTED: 2003,
  RATE_LIMITED: 3001,
  SERVICE_UNAVAILABLE: 5001,
  FORBIDDEN: 1006,
  ACCOUNT_NOT_FOUND: 1007,
  INTERNAL_ERROR: 5000,
};

export function createGenericApp(deps: CompatDeps): CompatApp {
  const router = passwordReset({
    ...deps,
    resetUrl: RESET_URL,
    routes: { forgot: '/forgot-password', reset: '/reset-password', verify: false },
    fields: { token: ['resetToken'] },
    respond: (outcome) => {
      if (!('error' in outcome))
        return {
          status: 200,
          body: { message: outcome.endpoint === 'forgot' ? outcome.body.message : 'Password changed.' },
        };
      const { code, message } = outcome.error;
      const refused = code === 'TOKEN_INVALID' || code === 'TOKEN_EXPIRED';
      return { status: refused ? 403 : outcome.status, body: { code: GENERIC_ERROR_NUMBERS[code], message } };
    },
  });
  const app = express();
  app.use(GENERIC_MOUNT, router);
  return { app, router };
}

if (require.main === module)
  runExample(
    'Generic reset API',
    createGenericApp,
    `POST ${GENERIC_MOUNT}/forgot-password, POST ${GENERIC_MOUNT}/reset-password`,
  );
