/**
 * `hooks.onPasswordReset` and `hooks.onEvent`, the changed-password notice and
 * `notifyUnknown`: what is called when, with what, and that a failing hook
 * never breaks the flow.
 */
import type { Request } from 'express';
import type { EmailMessage, Mailer, PasswordResetEvent, User } from '../lib';
import { ADA, GOOD_PASSWORD, createApp, tokenOf, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const types = (events: PasswordResetEvent[]): string[] => events.map((e) => e.type);

describe('hooks.onPasswordReset', () => {
  test('is awaited after the password is stored, before the answer, with the user and the request', async () => {
    const order: string[] = [];
    let seen: { user: User; req: Request } | undefined;
    t = await createApp({
      configure: (app) =>
        app.use((_req, res, next) => {
          res.on('finish', () => order.push('response'));
          next();
        }),
      options: {
        hooks: {
          onPasswordReset: async (user, req) => {
            seen = { user, req };
            order.push(
              t!.users.hashOf(user.id) ? 'hook started, password stored' : 'hook started, password NOT stored',
            );
            await new Promise((resolve) => setTimeout(resolve, 20));
            order.push('hook finished');
          },
        },
      },
    });
    const token = await t.requestToken();
    order.length = 0;
    const response = await t.post('/reset', { token, password: GOOD_PASSWORD }).set('X-Request-Id', 'req-42');
    expect(response.status).toBe(200);
    expect(order).toEqual(['hook started, password stored', 'hook finished', 'response']);
    expect(seen!.user).toEqual({ id: ADA.id, email: ADA.email, name: ADA.name });
    expect(seen!.req.get('X-Request-Id')).toBe('req-42');
    expect(typeof seen!.req.ip).toBe('string');
  });

  test('is not called when the reset fails', async () => {
    const onPasswordReset = jest.fn();
    t = await createApp({ options: { hooks: { onPasswordReset } } });
    const token = await t.requestToken();
    await t.post('/reset', { token, password: 'short' });
    await t.post('/reset', { token: 'unknown', password: GOOD_PASSWORD });
    expect(onPasswordReset).not.toHaveBeenCalled();
  });

  test('a throwing hook does not undo or fail the reset; it becomes an error event', async () => {
    t = await createApp({
      options: {
        hooks: {
          onPasswordReset: async () => {
            throw new Error('session store down');
          },
        },
      },
    });
    const token = await t.requestToken();
    const response = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ success: true });
    expect(t.users.updates).toHaveLength(1);
    expect(t.events).toContainEqual(
      expect.objectContaining({
        type: 'error',
        stage: 'onPasswordReset',
        error: expect.objectContaining({ message: 'session store down' }),
      }),
    );
    await t.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'changed');
  });
});

