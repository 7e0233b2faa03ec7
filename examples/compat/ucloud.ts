/**
 * UCloud's `password/reset` and `password/newPassword` calls (Core / Users / Authentication / Password Reset):
 * `POST /api/password/reset { email }` sends the email, `POST /api/password/newPassword { token, newPassword }`
 * sets the password. Both answer `Unit` (an empty 200) and fail with a `CommonErrorMessage { why, errorCode }`.
 *
 * Not as documented: nothing. UCloud's own `reset` is its request step, so this package's `/forgot` is served at
 * `/reset`; there is no `verify` call, so that endpoint is left out.
 *
 * Run it: `npx tsx examples/compat/ucloud.ts`.
 */
import express from 'express';
import { passwordReset } from '../../lib';
import { RESET_URL, runExample, type CompatApp, type CompatDeps } from './shared';

export const UCLOUD_MOUNT = '/api/password';

export function createUcloudApp(deps: CompatDeps): CompatApp {
  const router = passwordReset({
    ...deps,
    resetUrl: RESET_URL,
    routes: { forgot: '/reset', reset: '/newPassword', verify: false },
    fields: { password: ['newPassword'] },
    respond: (outcome) =>
      'error' in outcome
        ? { status: outcome.status, body: { why: outcome.error.message, errorCode: outcome.error.code } }
        : { status: 200 },
  });
  const app = express();
  app.use(UCLOUD_MOUNT, router);
  return { app, router };
}

if (require.main === module)
  runExample('UCloud password reset', createUcloudApp, `POST ${UCLOUD_MOUNT}/reset, POST ${UCLOUD_MOUNT}/newPassword`);
