/**
 * SendGridMailer on the real @sendgrid/mail client, talking HTTP to a local
 * stand-in for api.sendgrid.com: option checks, the exact JSON of each kind in
 * both content modes, retries, timeouts and what a failure carries.
 */
import { inspect } from 'node:util';
import sgMail from '@sendgrid/mail';
import express from 'express';
import request from 'supertest';
import { OptionsError, passwordReset, SendGridError, SendGridMailer, type SendGridMailerOptions } from '../lib';
import { EmailRenderer } from '../lib/mail/email-templates';
import { parseRetryAfter, retryWait } from '../lib/mail/sendgrid-mailer';
import { MAX_RETRY_WAIT_MS } from '../lib/mail/sendgrid-options';
import type { EmailKind, EmailMessage } from '../lib/mail/mailer';
import { fakeSendGridKey, sendGridErrors, startFakeSendGrid, type FakeSendGrid } from './helpers/fake-sendgrid';

// Made up, but of SendGrid's shape: "SG." + 22 + "." + 43 base64url characters.
const API_KEY = fakeSendGridKey('mailer');
const SECOND_KEY = fakeSendGridKey('second-router');
const RESET_URL = 'https://app.example/reset?token=tok_Zm9vYmFyYmF6cXV4LXRlc3QtdG9rZW4tdmFsdWUtMTIzNDU2';
const TEMPLATE = {
  reset: 'd-11111111111111111111111111111111',
  changed: 'd-22222222222222222222222222222222',
  unknown: 'd-33333333333333333333333333333333',
};
const NO_CLICK_TRACKING = { click_tracking: { enable: false, enable_text: false } };

const renderer = new EmailRenderer('Acme');
function message(kind: EmailKind, extra: { name?: string; locale?: string } = {}): EmailMessage {
  const to = 'ada@example.com';
  if (kind === 'reset')
    return renderer.render('reset', to, {
      email: to,
      name: 'Ada',
      resetUrl: RESET_URL,
      code: '428913',
      expiresInMinutes: 30,
      ...extra,
    });
  if (kind === 'changed') return renderer.render('changed', to, { email: to, name: 'Ada', ...extra });
  return renderer.render('unknown', to, { email: to, ...extra });
}

let fake: FakeSendGrid;
const mailers: SendGridMailer[] = [];
function mailer(options: Partial<SendGridMailerOptions> = {}): SendGridMailer {
  const created = new SendGridMailer({
    apiKey: API_KEY,
    from: 'Acme <no-reply@acme.example>',
    baseUrl: fake.url,
    retryDelayMs: 1,
    ...options,
  });
  mailers.push(created);
  return created;
}
async function failure(promise: Promise<unknown>): Promise<SendGridError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SendGridError);
  return error as SendGridError;
}
function optionsError(build: () => unknown): OptionsError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    return error as OptionsError;
  }
  throw new Error('expected an OptionsError');
}

beforeEach(async () => {
  fake = await startFakeSendGrid();
});
afterEach(async () => {
  await Promise.all(mailers.splice(0).map((m) => m.close()));
  await fake.close();
});

