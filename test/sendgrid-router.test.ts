/**
 * The router with `sendgrid: {...}` end to end: real Express app, real
 * @sendgrid/mail client, a local HTTP server standing in for SendGrid.
 */
import request from 'supertest';
import { EmailRenderer } from '../lib/mail/email-templates';
import { sendGridErrors, startFakeSendGrid, type FakeSendGrid } from './helpers/fake-sendgrid';
import { API_KEY, RESET_URL, buildApp, tokenIn, type SendGridApp } from './helpers/sendgrid-app';

const ADA = { id: 'u-ada', email: 'ada@example.com', name: 'Ada' };
const TEMPLATE = {
  reset: 'd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  changed: 'd-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  unknown: 'd-cccccccccccccccccccccccccccccccc',
};
const FROM = { email: 'no-reply@acme.example', name: 'Acme' };
const NO_CLICK_TRACKING = { click_tracking: { enable: false, enable_text: false } };
const PLACEHOLDER = 'TOKEN_PLACEHOLDER';
const renderer = new EmailRenderer('Acme');

let fake: FakeSendGrid;
const opened: SendGridApp[] = [];
/** buildApp(), closed after the test whatever happens. */
function openApp(...args: Parameters<typeof buildApp> extends [FakeSendGrid, ...infer R] ? R : never): SendGridApp {
  const app = buildApp(fake, ...args);
  opened.push(app);
  return app;
}
beforeEach(async () => {
  fake = await startFakeSendGrid();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.router.close()));
  await fake.close();
});

describe('built-in templates through the router', () => {
  test('a reset email: the exact JSON posted to /v3/mail/send, and its link works', async () => {
    const built = openApp([ADA]);
    const res = await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' });
    expect(res.status).toBe(202);
    await built.event('email.sent');

    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent!.url).toBe('/v3/mail/send');
    expect(sent!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    const token = tokenIn(sent!.raw);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const link = `${RESET_URL}?token=${PLACEHOLDER}`;
    const expected = renderer.render('reset', 'ada@example.com', {
      email: 'ada@example.com',
      name: 'Ada',
      resetUrl: link,
      expiresInMinutes: 30,
    });
    expect(JSON.parse(sent!.raw.split(token).join(PLACEHOLDER))).toEqual({
      from: FROM,
      subject: 'Reset your Acme password',
      personalizations: [{ to: [{ email: 'ada@example.com' }] }],
      content: [
        { type: 'text/plain', value: expected.text },
        { type: 'text/html', value: expected.html },
      ],
      tracking_settings: NO_CLICK_TRACKING,
    });
    expect(expected.text.split('\n')).toEqual([
      'Hello Ada,',
      '',
      'We received a request to reset the password of your Acme account. Use the link below to choose a new password.',
      '',
      link,
      '',
      'The link expires in 30 minutes and can be used once.',
      '',
      'If you did not ask for this, you can ignore this email; your password stays the same.',
    ]);
    expect(expected.html).toContain(`<a href="${link}"`);

    const verify = await request(built.app).post('/auth/password/verify').send({ token });
    expect(verify.status).toBe(200);
  });

  test('after a reset, the "changed" notice is posted', async () => {
    const built = openApp([ADA]);
    await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' });
    await built.event('email.sent');
    const token = tokenIn(fake.requests[0]!.raw);
    const reset = await request(built.app)
      .post('/auth/password/reset')
      .send({ token, password: 'a new and long passphrase' });
    expect(reset.status).toBe(200);
    await fake.received(2);
    await built.router.close();
    const changed = renderer.render('changed', 'ada@example.com', { email: 'ada@example.com', name: 'Ada' });
    expect(fake.requests[1]!.body).toEqual({
      from: FROM,
      subject: 'Your Acme password was changed',
      personalizations: [{ to: [{ email: 'ada@example.com' }] }],
      content: [
        { type: 'text/plain', value: changed.text },
        { type: 'text/html', value: changed.html },
      ],
      tracking_settings: NO_CLICK_TRACKING,
    });
    expect(changed.text).toBe(
      'Hello Ada,\n\nThe password of your Acme account was just changed.\n\nIf this was not you, reset your password now and contact support.',
    );
  });

  test('with notifyUnknown, an address without an account gets the "unknown" email', async () => {
    const built = openApp([ADA], { emails: { appName: 'Acme', notifyUnknown: true } });
    await request(built.app).post('/auth/password/forgot').send({ email: 'nobody@example.com' });
    await built.event('email.sent');
    const unknown = renderer.render('unknown', 'nobody@example.com', { email: 'nobody@example.com' });
    expect(fake.requests.map((r) => r.body)).toEqual([
      {
        from: FROM,
        subject: 'Acme password reset request',
        personalizations: [{ to: [{ email: 'nobody@example.com' }] }],
        content: [
          { type: 'text/plain', value: unknown.text },
          { type: 'text/html', value: unknown.html },
        ],
        tracking_settings: NO_CLICK_TRACKING,
      },
    ]);
    expect(unknown.text).toContain(
      'the Acme account for nobody@example.com, but there is no account with this address.',
    );
  });

  test('user data is escaped in the HTML: a user named <script>', async () => {
    const name = '<script>alert("pwned")</script>';
    const built = openApp([{ ...ADA, name }]);
    await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' });
    await built.event('email.sent');
    const [text, html] = (fake.requests[0]!.body.content as Array<{ value: string }>).map((c) => c.value);
    expect(html).not.toContain('<script>');
    expect(html).toContain('<p>Hello &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;,</p>');
    // Plain text is not HTML: the name stays as typed.
    expect(text!.startsWith(`Hello ${name},\n`)).toBe(true);
  });
});

