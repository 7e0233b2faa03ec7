/**
 * README guarantee 6 and the error shape: every body is validated strictly (a
 * non-string where a string belongs is a 400, never a query), parse problems
 * get their own codes, and every answer is JSON in the documented error shape with
 * `Cache-Control: no-store` and `Referrer-Policy: no-referrer`.
 */
import express from 'express';
import type { Response } from 'supertest';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Asserts the documented error shape, the security headers, and that nothing looks like HTML or a stack trace. */
function expectApiError(response: Response, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(response.body).sort()).toEqual(['error', 'success']);
  expect(response.body.success).toBe(false);
  expect(Object.keys(response.body.error).every((key) => ['code', 'message', 'details'].includes(key))).toBe(true);
  expect(typeof response.body.error.message).toBe('string');
  expect(response.text).not.toMatch(/<html|<!doctype|<pre>/i);
  expect(response.text).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
  expectSecurityHeaders(response);
}

function expectSecurityHeaders(response: Response): void {
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['referrer-policy']).toBe('no-referrer');
}

function fieldsOf(response: Response): string[] {
  return (response.body.error.details as { field: string }[]).map((detail) => detail.field);
}

/** Values that are not strings, as JSON. */
const NOT_STRINGS: [string, unknown][] = [
  ['an operator object', { $gt: '' }],
  ['another operator object', { $ne: null }],
  ['a regex-like object', { $regex: '.*' }],
  ['an empty object', {}],
  ['a number', 42],
  ['a boolean', true],
  ['null', null],
  ['an array', ['ada@example.com']],
  ['an empty array', []],
];

describe('NoSQL-injection shapes and other non-strings are 400 VALIDATION_FAILED', () => {
  test('{"email":{"$gt":""}} on /forgot is a 400 naming the field, and no user lookup happens', async () => {
    t = await createApp();
    const findByEmail = jest.spyOn(t.users, 'findByEmail');
    const response = await t.post('/forgot', '{"email":{"$gt":""}}');
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([{ field: 'email', message: expect.any(String) }]);
    expect(findByEmail).not.toHaveBeenCalled();
    expect(t.events).toEqual([]);
  });

  test.each(NOT_STRINGS)('/forgot email as %s', async (_name, value) => {
    t = await createApp();
    const response = await t.post('/forgot', { email: value });
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(response)).toEqual(['email']);
  });

  test.each(NOT_STRINGS)('/verify token as %s', async (_name, value) => {
    t = await createApp();
    const find = jest.spyOn(t.store, 'find');
    const response = await t.post('/verify', { token: value });
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(response)).toEqual(['token']);
    expect(find).not.toHaveBeenCalled();
  });

  test.each(NOT_STRINGS)('/reset token as %s', async (_name, value) => {
    t = await createApp();
    const response = await t.post('/reset', { token: value, password: GOOD_PASSWORD });
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(response)).toEqual(['token']);
  });

  test.each(NOT_STRINGS)('/reset password as %s', async (_name, value) => {
    t = await createApp();
    const token = await t.requestToken();
    const response = await t.post('/reset', { token, password: value });
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(response)).toEqual(['password']);
    // The link was not touched.
    expect((await t.post('/verify', { token })).status).toBe(200);
  });

  test.each(NOT_STRINGS)('code flow: email and code as %s', async (_name, value) => {
    t = await createApp({ options: { code: { enabled: true } } });
    const findByEmail = jest.spyOn(t.users, 'findByEmail');
    const badEmail = await t.post('/verify', { email: value, code: '123456' });
    expectApiError(badEmail, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(badEmail)).toContain('email');
    const badCode = await t.post('/reset', { email: ADA.email, code: value, password: GOOD_PASSWORD });
    expectApiError(badCode, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(badCode)).toContain('code');
    expect(findByEmail).not.toHaveBeenCalled();
  });

  test('a code given as a number is refused, not converted', async () => {
    t = await createApp({ options: { code: { enabled: true } } });
    const response = await t.post('/verify', { email: ADA.email, code: 123456 });
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(response)).toEqual(['code']);
  });

  test('a malformed address is a 400 on /forgot', async () => {
    t = await createApp();
    for (const email of ['not-an-address', '', 'a@', `${'a'.repeat(250)}@example.com`]) {
      const response = await t.post('/forgot', { email });
      expectApiError(response, 400, 'VALIDATION_FAILED');
      // One field, possibly with several messages (a long malformed address breaks two rules).
      expect(new Set(fieldsOf(response))).toEqual(new Set(['email']));
    }
  });
});

