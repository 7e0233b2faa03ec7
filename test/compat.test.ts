/**
 * The five reference APIs of `examples/compat/`, each replayed from its document: the paths, field names, statuses,
 * bodies and headers a client of that API relies on, served by the example's options.
 */
import request from 'supertest';
import { OutboxMailer, type EmailMessage, type PasswordResetEvent } from '../lib';
import { AUTHING_MOUNT, createAuthingApp } from '../examples/compat/authing';
import { EDGE_IMPULSE_MOUNT, createEdgeImpulseApp } from '../examples/compat/edge-impulse';
import { GENERIC_ERROR_NUMBERS, GENERIC_MOUNT, createGenericApp } from '../examples/compat/generic';
import type { CompatApp, CompatDeps } from '../examples/compat/shared';
import { UCLOUD_MOUNT, createUcloudApp } from '../examples/compat/ucloud';
import { UNLEASH_MOUNT, createUnleashApp } from '../examples/compat/unleash';
import { ADA, GOOD_PASSWORD, MemoryUsers, tokenOf } from './helpers/create-app';

interface Harness extends CompatApp {
  users: MemoryUsers;
  mailer: OutboxMailer;
  events: PasswordResetEvent[];
  /** The next reset email to `email` (waits for the work behind the request step's answer). */
  nextMail(email?: string): Promise<EmailMessage>;
}

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.router.close()));
});