describe('hooks.onEvent', () => {
  test('a known address: reset.requested, then email.sent for the reset email', async () => {
    t = await createApp();
    await t.forgot(ADA.email);
    expect(t.events).toEqual([
      {
        type: 'reset.requested',
        userId: ADA.id,
        email: ADA.email,
        kind: 'reset',
        ip: expect.any(String),
        at: expect.any(Date),
      },
      { type: 'email.sent', kind: 'reset', to: ADA.email, userId: ADA.id, at: expect.any(Date) },
    ]);
  });

  test('an unknown address: reset.unknown_email', async () => {
    t = await createApp();
    await t.forgot('nobody@example.com');
    expect(t.events).toEqual([
      { type: 'reset.unknown_email', email: 'nobody@example.com', ip: expect.any(String), at: expect.any(Date) },
    ]);
  });

  test('a completed reset: reset.completed, then email.sent for the changed notice', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const from = t.events.length;
    await t.post('/reset', { token, password: GOOD_PASSWORD });
    await t.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'changed', from);
    expect(t.events.slice(from)).toEqual([
      { type: 'reset.completed', userId: ADA.id, kind: 'reset', ip: expect.any(String), at: expect.any(Date) },
      { type: 'email.sent', kind: 'changed', to: ADA.email, userId: ADA.id, at: expect.any(Date) },
    ]);
  });

  test('refusals: verify.failed with endpoint and reason, password.rejected with rules', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const from = t.events.length;
    await t.post('/verify', { token: 'nope' });
    await t.post('/reset', { token, password: 'iloveyou' });
    expect(t.events.slice(from)).toEqual([
      { type: 'verify.failed', endpoint: 'verify', reason: 'invalid', ip: expect.any(String), at: expect.any(Date) },
      { type: 'password.rejected', userId: ADA.id, rules: ['common'], ip: expect.any(String), at: expect.any(Date) },
    ]);
  });

  test('the code flow: wrong_code, code.locked, then locked', async () => {
    t = await createApp({ options: { code: { enabled: true, maxAttempts: 2 } } });
    await t.forgot(ADA.email);
    const code = t.mailer.last()!.data.code!;
    const wrong = code === '000000' ? '000001' : '000000';
    const from = t.events.length;
    for (let i = 0; i < 3; i += 1) await t.post('/verify', { email: ADA.email, code: wrong });
    expect(types(t.events.slice(from))).toEqual(['verify.failed', 'verify.failed', 'code.locked', 'verify.failed']);
    expect(t.events.slice(from).map((e) => (e.type === 'verify.failed' ? e.reason : e.type))).toEqual([
      'wrong_code',
      'wrong_code',
      'code.locked',
      'locked',
    ]);
  });

  test('limits: rate_limited names the limiter', async () => {
    t = await createApp({
      options: { rateLimit: { forgot: { windowMs: 60_000, limit: 1 }, verify: false, reset: false, perEmail: false } },
    });
    await t.forgot(ADA.email);
    await t.post('/forgot', { email: ADA.email });
    expect(t.events).toContainEqual({
      type: 'rate_limited',
      limiter: 'forgot',
      ip: expect.any(String),
      at: expect.any(Date),
    });
  });

  test('failures: error with the stage, and email.failed with the kind', async () => {
    t = await createApp({
      options: {
        mailer: {
          send: async () => {
            throw new Error('SMTP 451');
          },
        },
      },
    });
    await t.forgot(ADA.email);
    jest.spyOn(t.store, 'find').mockRejectedValueOnce(new Error('store timeout'));
    const response = await t.post('/verify', { token: 'abc' });
    expect(response.status).toBe(503);
    expect(t.events).toContainEqual(
      expect.objectContaining({
        type: 'email.failed',
        kind: 'reset',
        to: ADA.email,
        error: { name: 'Error', message: 'SMTP 451' },
      }),
    );
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'error', stage: 'store', error: { name: 'Error', message: 'store timeout' } }),
    );
  });

  test('events carry no stack', async () => {
    t = await createApp({
      options: {
        users: {
          findByEmail: async () => {
            throw new Error('db down');
          },
          updatePassword: async () => undefined,
        },
      },
    });
    await t.forgot(ADA.email);
    const error = t.events.find((e) => e.type === 'error');
    expect(error).toBeDefined();
    expect(JSON.stringify(error)).not.toContain('stack');
    expect(JSON.stringify(error)).not.toMatch(/\bat .+:\d+:\d+/);
  });

  test.each([
    [
      'throws',
      () => {
        throw new Error('audit sink down');
      },
    ],
    [
      'rejects',
      async () => {
        throw new Error('audit sink down');
      },
    ],
  ])('an onEvent that %s does not break the flow, and is logged as a warning', async (_name, onEvent) => {
    t = await createApp({ options: { hooks: { onEvent } } });
    const token = await t.requestToken();
    expect(t.mailer.messages).toHaveLength(1);
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    // A rejection is reported a tick later than a throw.
    await new Promise((resolve) => setImmediate(resolve));
    // One warning per event the hook failed on: none swallowed, none repeated.
    const warnings = t.logs.filter((line) => line.level === 'warn');
    expect(t.events.length).toBeGreaterThanOrEqual(4);
    expect(warnings).toHaveLength(t.events.length);
    for (const line of warnings)
      expect(line.message).toBe('[express-password-reset] hooks.onEvent threw: audit sink down');
  });
});

describe('notices', () => {
  test('a changed-password notice is sent by default', async () => {
    t = await createApp();
    const token = await t.requestToken();
    await t.post('/reset', { token, password: GOOD_PASSWORD });
    await t.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'changed');
    expect(t.mailer.messages.map((m) => [m.kind, m.to])).toEqual([
      ['reset', ADA.email],
      ['changed', ADA.email],
    ]);
  });

  test('sendChangedNotice: false sends none', async () => {
    t = await createApp({ options: { emails: { sendChangedNotice: false } } });
    const token = await t.requestToken();
    await t.post('/reset', { token, password: GOOD_PASSWORD });
    await t.forgot('grace@example.com'); // let any stray background send happen before looking
    expect(t.mailer.messages.map((m) => m.kind)).toEqual(['reset', 'reset']);
  });

  test('a failing changed notice does not fail the reset', async () => {
    const sent: EmailMessage[] = [];
    const mailer: Mailer = {
      send: async (message) => {
        if (message.kind === 'changed') throw new Error('mailbox full');
        sent.push(message);
      },
    };
    t = await createApp({ options: { mailer } });
    await t.forgot(ADA.email);
    const response = await t.post('/reset', { token: tokenOf(sent[0]), password: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    await t.waitForEvent((e) => e.type === 'email.failed' && e.kind === 'changed');
  });

  test('unknown addresses get no email by default', async () => {
    t = await createApp();
    await t.forgot('nobody@example.com');
    expect(t.mailer.messages).toEqual([]);
  });

  test('notifyUnknown: true sends an "unknown" email to an address with no account, behind the same 202', async () => {
    t = await createApp({ options: { emails: { notifyUnknown: true } } });
    const unknown = await t.forgot('nobody@example.com');
    const known = await t.forgot(ADA.email);
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    const notice = t.mailer.messages.find((m) => m.kind === 'unknown');
    expect(notice).toMatchObject({ to: 'nobody@example.com', kind: 'unknown' });
    expect(notice!.text).toContain('nobody@example.com');
    expect(notice!.data.resetUrl).toBeUndefined();
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'email.sent', kind: 'unknown', to: 'nobody@example.com' }),
    );
  });
});