describe('body shape', () => {
  test('unknown keys are refused and named', async () => {
    t = await createApp();
    const forgot = await t.post('/forgot', { email: ADA.email, role: 'admin' });
    expectApiError(forgot, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(forgot)).toEqual(['role']);
    const reset = await t.post('/reset', { token: 'x', password: GOOD_PASSWORD, userId: 'u1' });
    expectApiError(reset, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(reset)).toEqual(['userId']);
  });

  test('a "__proto__" key is dropped (Joi skips it) and pollutes no prototype', async () => {
    t = await createApp();
    const findByEmail = jest.spyOn(t.users, 'findByEmail');
    const response = await t.post('/forgot', '{"email":"ada@example.com","__proto__":{"isAdmin":true}}');
    expect(response.status).toBe(202);
    await t.waitForEvent((e) => e.type === 'email.sent');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(findByEmail).toHaveBeenCalledWith(ADA.email);
  });

  test('every problem of a body is listed, one detail per field', async () => {
    t = await createApp();
    const response = await t.post('/reset', { token: 5, password: false, extra: 1 });
    expectApiError(response, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(response).sort()).toEqual(['extra', 'password', 'token']);
  });

  test('missing fields are named', async () => {
    t = await createApp();
    expect(fieldsOf(await t.post('/forgot', {}))).toEqual(['email']);
    expect(fieldsOf(await t.post('/verify', {}))).toEqual(['token']);
    const reset = await t.post('/reset', { token: 'abc' });
    expectApiError(reset, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(reset)).toEqual(['password']);
  });

  test('newPassword is accepted as an alias of password', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const response = await t.post('/reset', { token, newPassword: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ success: true });
    expect(t.users.updates).toHaveLength(1);
  });

  test('password and newPassword together are refused', async () => {
    t = await createApp();
    const response = await t.post('/reset', { token: 'abc', password: GOOD_PASSWORD, newPassword: GOOD_PASSWORD });
    expectApiError(response, 400, 'VALIDATION_FAILED');
  });

  test('an array body is a 400', async () => {
    t = await createApp();
    expectApiError(await t.post('/forgot', '[{"email":"ada@example.com"}]'), 400, 'VALIDATION_FAILED');
  });

  test('an empty body is a 400 naming the missing field', async () => {
    t = await createApp();
    const noBody = await t.post('/forgot');
    expectApiError(noBody, 400, 'VALIDATION_FAILED');
    expect(fieldsOf(noBody)).toEqual(['email']);
    const emptyJson = await t.post('/forgot').set('Content-Type', 'application/json').send('');
    expectApiError(emptyJson, 400, 'VALIDATION_FAILED');
  });

  test.each([
    ['cut off', '{"email":'],
    ['single quotes', "{'email':'ada@example.com'}"],
    ['a trailing comma', '{"email":"ada@example.com",}'],
    ['a bare string', '"ada@example.com"'],
    ['null', 'null'],
  ])('malformed JSON (%s) is 400 MALFORMED_JSON', async (_name, body) => {
    t = await createApp();
    expectApiError(await t.post('/forgot', body), 400, 'MALFORMED_JSON');
  });
});