function harness(build: (deps: CompatDeps) => CompatApp): Harness {
  const users = new MemoryUsers([ADA]);
  const mailer = new OutboxMailer({ logger: false });
  const events: PasswordResetEvent[] = [];
  const built = build({
    users,
    mailer,
    bcryptRounds: 4,
    logger: false,
    hooks: { onEvent: (event) => void events.push(event) },
  });
  const seen = new Set<EmailMessage>();
  const nextMail = async (email = ADA.email): Promise<EmailMessage> => {
    for (let i = 0; i < 200; i += 1) {
      const message = mailer.messages.find((m) => !seen.has(m) && m.kind === 'reset' && m.to === email);
      if (message) {
        seen.add(message);
        return message;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no reset email to ${email}`);
  };
  const h = { ...built, users, mailer, events, nextMail };
  open.push(h);
  return h;
}

describe('UCloud password/reset and password/newPassword', () => {
  test('reset { email } and newPassword { token, newPassword } → 200 Unit; else CommonErrorMessage', async () => {
    const h = harness(createUcloudApp);
    const requested = await request(h.app).post(`${UCLOUD_MOUNT}/reset`).send({ email: ADA.email });
    expect(requested.status).toBe(200);
    expect(requested.text).toBe('');
    expect(requested.headers['cache-control']).toBe('no-store');
    const token = tokenOf(await h.nextMail());

    const changed = await request(h.app)
      .post(`${UCLOUD_MOUNT}/newPassword`)
      .send({ token, newPassword: GOOD_PASSWORD });
    expect({ status: changed.status, text: changed.text }).toEqual({ status: 200, text: '' });
    expect(h.users.updates).toHaveLength(1);

    const again = await request(h.app).post(`${UCLOUD_MOUNT}/newPassword`).send({ token, newPassword: GOOD_PASSWORD });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ why: expect.any(String), errorCode: 'TOKEN_INVALID' });
    // UCloud's field is newPassword only: `password` is not one of its names.
    const wrongName = await request(h.app).post(`${UCLOUD_MOUNT}/newPassword`).send({ token, password: GOOD_PASSWORD });
    expect(wrongName.status).toBe(400);
    expect(wrongName.body.errorCode).toBe('VALIDATION_FAILED');
    // No verify call in UCloud's API, and the default paths are gone.
    expect((await request(h.app).post(`${UCLOUD_MOUNT}/verify`).send({ token })).status).toBe(404);
    expect((await request(h.app).post(`${UCLOUD_MOUNT}/forgot`).send({ email: ADA.email })).status).toBe(404);
  });
});

describe('generic POST /auth/reset-password', () => {
  test('resetToken resets; a refused token is 403 { code: <number>, message }', async () => {
    const h = harness(createGenericApp);
    expect((await request(h.app).post(`${GENERIC_MOUNT}/forgot-password`).send({ email: ADA.email })).status).toBe(200);
    const resetToken = tokenOf(await h.nextMail());
    const ok = await request(h.app)
      .post(`${GENERIC_MOUNT}/reset-password`)
      .send({ resetToken, password: GOOD_PASSWORD });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ message: expect.any(String) });

    const used = await request(h.app)
      .post(`${GENERIC_MOUNT}/reset-password`)
      .send({ resetToken, password: GOOD_PASSWORD });
    expect(used.status).toBe(403);
    expect(used.body).toEqual({ code: GENERIC_ERROR_NUMBERS.TOKEN_INVALID, message: expect.any(String) });
    // The default error shape ("default: unexpected error") is { code, message } too.
    const bad = await request(h.app).post(`${GENERIC_MOUNT}/reset-password`).send({ resetToken: 5, password: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ code: GENERIC_ERROR_NUMBERS.VALIDATION_FAILED, message: expect.any(String) });
  });

  test('no 404 for an unknown account: the request step answers the same for every address', async () => {
    const h = harness(createGenericApp);
    const known = await request(h.app).post(`${GENERIC_MOUNT}/forgot-password`).send({ email: ADA.email });
    const unknown = await request(h.app).post(`${GENERIC_MOUNT}/forgot-password`).send({ email: 'nobody@example.com' });
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: known.status, body: known.body });
  });
});

describe('Authing resetPassword', () => {
  test('{ password, passwordResetToken, passwordEncryptType: "none" } → IsSuccessRespDto', async () => {
    const h = harness(createAuthingApp);
    // Authing's send-email carries a channel: an extra key, ignored.
    const sent = await request(h.app)
      .post(`${AUTHING_MOUNT}/send-email`)
      .send({ email: ADA.email, channel: 'CHANNEL_RESET_PASSWORD' });
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ statusCode: 200, message: expect.any(String) });
    const passwordResetToken = tokenOf(await h.nextMail());
    const ok = await request(h.app)
      .post(`${AUTHING_MOUNT}/reset-password`)
      .send({ password: GOOD_PASSWORD, passwordResetToken, passwordEncryptType: 'none' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      statusCode: 200,
      message: 'Operation successful',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      data: { success: true },
    });
    const used = await request(h.app)
      .post(`${AUTHING_MOUNT}/reset-password`)
      .send({ password: GOOD_PASSWORD, passwordResetToken, passwordEncryptType: 'none' });
    expect(used.status).toBe(400);
    expect(used.body).toEqual({
      statusCode: 400,
      message: expect.any(String),
      apiCode: 2010,
      requestId: expect.any(String),
    });
  });

  test('the emailed code is traded for passwordResetToken, which resets once; the code is spent', async () => {
    const h = harness(createAuthingApp);
    await request(h.app).post(`${AUTHING_MOUNT}/send-email`).send({ email: ADA.email });
    const passCode = (await h.nextMail()).data.code;
    const traded = await request(h.app)
      .post(`${AUTHING_MOUNT}/verify-reset-password-request`)
      .send({ email: ADA.email, passCode });
    expect(traded.status).toBe(200);
    expect(traded.body).toEqual({
      statusCode: 200,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      data: { passwordResetToken: expect.stringMatching(/^[\w-]{43}$/), tokenExpiresIn: expect.any(Number) },
    });
    expect(traded.body.data.tokenExpiresIn).toBeGreaterThan(590);
    expect(traded.body.data.tokenExpiresIn).toBeLessThanOrEqual(600);
    const again = await request(h.app)
      .post(`${AUTHING_MOUNT}/verify-reset-password-request`)
      .send({ email: ADA.email, passCode });
    expect(again.body).toMatchObject({ statusCode: 400, apiCode: 2010 });
    const { passwordResetToken } = traded.body.data as { passwordResetToken: string };
    const ok = await request(h.app)
      .post(`${AUTHING_MOUNT}/reset-password`)
      .send({ password: GOOD_PASSWORD, passwordResetToken, passwordEncryptType: 'none' });
    expect(ok.body).toMatchObject({ statusCode: 200, data: { success: true } });
    expect(h.users.updates).toHaveLength(1);
  });

  test('rsa or sm2 passwords are refused, not stored as typed', async () => {
    const h = harness(createAuthingApp);
    await request(h.app).post(`${AUTHING_MOUNT}/send-email`).send({ email: ADA.email });
    const passwordResetToken = tokenOf(await h.nextMail());
    for (const passwordEncryptType of ['rsa', 'sm2']) {
      const refused = await request(h.app)
        .post(`${AUTHING_MOUNT}/reset-password`)
        .send({ password: 'BASE64CIPHERTEXT==', passwordResetToken, passwordEncryptType });
      expect(refused.status).toBe(400);
      expect(refused.body.statusCode).toBe(400);
    }
    expect(h.users.updates).toHaveLength(0);
  });
});

describe('Edge Impulse api-user-reset-password', () => {
  test('{ email, code, newPassword } → 200 { success: true }; a failure is 200 { success: false, error }', async () => {
    const h = harness(createEdgeImpulseApp);
    const requested = await request(h.app)
      .post(`${EDGE_IMPULSE_MOUNT}/api-user-request-reset-password`)
      .send({ email: ADA.email });
    expect({ status: requested.status, body: requested.body }).toEqual({ status: 200, body: { success: true } });
    const { code } = (await h.nextMail()).data;
    expect(code).toMatch(/^[0-9]{6}$/);
    const wrong = await request(h.app)
      .post(`${EDGE_IMPULSE_MOUNT}/api-user-reset-password`)
      .send({ email: ADA.email, code: code === '000000' ? '111111' : '000000', newPassword: GOOD_PASSWORD });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ success: false, error: expect.any(String) });
    const ok = await request(h.app)
      .post(`${EDGE_IMPULSE_MOUNT}/api-user-reset-password`)
      .send({ email: ADA.email, code, newPassword: GOOD_PASSWORD });
    expect({ status: ok.status, body: ok.body }).toEqual({ status: 200, body: { success: true } });
    expect(h.users.updates).toHaveLength(1);
    // Even an unparsable body is a GenericApiResponse.
    const malformed = await request(h.app)
      .post(`${EDGE_IMPULSE_MOUNT}/api-user-reset-password`)
      .set('Content-Type', 'application/json')
      .send('{"email":');
    expect({ status: malformed.status, success: malformed.body.success }).toEqual({ status: 200, success: false });
  });
});

describe('Unleash /auth/reset/password', () => {
  test('{ token, password } → 200 with no body; an unknown or used token 401; not JSON 415', async () => {
    const h = harness(createUnleashApp);
    const requested = await request(h.app).post(`${UNLEASH_MOUNT}/password-email`).send({ email: ADA.email });
    expect(requested.status).toBe(200);
    const token = tokenOf(await h.nextMail());
    const unknown = await request(h.app)
      .post(`${UNLEASH_MOUNT}/password`)
      .send({ token: '$2a$15$QzeW/y5/MEppCWVEkoX5euejobYOLSd4We21LQjjKlWH9l2I3wCke', password: GOOD_PASSWORD });
    expect(unknown.status).toBe(401);
    const ok = await request(h.app).post(`${UNLEASH_MOUNT}/password`).send({ token, password: GOOD_PASSWORD });
    expect({ status: ok.status, text: ok.text }).toEqual({ status: 200, text: '' });
    // Unleash says 403 for a used token; it is 401 here, as a used token is not kept (README).
    const used = await request(h.app).post(`${UNLEASH_MOUNT}/password`).send({ token, password: GOOD_PASSWORD });
    expect(used.status).toBe(401);
    const text = await request(h.app)
      .post(`${UNLEASH_MOUNT}/password`)
      .set('Content-Type', 'text/plain')
      .send(`token=${token}`);
    expect(text.status).toBe(415);
    expect(text.body.name).toBe('UNSUPPORTED_MEDIA_TYPE');
    // Headers are kept through respond: the limiter's RateLimit header is on every answer.
    expect(text.headers.ratelimit).toMatch(/^limit=\d+, remaining=\d+, reset=\d+$/);
  });
});