describe('options are checked at construction', () => {
  const valid: SendGridMailerOptions = { apiKey: API_KEY, from: 'no-reply@acme.example' };
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['a missing key', { apiKey: undefined }, 'sendgrid.apiKey', /is required/],
    [
      'a key of the wrong shape',
      { apiKey: 'not-a-sendgrid-key-0123456789' },
      'sendgrid.apiKey',
      /"SG\.<id>\.<secret>", got a string of length 29/,
    ],
    ['a key with a trailing newline', { apiKey: `${API_KEY}\n` }, 'sendgrid.apiKey', /whitespace/],
    ['a key that is not a string', { apiKey: 42 }, 'sendgrid.apiKey', /must be a string, got 42/],
    ['a missing from', { from: undefined }, 'sendgrid.from', /is required/],
    ['a from without an address', { from: 'Acme' }, 'sendgrid.from', /valid email address.*got "Acme"/],
    [
      'a from object with an unknown key',
      { from: { address: 'a@b.example' } },
      'sendgrid.from.address',
      /not a known option/,
    ],
    ['a bad replyTo', { replyTo: { email: 'nope' } }, 'sendgrid.replyTo', /valid email address/],
    [
      'a legacy template id',
      { templateIds: { reset: '13b8f94f-bcae-4ec6-b752-70d6cb59f932' } },
      'sendgrid.templateIds.reset',
      /dynamic template id/,
    ],
    [
      'a template for an unknown kind',
      { templateIds: { welcome: TEMPLATE.reset } },
      'sendgrid.templateIds.welcome',
      /allowed: reset, invite, changed, unknown/,
    ],
    [
      'eleven categories',
      { categories: Array.from({ length: 11 }, (_, i) => `c${i}`) },
      'sendgrid.categories',
      /at most 10/,
    ],
    ['an empty category', { categories: ['ok', ''] }, 'sendgrid.categories[1]', /1 to 255/],
    ['a non-boolean sandboxMode', { sandboxMode: 'yes' }, 'sendgrid.sandboxMode', /true or false/],
    ['a zero timeout', { timeoutMs: 0 }, 'sendgrid.timeoutMs', /integer from 1/],
    ['negative retries', { maxRetries: -1 }, 'sendgrid.maxRetries', /integer from 0 to 10/],
    ['a retry delay over the cap', { retryDelayMs: 60_000 }, 'sendgrid.retryDelayMs', /integer from 0 to 10000/],
    ['a baseUrl that is not http', { baseUrl: 'ftp://127.0.0.1' }, 'sendgrid.baseUrl', /http or https/],
    ['an unknown option', { apiSecret: 'x' }, 'sendgrid.apiSecret', /allowed: apiKey, from/],
  ])('%s', (_name, change, option, message) => {
    const error = optionsError(() => new SendGridMailer({ ...valid, ...change }));
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(API_KEY);
  });

  test('a short placeholder key with the SG. prefix is accepted (tests, sandboxes)', () => {
    expect(() => new SendGridMailer({ ...valid, apiKey: ['SG', 'placeholder'].join('.') })).not.toThrow();
  });

  test('a wrong key passed to passwordReset() fails there, naming sendgrid.apiKey and never printing the key', () => {
    const badKey = ['SG', 'only-one-part-of-the-secret-key'].join('.');
    const error = optionsError(() =>
      passwordReset({
        users: { findByEmail: async () => null, updatePassword: async () => undefined },
        resetUrl: 'https://app.example/reset',
        sendgrid: { apiKey: `${badKey} `, from: 'no-reply@acme.example' },
      }),
    );
    expect(error.option).toBe('sendgrid.apiKey');
    expect(error.message).not.toContain(badKey);
  });

  test('passwordReset() accepts every documented sendgrid option, and a send uses them', async () => {
    const before = fake.requests.length;
    const router = passwordReset({
      users: { findByEmail: async () => null, updatePassword: async () => undefined },
      resetUrl: 'https://app.example/reset',
      logger: false,
      emails: { notifyUnknown: true },
      sendgrid: {
        apiKey: API_KEY,
        from: { email: 'no-reply@acme.example', name: 'Acme' },
        replyTo: 'help@acme.example',
        templateIds: TEMPLATE,
        sandboxMode: true,
        categories: ['password-reset'],
        timeoutMs: 5000,
        maxRetries: 1,
        retryDelayMs: 10,
        baseUrl: fake.url,
      },
    });
    const app = express();
    app.use('/auth', router);
    const answer = await request(app).post('/auth/forgot').send({ email: 'ada@example.com' });
    expect(answer.status).toBe(202);
    await router.close();
    // Every setting reached SendGrid in the one request the unknown address caused.
    expect(fake.requests.length - before).toBe(1);
    const body = fake.requests[before]!.body;
    expect(body).toMatchObject({
      from: { email: 'no-reply@acme.example', name: 'Acme' },
      reply_to: { email: 'help@acme.example' },
      template_id: TEMPLATE.unknown,
      categories: ['password-reset'],
      mail_settings: { sandbox_mode: { enable: true } },
    });
  });
});