describe('content type and size', () => {
  test.each([
    ['text/plain', 'email=ada@example.com'],
    ['application/x-www-form-urlencoded', 'email=ada%40example.com'],
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nada@example.com\r\n--x--',
    ],
    ['application/xml', '<email>ada@example.com</email>'],
  ])('a %s body is 415 UNSUPPORTED_MEDIA_TYPE', async (type, body) => {
    t = await createApp();
    const response = await t.post('/forgot').set('Content-Type', type).send(body);
    expectApiError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(t.mailer.messages).toHaveLength(0);
  });

  test('a JSON body in a charset other than UTF-8 is 415', async () => {
    t = await createApp();
    const response = await t
      .post('/forgot')
      .set('Content-Type', 'application/json; charset=iso-8859-1')
      .send('{"email":"ada@example.com"}');
    expectApiError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('application/json with a charset is fine', async () => {
    t = await createApp();
    const response = await t
      .post('/forgot')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{"email":"ada@example.com"}');
    expect(response.status).toBe(202);
  });

  test('a body over the limit is 413 PAYLOAD_TOO_LARGE', async () => {
    t = await createApp();
    const response = await t.post('/forgot', { email: ADA.email, padding: 'x'.repeat(20_000) });
    expectApiError(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('a body within a few KB is read', async () => {
    t = await createApp();
    const token = await t.requestToken();
    // A long but legal body: the biggest password a client could reasonably send.
    const response = await t.post('/reset', { token, password: 'p'.repeat(1000) });
    expectApiError(response, 422, 'PASSWORD_REJECTED');
  });
});

describe('the app may or may not parse JSON itself', () => {
  test.each([
    ['without an app-level parser', undefined],
    ['after express.json()', express.json()],
    ['after express.json() with a large limit', express.json({ limit: '1mb' })],
    ['after express.urlencoded()', express.urlencoded({ extended: false })],
  ])('the whole flow works %s', async (_name, parser) => {
    t = await createApp({
      configure: (app) => {
        if (parser) app.use(parser);
      },
    });
    const token = await t.requestToken();
    expect((await t.post('/verify', { token })).status).toBe(200);
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    // The router's own rules still hold on bodies the app parsed.
    expectApiError(await t.post('/forgot', { email: { $gt: '' } }), 400, 'VALIDATION_FAILED');
    expectApiError(
      await t.post('/forgot').set('Content-Type', 'application/x-www-form-urlencoded').send('email=a%40b.example'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('security headers on every response', () => {
  test('success answers carry Cache-Control: no-store and Referrer-Policy: no-referrer', async () => {
    t = await createApp();
    const forgot = await t.post('/forgot', { email: ADA.email });
    expect(forgot.status).toBe(202);
    expectSecurityHeaders(forgot);
    await t.waitForEvent((e) => e.type === 'email.sent');
    const token = await t.requestToken();
    const verify = await t.post('/verify', { token });
    expect(verify.status).toBe(200);
    expectSecurityHeaders(verify);
    const reset = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(reset.status).toBe(200);
    expectSecurityHeaders(reset);
  });

  test('error answers carry them: 400, 413, 415, 429', async () => {
    t = await createApp({
      options: { rateLimit: { forgot: { windowMs: 60_000, limit: 2 }, verify: false, reset: false, perEmail: false } },
    });
    expectApiError(await t.post('/verify', { token: 'nope' }), 400, 'TOKEN_INVALID');
    expectApiError(await t.post('/verify', { token: 'x'.repeat(10_000) }), 413, 'PAYLOAD_TOO_LARGE');
    expectApiError(await t.post('/forgot', '{'), 400, 'MALFORMED_JSON');
    expectApiError(
      await t.post('/forgot', '{"email":"ada@example.com"}').set('Content-Type', 'text/plain'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    // Those two counted against the /forgot limit of 2.
    expectApiError(await t.post('/forgot', { email: ADA.email }), 429, 'RATE_LIMITED');
  });

  test('a 422 carries them too', async () => {
    t = await createApp();
    const token = await t.requestToken();
    expectApiError(await t.post('/reset', { token, password: 'short' }), 422, 'PASSWORD_REJECTED');
  });
});
