/**
 * SPEC 0.2 "Matching an existing API": `routes`, `fields`, `unknownFields` and `respond`, their construction
 * errors, and the 0.1 guarantees (no enumeration, single use, limits) under a non-default configuration.
 */
import request from 'supertest';
import { OptionsError, passwordReset, type PasswordResetOptions, type RespondOutcome } from '../lib';
import { ADA, createApp, GOOD_PASSWORD, MemoryUsers, RESET_URL, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function app(options: Partial<PasswordResetOptions>): Promise<TestApp> {
  t = await createApp({ options });
  return t;
}

/** The option an `OptionsError` names, or the error itself when it is not one. */
function optionError(options: Partial<PasswordResetOptions>): unknown {
  try {
    const router = passwordReset({ users: new MemoryUsers([]), resetUrl: RESET_URL, logger: false, ...options });
    void router.close();
    return 'no error';
  } catch (error) {
    return error instanceof OptionsError ? `${error.code} ${error.option}` : error;
  }
}

const fieldsOf = (response: request.Response): string[] =>
  ((response.body as { error?: { details?: { field: string }[] } }).error?.details ?? []).map((d) => d.field);

const RENAMED = {
  routes: { forgot: '/reset', verify: '/check-token', reset: '/newPassword' },
  fields: { email: ['userEmail'], token: ['passwordResetToken'], password: ['newPassword', 'pwd'] },
} as const;

describe('routes', () => {
  test('the JSON API is served at the renamed paths only; false leaves an endpoint out', async () => {
    const a = await app({ routes: { forgot: '/reset', reset: '/newPassword', verify: false } });
    const token = await a.requestToken();
    expect((await a.post('/forgot', { email: ADA.email })).status).toBe(404);
    expect((await a.post('/verify', { token })).status).toBe(404);
    expect((await a.post('/newPassword', { token, password: GOOD_PASSWORD })).status).toBe(200);
    expect(a.users.updates).toHaveLength(1);
  });

  test('405 and OPTIONS follow the renamed paths, with Allow', async () => {
    const a = await app({ routes: { verify: '/tokens/check' } });
    const get = await request(a.app).get('/auth/password/tokens/check');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
    expect(get.body.error.code).toBe('METHOD_NOT_ALLOWED');
    expect((await request(a.app).get('/auth/password/verify')).status).toBe(404);
  });

  test('the per-IP limits follow the renamed paths', async () => {
    const a = await app({
      routes: { forgot: '/request-reset' },
      rateLimit: { forgot: { windowMs: 60_000, limit: 2 } },
    });
    for (let i = 0; i < 2; i += 1) expect((await a.post('/request-reset', { email: ADA.email })).status).toBe(202);
    const limited = await a.post('/request-reset', { email: ADA.email });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
  });

  test('the hosted pages follow the renamed paths and link to each other wherever they are', async () => {
    const a = await app({ pages: true, routes: { forgot: '/account/forgot-password', reset: '/set-password' } });
    const forgot = await request(a.app).get('/auth/password/account/forgot-password');
    expect(forgot.status).toBe(200);
    expect(forgot.text).toContain('action="forgot-password"');
    const reset = await request(a.app).get('/auth/password/set-password');
    expect(reset.status).toBe(400);
    expect((await request(a.app).get('/auth/password/forgot')).status).toBe(404);
    const token = await a.requestToken();
    const opened = await request(a.app).get(`/auth/password/set-password?token=${token}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('set-password');
    expect(String(opened.headers['set-cookie'])).toContain('Path=/auth/password/set-password');
  });

  test('a link from a nested page climbs back out', async () => {
    const a = await app({ pages: true, routes: { forgot: '/a/b/forgot', reset: '/reset' } });
    const token = await a.requestToken();
    const opened = await request(a.app).get(`/auth/password/reset?token=${token}`);
    const cookie = String(opened.headers['set-cookie']).split(';')[0]!;
    expect((await a.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    const page = await request(a.app).get('/auth/password/reset').set('Cookie', cookie);
    // The dead-link page offers a new link: relative to /reset, the forgot page is a/b/forgot.
    expect(page.text).toMatch(/href="a\/b\/forgot"/);
  });

  test.each([
    [{ routes: { forgot: 'forgot' } }, 'ERR_EPR_OPTION_INVALID routes.forgot'],
    [{ routes: { reset: '/a/:id' } }, 'ERR_EPR_OPTION_INVALID routes.reset'],
    [{ routes: { verify: 5 } }, 'ERR_EPR_OPTION_INVALID routes.verify'],
    [{ routes: { verify: true } }, 'ERR_EPR_OPTION_INVALID routes.verify'],
    [{ routes: { forgot: '/same', reset: '/same' } }, 'ERR_EPR_OPTION_CONFLICT routes.reset'],
    [{ routes: { forgot: '/Same', reset: '/same' } }, 'ERR_EPR_OPTION_CONFLICT routes.reset'],
    [{ routes: { forgot: '/reset' } }, 'ERR_EPR_OPTION_CONFLICT routes.reset'],
    [{ routes: { login: '/login' } }, 'ERR_EPR_OPTION_INVALID routes.login'],
    [{ routes: '/forgot' }, 'ERR_EPR_OPTION_INVALID routes'],
    [{ pages: true, routes: { forgot: false } }, 'ERR_EPR_OPTION_CONFLICT routes.forgot'],
    [{ openapi: true, routes: { verify: '/openapi.json' } }, 'ERR_EPR_OPTION_CONFLICT routes.verify'],
  ])('%j fails at construction naming the option', (options, expected) => {
    expect(optionError(options as unknown as Partial<PasswordResetOptions>)).toBe(expected);
  });
});

describe('fields', () => {
  test('the renamed names are accepted, and the defaults they replace are unknown keys', async () => {
    const a = await app({ fields: RENAMED.fields });
    expect((await a.post('/forgot', { userEmail: ADA.email })).status).toBe(202);
    const old = await a.post('/forgot', { email: ADA.email });
    expect(old.status).toBe(400);
    expect(fieldsOf(old).sort()).toEqual(['email', 'userEmail']);
    const token = await tokenFromOutbox(a);
    const reset = await a.post('/reset', { passwordResetToken: token, pwd: GOOD_PASSWORD });
    expect(reset.status).toBe(200);
  });

  test('error details name the field as the client sent it', async () => {
    const a = await app({ fields: RENAMED.fields });
    const bad = await a.post('/forgot', { userEmail: 'not-an-address' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ field: 'userEmail', message: expect.stringContaining('"userEmail"') }]);
    const wrongType = await a.post('/reset', { passwordResetToken: 'x', pwd: 5 });
    expect(fieldsOf(wrongType)).toEqual(['pwd']);
    // A missing field is named by its first accepted name.
    expect(fieldsOf(await a.post('/reset', { passwordResetToken: 'x' }))).toEqual(['newPassword']);
  });

  test('two names of one field in one body are 400 VALIDATION_FAILED naming the field as sent', async () => {
    const a = await app({ fields: RENAMED.fields });
    const both = await a.post('/reset', { passwordResetToken: 'x', newPassword: GOOD_PASSWORD, pwd: GOOD_PASSWORD });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('VALIDATION_FAILED');
    expect(both.body.error.details).toEqual([{ field: 'pwd', message: 'give only one of "newPassword" or "pwd"' }]);
  });

  test('guarantee 7: secrets under renamed fields never reach events', async () => {
    const a = await app({
      fields: { password: ['pwd'] },
      bcryptRounds: undefined,
      hashPassword: (password) => Promise.reject(new Error(`cannot hash ${password}`)),
    });
    const token = await a.requestToken();
    const secret = 'a secret passphrase nobody guesses';
    const response = await a.post('/reset', { token, pwd: secret });
    expect(response.status).toBeGreaterThanOrEqual(500);
    const errors = a.events.filter((event) => event.type === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(a.events)).not.toContain(secret);
  });

  test.each([
    [{ fields: { email: ['login'], token: ['login'] } }, 'ERR_EPR_OPTION_CONFLICT fields.token'],
    [{ fields: { token: ['password'] } }, 'ERR_EPR_OPTION_CONFLICT fields.password'],
    [{ fields: { token: [] } }, 'ERR_EPR_OPTION_INVALID fields.token'],
    [{ fields: { token: 'token' } }, 'ERR_EPR_OPTION_INVALID fields.token'],
    [{ fields: { token: [5] } }, 'ERR_EPR_OPTION_INVALID fields.token[0]'],
    [{ fields: { token: [''] } }, 'ERR_EPR_OPTION_INVALID fields.token[0]'],
    [{ fields: { token: ['__proto__'] } }, 'ERR_EPR_OPTION_INVALID fields.token[0]'],
    [{ fields: { otp: [] } }, 'ERR_EPR_OPTION_INVALID fields.otp'],
    [{ fields: { username: ['user'] } }, 'ERR_EPR_OPTION_INVALID fields.username'],
    [{ fields: { otp: ['totp'] } }, 'no error'],
  ])('%j: checked at construction', (options, expected) => {
    expect(optionError(options as unknown as Partial<PasswordResetOptions>)).toBe(expected);
  });
});

function tokenFromOutbox(a: TestApp): Promise<string> {
  return a
    .waitForEvent((event) => event.type === 'email.sent')
    .then(() => {
      const link = a.mailer.messages.find((m) => m.kind === 'reset')?.data.resetUrl ?? '';
      return /token=([A-Za-z0-9_-]+)/.exec(link)![1]!;
    });
}

describe('unknownFields', () => {
  test("'reject' (the default) names the unknown key; 'ignore' drops it unread", async () => {
    const rejecting = await app({});
    const refused = await rejecting.post('/forgot', { email: ADA.email, passwordEncryptType: 'none' });
    expect(fieldsOf(refused)).toEqual(['passwordEncryptType']);
    await rejecting.close();
    const a = await app({ unknownFields: 'ignore' });
    expect((await a.post('/forgot', { email: ADA.email, passwordEncryptType: 'none', n: { deep: 1 } })).status).toBe(
      202,
    );
  });

  test("guarantee 6: 'ignore' still refuses a known field of the wrong type", async () => {
    const a = await app({ unknownFields: 'ignore' });
    const wrong = await a.post('/forgot', { email: ['ada@example.com'], extra: 1 });
    expect(wrong.status).toBe(400);
    expect(fieldsOf(wrong)).toEqual(['email']);
  });

  test('any other value fails at construction', () => {
    expect(optionError({ unknownFields: 'drop' as 'ignore' })).toBe('ERR_EPR_OPTION_INVALID unknownFields');
  });
});

/** A respond that keeps every outcome it sees and answers in a shape of its own. */
function recording(): { outcomes: RespondOutcome[]; respond: NonNullable<PasswordResetOptions['respond']> } {
  const outcomes: RespondOutcome[] = [];
  return {
    outcomes,
    respond: (outcome) => {
      outcomes.push(outcome);
      if ('error' in outcome)
        return { status: outcome.status === 429 ? 429 : 299, body: { failed: outcome.error.code } };
      switch (outcome.endpoint) {
        case 'forgot':
          return { status: 200, body: { sent: outcome.body.message.length > 0 } };
        case 'verify':
          return { status: 200, body: { until: outcome.body.expiresAt } };
        case 'reset':
          return { status: 204 };
      }
    },
  };
}

describe('respond', () => {
  test('maps /verify and /reset per request, and /forgot once at construction, never per request', async () => {
    const { outcomes, respond } = recording();
    const a = await app({ respond });
    expect(outcomes).toEqual([
      { endpoint: 'forgot', status: 202, body: { success: true, message: expect.any(String) } },
    ]);
    for (const email of [ADA.email, 'nobody@example.com', ADA.email]) {
      const answer = await a.post('/forgot', { email });
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: { sent: true } });
    }
    const token = await a.requestToken();
    expect(outcomes.filter((outcome) => outcome.endpoint === 'forgot')).toHaveLength(1);
    const verified = await a.post('/verify', { token });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ until: expect.stringMatching(/^\d{4}-/) });
    const reset = await a.post('/reset', { token, password: GOOD_PASSWORD });
    expect({ status: reset.status, text: reset.text }).toEqual({ status: 204, text: '' });
    expect(reset.headers['cache-control']).toBe('no-store');
  });

  test('every error code goes through it (400, 405, 413, 415, 422, 429, 503, 500), headers kept', async () => {
    const { outcomes, respond } = recording();
    // A body whose reading throws stands in for a bug anywhere in the router: the answer is 500 INTERNAL_ERROR.
    const bugOnDemand = (
      req: { headers: Record<string, unknown>; body?: unknown },
      _res: unknown,
      next: () => void,
    ) => {
      if (req.headers['x-test-bug']) {
        Object.assign(req, { _body: true });
        let reads = 0;
        // Throws on the first read only: the error handling after it reads the body too.
        req.body = Object.defineProperty({}, 'token', {
          enumerable: true,
          get: () => {
            reads += 1;
            if (reads === 1) throw new TypeError('a bug');
            return 'x';
          },
        });
      }
      next();
    };
    const a = (t = await createApp({
      options: { respond, rateLimit: { verify: { windowMs: 60_000, limit: 9 } } },
      configure: (express) => express.use(bugOnDemand),
    }));
    const token = await a.requestToken();
    const answers = [
      await a.post('/verify', { token: 5 }),
      await a.post('/verify', '{"token":'),
      await request(a.app).get('/auth/password/verify'),
      await a.post('/reset', JSON.stringify({ token, password: 'x'.repeat(20_000) })),
      await a.post('/verify').set('Content-Type', 'text/plain').send('token'),
      await a.post('/reset', { token, password: 'password' }),
    ];
    jest.spyOn(a.store, 'find').mockRejectedValueOnce(new Error('store down'));
    answers.push(await a.post('/verify', { token }));
    jest.spyOn(a.users, 'updatePassword').mockImplementationOnce(() => {
      throw new TypeError('a bug in the adapter');
    });
    answers.push(await a.post('/reset', { token: await a.requestToken(), password: GOOD_PASSWORD }));
    answers.push(await a.post('/verify', { token: 'x' }).set('X-Test-Bug', '1'));
    for (let i = 0; i < 9; i += 1) answers.push(await a.post('/verify', { token: 'x' }));
    const codes = outcomes.flatMap((outcome) =>
      'error' in outcome ? [`${outcome.status} ${outcome.error.code}`] : [],
    );
    expect([...new Set(codes)].sort()).toEqual(
      expect.arrayContaining([
        '400 MALFORMED_JSON',
        '400 VALIDATION_FAILED',
        '405 METHOD_NOT_ALLOWED',
        '413 PAYLOAD_TOO_LARGE',
        '415 UNSUPPORTED_MEDIA_TYPE',
        '422 PASSWORD_REJECTED',
        '429 RATE_LIMITED',
        '500 INTERNAL_ERROR',
        '503 SERVICE_UNAVAILABLE',
      ]),
    );
    for (const answer of answers.filter((answer) => answer.status !== 429)) {
      expect(answer.status).toBe(299);
      expect(answer.body).toEqual({ failed: expect.any(String) });
    }
    const limited = answers[answers.length - 1]!;
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.headers.ratelimit).toMatch(/^limit=9, remaining=0/);
    expect(answers[2]!.headers.allow).toBe('POST, OPTIONS');
  });

  test.each([
    [
      'throws',
      (): never => {
        throw new Error('respond bug');
      },
    ],
    ['returns status 600', () => ({ status: 600 })],
    ['returns status 200.5', () => ({ status: 200.5 })],
    ['returns status 101 (not a final answer)', () => ({ status: 101 })],
    ['returns a body with status 204', () => ({ status: 204, body: { a: 1 } })],
    ['returns a string status', () => ({ status: '200' as unknown as number })],
    ['returns nothing', () => undefined as unknown as { status: number }],
  ])('a respond that %s gives the default-shape 500 INTERNAL_ERROR and an error event', async (_name, broken) => {
    const a = await app({
      respond: (outcome) => (outcome.endpoint === 'forgot' ? { status: 202 } : broken()),
    });
    const answer = await a.post('/verify', { token: 'x' });
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: expect.any(String) } });
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'error', stage: 'respond' }));
  });

  test('a respond that fails for /forgot: every /forgot is the default 500, reported, and starts nothing', async () => {
    const a = await app({
      respond: (outcome) => {
        if (outcome.endpoint === 'forgot') throw new Error('no');
        return { status: outcome.status };
      },
    });
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'error', stage: 'respond' }));
    for (const email of [ADA.email, 'nobody@example.com']) {
      const answer = await request(a.app).post('/auth/password/forgot').send({ email });
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: expect.any(String) } });
    }
    await a.router.close();
    expect(a.events.filter((event) => event.type === 'error' && event.stage === 'respond')).toHaveLength(3);
    expect(a.mailer.messages).toHaveLength(0);
    expect(optionError({ respond: 'json' as unknown as () => { status: number } })).toBe(
      'ERR_EPR_OPTION_INVALID respond',
    );
  });

  test('the hosted pages are not affected', async () => {
    const a = await app({ pages: true, respond: () => ({ status: 299, body: { mapped: true } }) });
    const page = await request(a.app).get('/auth/password/forgot');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const form = await request(a.app).post('/auth/password/forgot').type('form').send({ email: 'nope' });
    expect(form.headers['content-type']).toContain('text/html');
  });
});

describe('0.1 guarantees under renamed routes, fields and respond', () => {
  const options = (respond: NonNullable<PasswordResetOptions['respond']>): Partial<PasswordResetOptions> => ({
    ...RENAMED,
    respond,
    rateLimit: { forgot: { windowMs: 60_000, limit: 4 } },
  });

  test('guarantee 1: /forgot answers known and unknown addresses with one status, body and headers', async () => {
    const a = await app(options(recording().respond));
    const known = await a.post('/reset', { userEmail: ADA.email });
    const unknown = await a.post('/reset', { userEmail: 'nobody@example.com' });
    const strip = (r: request.Response) => {
      const { date: _d, ratelimit: _r, 'ratelimit-remaining': _rr, 'ratelimit-reset': _rs, ...headers } = r.headers;
      return { status: r.status, text: r.text, headers };
    };
    expect(strip(unknown)).toEqual(strip(known));
  });

  test('guarantee 1: the mapped /forgot answer is written before the user lookup finishes', async () => {
    let finish: (user: null) => void = () => undefined;
    const lookup = new Promise<null>((resolve) => (finish = resolve));
    const users = new MemoryUsers([ADA]);
    jest.spyOn(users, 'findByEmail').mockReturnValue(lookup);
    const a = await app({ ...options(recording().respond), users });
    const answer = await a.post('/reset', { userEmail: ADA.email });
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: { sent: true } });
    finish(null);
    await a.waitForEvent((event) => event.type === 'reset.unknown_email');
  });

  test('guarantee 2: a token sent under a renamed field works once', async () => {
    const a = await app(options(recording().respond));
    await a.post('/reset', { userEmail: ADA.email });
    const passwordResetToken = await tokenFromOutbox(a);
    expect((await a.post('/newPassword', { passwordResetToken, pwd: GOOD_PASSWORD })).status).toBe(204);
    const again = await a.post('/newPassword', { passwordResetToken, pwd: GOOD_PASSWORD });
    expect({ status: again.status, body: again.body }).toEqual({ status: 299, body: { failed: 'TOKEN_INVALID' } });
    expect(a.users.updates).toHaveLength(1);
  });

  test('guarantee 10 (limits): the per-IP limit counts on the renamed path, 429 through respond', async () => {
    const a = await app(options(recording().respond));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await a.post('/reset', { userEmail: ADA.email })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  test('guarantee 1: /verify { email, code } answers an unknown address as a known one with a wrong code', async () => {
    const a = await app({
      code: { enabled: true },
      fields: { email: ['userEmail'], code: ['otpCode'] },
      routes: { verify: '/check' },
      respond: recording().respond,
    });
    await a.post('/forgot', { userEmail: ADA.email });
    await tokenFromOutbox(a);
    const wrongCode = await a.post('/check', { userEmail: ADA.email, otpCode: '000000' });
    const unknown = await a.post('/check', { userEmail: 'nobody@example.com', otpCode: '000000' });
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: wrongCode.status, body: wrongCode.body });
    expect(unknown.body).toEqual({ failed: 'TOKEN_INVALID' });
  });
});