describe('dynamic templates through the router', () => {
  test('reset with the code flow: template_id and every template field; the link and code both work', async () => {
    const built = openApp([{ ...ADA, locale: 'en-GB' }], {
      sendgrid: { templateIds: TEMPLATE, sandboxMode: true, categories: ['password-reset'] },
      code: { enabled: true },
    });
    await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' });
    await built.event('email.sent');
    const body = fake.requests[0]!.body as {
      personalizations: Array<{ dynamic_template_data: { code: string; resetUrl: string } }>;
    };
    const data = body.personalizations[0]!.dynamic_template_data;
    const token = tokenIn(data.resetUrl);
    expect(data.code).toMatch(/^\d{6}$/);
    expect(body).toEqual({
      from: FROM,
      template_id: TEMPLATE.reset,
      categories: ['password-reset'],
      mail_settings: { sandbox_mode: { enable: true } },
      tracking_settings: NO_CLICK_TRACKING,
      personalizations: [
        {
          to: [{ email: 'ada@example.com' }],
          dynamic_template_data: {
            appName: 'Acme',
            name: 'Ada',
            email: 'ada@example.com',
            resetUrl: `${RESET_URL}?token=${token}`,
            code: data.code,
            expiresInMinutes: 30,
            expiresInSeconds: 1800,
            locale: 'en',
          },
        },
      ],
    });
    expect((await request(built.app).post('/auth/password/verify').send({ token })).status).toBe(200);
    expect(
      (await request(built.app).post('/auth/password/verify').send({ email: 'ada@example.com', code: data.code }))
        .status,
    ).toBe(200);
  });

  test('changed notice as a dynamic template', async () => {
    const built = openApp([{ ...ADA, locale: 'fr-CA' }], { sendgrid: { templateIds: TEMPLATE } });
    await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' });
    await built.event('email.sent');
    const token = tokenIn(fake.requests[0]!.raw);
    await request(built.app)
      .post('/auth/password/reset')
      .send({ token, password: 'a new and long passphrase' })
      .expect(200);
    await fake.received(2);
    expect(fake.requests[1]!.body).toEqual({
      from: FROM,
      template_id: TEMPLATE.changed,
      tracking_settings: NO_CLICK_TRACKING,
      personalizations: [
        {
          to: [{ email: 'ada@example.com' }],
          dynamic_template_data: { appName: 'Acme', name: 'Ada', email: 'ada@example.com', locale: 'fr' },
        },
      ],
    });
  });
});