describe('the request SendGrid receives', () => {
  test('built-in content: a reset email as subject, text and HTML, with the key as Bearer token', async () => {
    const reset = message('reset');
    await mailer().send(reset);
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/v3/mail/send');
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.body).toEqual({
      from: { email: 'no-reply@acme.example', name: 'Acme' },
      subject: 'Reset your Acme password',
      personalizations: [{ to: [{ email: 'ada@example.com' }] }],
      content: [
        { type: 'text/plain', value: reset.text },
        { type: 'text/html', value: reset.html },
      ],
      tracking_settings: NO_CLICK_TRACKING,
    });
    // The content is the package's template, link and code included (what the outbox would show).
    expect(reset.text).toContain(`Hello Ada,\n\nWe received a request to reset the password of your Acme account.`);
    expect(reset.text).toContain(`\n${RESET_URL}\n\nOr enter this code:\n428913\n`);
    expect(reset.html).toContain(`href="${RESET_URL}"`);
  });

  test.each<[EmailKind, string]>([
    ['changed', 'Your Acme password was changed'],
    ['unknown', 'Acme password reset request'],
  ])('built-in content: the %s email', async (kind, subject) => {
    const sent = message(kind);
    await mailer().send(sent);
    expect(fake.requests.map((r) => r.body)).toEqual([
      {
        from: { email: 'no-reply@acme.example', name: 'Acme' },
        subject,
        personalizations: [{ to: [{ email: 'ada@example.com' }] }],
        content: [
          { type: 'text/plain', value: sent.text },
          { type: 'text/html', value: sent.html },
        ],
        tracking_settings: NO_CLICK_TRACKING,
      },
    ]);
  });

  test('dynamic templates: template_id and the template data, no subject or content, for each kind', async () => {
    const m = mailer({ templateIds: TEMPLATE });
    for (const kind of ['reset', 'changed', 'unknown'] as const) await m.send(message(kind));
    const from = { email: 'no-reply@acme.example', name: 'Acme' };
    const to = [{ email: 'ada@example.com' }];
    expect(fake.requests.map((r) => r.body)).toEqual([
      {
        from,
        template_id: TEMPLATE.reset,
        tracking_settings: NO_CLICK_TRACKING,
        personalizations: [
          {
            to,
            dynamic_template_data: {
              appName: 'Acme',
              name: 'Ada',
              email: 'ada@example.com',
              resetUrl: RESET_URL,
              code: '428913',
              expiresInMinutes: 30,
              locale: 'en',
            },
          },
        ],
      },
      {
        from,
        template_id: TEMPLATE.changed,
        tracking_settings: NO_CLICK_TRACKING,
        personalizations: [
          { to, dynamic_template_data: { appName: 'Acme', name: 'Ada', email: 'ada@example.com', locale: 'en' } },
        ],
      },
      {
        from,
        template_id: TEMPLATE.unknown,
        tracking_settings: NO_CLICK_TRACKING,
        personalizations: [{ to, dynamic_template_data: { appName: 'Acme', email: 'ada@example.com', locale: 'en' } }],
      },
    ]);
  });

  test('a kind without a template id falls back to the built-in content', async () => {
    const m = mailer({ templateIds: { reset: TEMPLATE.reset } });
    await m.send(message('reset'));
    await m.send(message('changed'));
    expect(fake.requests[0]!.body).toHaveProperty('template_id', TEMPLATE.reset);
    expect(fake.requests[1]!.body).not.toHaveProperty('template_id');
    expect(fake.requests[1]!.body).toMatchObject({
      subject: 'Your Acme password was changed',
      content: [{ type: 'text/plain' }, { type: 'text/html' }],
    });
  });

  test('template data is passed as data: a name with markup arrives unchanged for the template to escape', async () => {
    const name = `<script>alert("x")</script> O'Brien & Co`;
    await mailer({ templateIds: TEMPLATE }).send(message('changed', { name }));
    const personalization = (
      fake.requests[0]!.body.personalizations as Array<{ dynamic_template_data: { name: string } }>
    )[0]!;
    expect(personalization.dynamic_template_data.name).toBe(name);
  });

  test('replyTo, categories and sandbox mode', async () => {
    await mailer({
      from: { email: 'no-reply@acme.example' },
      replyTo: '"Acme Support" <help@acme.example>',
      categories: ['password-reset', 'transactional'],
      sandboxMode: true,
    }).send(message('changed'));
    expect(fake.requests[0]!.body).toMatchObject({
      from: { email: 'no-reply@acme.example' },
      reply_to: { email: 'help@acme.example', name: 'Acme Support' },
      categories: ['password-reset', 'transactional'],
      mail_settings: { sandbox_mode: { enable: true } },
    });
    expect(fake.requests[0]!.body.from).toEqual({ email: 'no-reply@acme.example' });
  });

  test('without sandboxMode there are no mail_settings', async () => {
    await mailer().send(message('changed'));
    expect(fake.requests[0]!.body).not.toHaveProperty('mail_settings');
  });

  test('each mailer has its own client: two keys do not clash and the process-wide client is untouched', async () => {
    const other = await startFakeSendGrid();
    try {
      const first = mailer();
      const second = mailer({ apiKey: SECOND_KEY, baseUrl: other.url });
      await Promise.all([
        first.send(message('changed')),
        second.send(message('changed')),
        first.send(message('changed')),
      ]);
      expect(fake.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${API_KEY}`, `Bearer ${API_KEY}`]);
      expect(other.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${SECOND_KEY}`]);
      const defaultClient = (sgMail as unknown as { client: { auth: string; defaultRequest: { baseUrl: string } } })
        .client;
      expect(defaultClient.auth).toBe('');
      expect(defaultClient.defaultRequest.baseUrl).toBe('https://api.sendgrid.com/');
    } finally {
      await other.close();
    }
  });
});

