/**
 * Unleash's `POST /auth/reset/password { token, password }` ("Changes a user password"): `200` with no body, `401`
 * for a token that does not work, `415` for a body that is not JSON. The email step is served at Unleash's
 * `POST /auth/reset/password-email { email }`.
 *
 * Not as documented:
 * - Unleash answers `403` for a token that was already used and `401` for an unknown one. Here both are `401`:
 *   telling them apart would mean keeping used tokens, and a used token is deleted (single use, guarantee 2).
 * - `GET /auth/reset/validate?token=` is not served: this package checks a token with `POST`, and the endpoint is
 *   left out (`verify: false`).
 *
 * Run it: `npx tsx examples/compat/unleash.ts`.
 */
import express from 'express';
import { passwordReset } from '../../lib';
import { RESET_URL, runExample, type CompatApp, type CompatDeps } from './shared';

export const UNLEASH_MOUNT = '/auth/reset';

export function createUnleashApp(deps: CompatDeps): CompatApp {
  const router = passwordReset({
    ...deps,
    resetUrl: RESET_URL,
    routes: { forgot: '/password-email', reset: '/password', verify: false },
    fields: { password: ['password'] },
    respond: (outcome) => {
      if (!('error' in outcome)) return { status: 200 };
      const { code, message, details } = outcome.error;
      const status = code === 'TOKEN_INVALID' || code === 'TOKEN_EXPIRED' ? 401 : outcome.status;
      return { status, body: { name: code, message, ...(details ? { details } : {}) } };
    },
  });
  const app = express();
  app.use(UNLEASH_MOUNT, router);
  return { app, router };
}

if (require.main === module)
  runExample(
    'Unleash reset password',
    createUnleashApp,
    `POST ${UNLEASH_MOUNT}/password-email, POST ${UNLEASH_MOUNT}/password`,
  );
