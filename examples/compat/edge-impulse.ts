/**
 * Edge Impulse's `POST /v1/api-user-reset-password { email, code, newPassword }`, answering `200
 * { success: true }`, and `200 { success: false, error: "<description>" }` when it fails (its `GenericApiResponse`:
 * the status is always 200). The code comes by email from `POST /v1/api-user-request-reset-password { email }`.
 *
 * Not as documented: nothing in the reset call. The request step is not in the document; it is served here as Edge
 * Impulse's `requestResetPassword`. A client may also send the emailed link's `token` in place of email and code.
 *
 * Run it: `npx tsx examples/compat/edge-impulse.ts`.
 */
import express from 'express';
import { passwordReset } from '../../lib';
import { RESET_URL, runExample, type CompatApp, type CompatDeps } from './shared';

export const EDGE_IMPULSE_MOUNT = '/v1';

export function createEdgeImpulseApp(deps: CompatDeps): CompatApp {
  const router = passwordReset({
    ...deps,
    resetUrl: RESET_URL,
    code: { enabled: true, digits: 6 },
    routes: { forgot: '/api-user-request-reset-password', reset: '/api-user-reset-password', verify: false },
    fields: { password: ['newPassword'] },
    // Headers such as Retry-After are kept: a client that reads them can still back off.
    respond: (outcome) =>
      'error' in outcome
        ? { status: 200, body: { success: false, error: outcome.error.message } }
        : { status: 200, body: { success: true } },
  });
  const app = express();
  app.use(EDGE_IMPULSE_MOUNT, router);
  return { app, router };
}

if (require.main === module)
  runExample(
    'Edge Impulse reset password',
    createEdgeImpulseApp,
    `POST ${EDGE_IMPULSE_MOUNT}/api-user-request-reset-password, POST ${EDGE_IMPULSE_MOUNT}/api-user-reset-password`,
  );