describe('retries', () => {
  test('a 429 with Retry-After is retried, then the send succeeds', async () => {
    fake.reply({ ...sendGridErrors(429, 'too many requests'), headers: { 'retry-after': '0' } });
    await mailer().send(message('reset'));
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.raw).toBe(fake.requests[0]!.raw);
  });

  test('429 on every attempt: 1 + maxRetries requests, then a SendGridError with status 429', async () => {
    fake.fallback = { ...sendGridErrors(429, 'too many requests'), headers: { 'retry-after': '0' } };
    const error = await failure(mailer({ maxRetries: 2 }).send(message('reset')));
    expect(fake.requests).toHaveLength(3);
    expect(error.status).toBe(429);
    expect(error.attempts).toBe(3);
    expect(error.message).toBe(
      'SendGrid refused the "reset" email after 3 attempts: 429 Too Many Requests: too many requests',
    );
  });

  test('503 is retried maxRetries times', async () => {
    fake.fallback = sendGridErrors(503, 'Service temporarily unavailable');
    const error = await failure(mailer({ maxRetries: 3 }).send(message('changed')));
    expect(fake.requests).toHaveLength(4);
    expect(error).toMatchObject({ status: 503, attempts: 4, errors: [{ message: 'Service temporarily unavailable' }] });
  });

  test('a 500 followed by a 202 succeeds', async () => {
    fake.reply({ status: 500, body: 'upstream exploded' });
    await mailer().send(message('changed'));
    expect(fake.requests).toHaveLength(2);
  });

  test('maxRetries: 0 sends once', async () => {
    fake.fallback = sendGridErrors(503, 'down');
    await failure(mailer({ maxRetries: 0 }).send(message('changed')));
    expect(fake.requests).toHaveLength(1);
  });

  test.each([400, 401, 403, 413])('a %i is never retried', async (status) => {
    fake.fallback = sendGridErrors(status, {
      message: 'The from address does not match a verified Sender Identity.',
      field: 'from',
    });
    const error = await failure(mailer({ maxRetries: 5 }).send(message('reset')));
    expect(fake.requests).toHaveLength(1);
    expect(error.status).toBe(status);
    expect(error.message).toContain(`${status}`);
    expect(error.message).toContain('The from address does not match a verified Sender Identity. (from)');
  });

  test('a Retry-After beyond the wait cap ends the retries at once, and the error says why', async () => {
    fake.fallback = { ...sendGridErrors(429, 'slow down'), headers: { 'retry-after': '120' } };
    const error = await failure(mailer({ maxRetries: 2 }).send(message('reset')));
    expect(fake.requests).toHaveLength(1);
    expect(error.message).toContain('Retry-After asked for 120 s');
  });

  test('close() cancels a waiting retry: the send rejects and nothing more is sent', async () => {
    fake.fallback = { ...sendGridErrors(503, 'down'), headers: { 'retry-after': '5' } };
    const m = mailer();
    const sending = failure(m.send(message('reset')));
    await fake.received(1);
    // Give the client a moment to read the 503, so the mailer is usually inside its 5 s wait (and if it is not yet,
    // close() must still stop the retry before it starts): either way no second request and a prompt rejection.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await m.close();
    const error = await sending;
    expect(error.message).toContain('retry cancelled by close()');
    expect(fake.requests).toHaveLength(1);
    await expect(m.send(message('reset'))).rejects.toThrow('closed');
  });

  test('retryWait: doubling backoff, a longer Retry-After wins, beyond the cap no retry', () => {
    expect(retryWait(1, 500, undefined)).toBe(500);
    expect(retryWait(2, 500, undefined)).toBe(1000);
    expect(retryWait(3, 500, undefined)).toBe(2000);
    expect(retryWait(1, 500, '3')).toBe(3000);
    expect(retryWait(2, 500, '0')).toBe(1000);
    expect(retryWait(8, 500, undefined)).toBe(MAX_RETRY_WAIT_MS);
    expect(retryWait(1, 500, String(MAX_RETRY_WAIT_MS / 1000 + 1))).toBeUndefined();
    expect(retryWait(1, 500, 'soon')).toBe(500);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('timeouts and network errors', () => {
  test('no answer within timeoutMs: the send rejects with ETIMEDOUT and is not retried', async () => {
    fake.fallback = { status: 202, delayMs: Infinity };
    const error = await failure(mailer({ timeoutMs: 100, maxRetries: 2 }).send(message('reset')));
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.status).toBeUndefined();
    expect(error.message).toBe(
      'SendGrid did not answer the "reset" email within 100 ms (not retried: it may still be delivered)',
    );
    expect(fake.requests).toHaveLength(1);
  });

  test('a refused connection rejects with its code and is not retried', async () => {
    const closed = await startFakeSendGrid();
    const url = closed.url;
    await closed.close();
    const error = await failure(mailer({ baseUrl: url, maxRetries: 2 }).send(message('changed')));
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toMatch(/^Sending the "changed" email to SendGrid failed: .*ECONNREFUSED/);
  });
});

describe('what a failure carries', () => {
  test('SendGrid echoing the key, link or code: none of them reaches the error, its fields or its inspection', async () => {
    fake.fallback = sendGridErrors(400, `Bad content near ${RESET_URL} (code 428913)`, {
      message: `key ${API_KEY} is not allowed`,
      field: 'content',
    });
    const error = await failure(mailer().send(message('reset')));
    const everything = `${error.message} ${JSON.stringify(error.errors)} ${inspect(error, { depth: 5 })} ${error.stack ?? ''}`;
    for (const secret of [API_KEY, RESET_URL, '428913', 'tok_Zm9vYmFyYmF6cXV4LXRlc3QtdG9rZW4tdmFsdWUtMTIzNDU2'])
      expect(everything).not.toContain(secret);
    expect(error.message).toContain('Bad content near [redacted] (code [redacted])');
    expect(error.status).toBe(400);
  });

  test('a timeout error does not drag along the request (and its Authorization header)', async () => {
    fake.fallback = { status: 202, delayMs: Infinity };
    const error = await failure(mailer({ timeoutMs: 50 }).send(message('reset')));
    expect(inspect(error, { depth: 10 })).not.toContain(API_KEY);
    expect(error.cause).toBeUndefined();
  });
});