describe('a failing SendGrid stays invisible to the requester', () => {
  /** Status, body and every header but Date, which only says when. */
  function answer(res: request.Response): unknown {
    const { date: _date, ...headers } = res.headers as Record<string, string>;
    return { status: res.status, body: res.body, headers };
  }

  test('/forgot answers the same whether SendGrid accepts, refuses with 400, or is down; the failure is an email.failed event with the status', async () => {
    const unknown = openApp([ADA]);
    const healthy = openApp([ADA]);
    const answers = [
      answer(await request(unknown.app).post('/auth/password/forgot').send({ email: 'nobody@example.com' })),
      answer(await request(healthy.app).post('/auth/password/forgot').send({ email: 'ada@example.com' })),
    ];
    await healthy.event('email.sent');

    fake.reply(
      sendGridErrors(400, { message: 'The from address does not match a verified Sender Identity.', field: 'from' }),
    );
    const refused = openApp([ADA]);
    answers.push(answer(await request(refused.app).post('/auth/password/forgot').send({ email: 'ada@example.com' })));
    const refusedEvent = await refused.event('email.failed');

    fake.fallback = sendGridErrors(503, 'Service temporarily unavailable');
    const down = openApp([ADA]);
    answers.push(answer(await request(down.app).post('/auth/password/forgot').send({ email: 'ada@example.com' })));
    const downEvent = await down.event('email.failed');

    for (const other of answers.slice(1)) expect(other).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ status: 202, body: { success: true } });

    expect(refusedEvent).toMatchObject({
      type: 'email.failed',
      kind: 'reset',
      to: 'ada@example.com',
      userId: 'u-ada',
      error: {
        name: 'SendGridError',
        status: 400,
        message:
          'SendGrid refused the "reset" email: 400 Bad Request: The from address does not match a verified Sender Identity. (from)',
      },
    });
    expect(downEvent).toMatchObject({
      type: 'email.failed',
      kind: 'reset',
      error: { name: 'SendGridError', status: 503 },
    });
    expect(downEvent.type === 'email.failed' && downEvent.error.message).toContain(
      'after 3 attempts: 503 Service Unavailable: Service temporarily unavailable',
    );
    // 1 (healthy) + 1 (400, never retried) + 3 (503: first try and 2 retries).
    expect(fake.requests).toHaveLength(5);

    // No secret in any event: not the key, the links, the tokens.
    const tokens = fake.requests.map((r) => tokenIn(r.raw));
    const log = JSON.stringify([...unknown.events, ...healthy.events, ...refused.events, ...down.events]);
    for (const secret of [API_KEY, ...tokens, RESET_URL]) expect(log).not.toContain(secret);
  });

  test('the 202 does not wait for SendGrid: it arrives while SendGrid has not answered yet', async () => {
    fake.fallback = { status: 202, delayMs: Infinity };
    const built = openApp([ADA]);
    const res = await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' });
    expect(res.status).toBe(202);
    await fake.received(1);
    expect(built.events.some((e) => e.type === 'email.sent' || e.type === 'email.failed')).toBe(false);
    fake.release();
    await built.event('email.sent');
  });

  test('a SendGrid timeout is an email.failed event without a status, and the code stays secret', async () => {
    fake.fallback = { status: 202, delayMs: Infinity };
    const built = openApp([ADA], { sendgrid: { timeoutMs: 100 }, code: { enabled: true } });
    await request(built.app).post('/auth/password/forgot').send({ email: 'ada@example.com' }).expect(202);
    const failed = await built.event('email.failed');
    expect(failed).toMatchObject({
      kind: 'reset',
      error: {
        name: 'SendGridError',
        message: 'SendGrid did not answer the "reset" email within 100 ms (not retried: it may still be delivered)',
      },
    });
    expect(failed.type === 'email.failed' && failed.error.status).toBeUndefined();
    const data = (fake.requests[0]!.body.content as Array<{ value: string }>)[0]!.value;
    const code = /\n(\d{6})\n/.exec(data)![1]!;
    expect(JSON.stringify(built.events)).not.toContain(code);
    expect(fake.requests).toHaveLength(1);
  });
});
