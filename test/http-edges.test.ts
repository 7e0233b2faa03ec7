/**
 * The edges of the HTTP contract: other methods on the router's paths (405 with
 * `Allow`, `OPTIONS` with the security headers), bodies that do not decode in
 * their `Content-Encoding` (400, not 500), a subject line that cannot be split
 * by `appName`, and `/verify` agreeing with `/reset` about a link whose account
 * changed its address.
 */
import express from 'express';
import request from 'supertest';
import { OptionsError, openApiDocument, passwordReset } from '../lib';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const OTHER_METHODS = ['get', 'put', 'delete', 'patch'] as const;

describe('405 METHOD_NOT_ALLOWED on the router paths', () => {
  test.each(['/forgot', '/verify', '/reset'])(
    'other methods on %s answer 405 with Allow, in the API shape',
    async (path) => {
      t = await createApp();
      for (const method of OTHER_METHODS) {
        const answer = await request(t.server)[method](`${t.mountPath}${path}`);
        expect(answer.status).toBe(405);
        expect(answer.headers.allow).toBe('POST, OPTIONS');
        expect(answer.headers['cache-control']).toBe('no-store');
        expect(answer.headers['referrer-policy']).toBe('no-referrer');
        expect(answer.body).toEqual({
          success: false,
          error: { code: 'METHOD_NOT_ALLOWED', message: 'This method is not allowed on this path.' },
        });
      }
      expect(t.events.filter((event) => event.type === 'error')).toEqual([]);
    },
  );

  test('with pages on, GET and HEAD are allowed on /forgot and /reset, and Allow says so', async () => {
    t = await createApp({ options: { pages: true, openapi: true } });
    expect((await request(t.server).get(`${t.mountPath}/forgot`)).status).toBe(200);
    expect((await request(t.server).head(`${t.mountPath}/forgot`)).status).toBe(200);
    const put = await request(t.server).put(`${t.mountPath}/reset`);
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    const getVerify = await request(t.server).get(`${t.mountPath}/verify`);
    expect(getVerify.status).toBe(405);
    expect(getVerify.headers.allow).toBe('POST, OPTIONS');
    const postOpenApi = await request(t.server).post(`${t.mountPath}/openapi.json`);
    expect(postOpenApi.status).toBe(405);
    expect(postOpenApi.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  test('OPTIONS answers 204 with Allow and the security headers', async () => {
    t = await createApp();
    const answer = await request(t.server).options(`${t.mountPath}/reset`);
    expect(answer.status).toBe(204);
    expect(answer.headers.allow).toBe('POST, OPTIONS');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
  });

  test('OPTIONS on the hosted pages (renamed or not) answers the same: 204, Allow and the security headers', async () => {
    t = await createApp({ options: { pages: true, routes: { forgot: '/lost', reset: '/new' } } });
    for (const path of ['/lost', '/new']) {
      const answer = await request(t.server).options(`${t.mountPath}${path}`);
      expect(answer.status).toBe(204);
      expect(answer.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  test('paths the router does not serve still reach the app', async () => {
    t = await createApp();
    expect((await request(t.server).get(`${t.mountPath}/elsewhere`)).status).toBe(404);
  });
});

describe('bodies that do not decode in their Content-Encoding', () => {
  test.each(['gzip', 'deflate'])(
    'a JSON body that is not %s answers 400 MALFORMED_JSON, with no error event',
    async (encoding) => {
      t = await createApp();
      const answer = await request(t.server)
        .post(`${t.mountPath}/forgot`)
        .set('content-type', 'application/json')
        .set('content-encoding', encoding)
        .send(JSON.stringify({ email: ADA.email }));
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('MALFORMED_JSON');
      expect(t.events.filter((event) => event.type === 'error')).toEqual([]);
    },
  );

  test('a form post that is not gzip answers a 400 page', async () => {
    t = await createApp({ options: { pages: true } });
    const answer = await request(t.server)
      .post(`${t.mountPath}/forgot`)
      .set('content-type', 'application/x-www-form-urlencoded')
      .set('content-encoding', 'gzip')
      .send(`email=${encodeURIComponent(ADA.email)}`);
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(t.events.filter((event) => event.type === 'error')).toEqual([]);
  });
});

describe('emails.appName', () => {
  test.each([
    ['CR LF', 'Acme\r\nBcc: victim@example.com'],
    ['LF', 'Acme\nX'],
    ['NUL', 'Acme\u0000'],
  ])('with %s is refused at construction, naming the option', (_name, appName) => {
    const build = (): unknown =>
      passwordReset({
        users: { findByEmail: async () => null, updatePassword: async () => undefined },
        resetUrl: 'https://app.example/reset',
        logger: false,
        emails: { appName },
      });
    expect(build).toThrow(OptionsError);
    expect(build).toThrow(/option "emails.appName" must be one line of text/);
  });
});

describe('/verify and /reset agree about a link whose account changed its address', () => {
  test('after the address change /verify answers TOKEN_INVALID, and so does /reset', async () => {
    t = await createApp();
    const token = await t.requestToken();
    expect((await t.post('/verify', { token })).status).toBe(200);
    t.users.users.find((user) => user.id === ADA.id)!.email = 'ada.lovelace@example.com';
    const verify = await t.post('/verify', { token });
    expect(verify.status).toBe(400);
    expect(verify.body.error.code).toBe('TOKEN_INVALID');
    const reset = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(reset.body.error.code).toBe('TOKEN_INVALID');
  });
});

test('a router mounted on an app keeps its 405s inside its mount path', async () => {
  const app = express();
  const router = passwordReset({
    users: { findByEmail: async () => null, updatePassword: async () => undefined },
    resetUrl: 'https://app.example/reset',
    logger: false,
    bcryptRounds: 4,
  });
  app.use('/auth/password', router);
  app.get('/forgot', (_req, res) => res.send('the app'));
  expect((await request(app).get('/forgot')).text).toBe('the app');
  expect((await request(app).get('/auth/password/forgot')).status).toBe(405);
  await router.close();
});

describe('GET /openapi.json', () => {
  test('is the generated document with the mount path as sent as its server, for every spelling', async () => {
    t = await createApp({ options: { openapi: true } });
    const document = openApiDocument({ basePath: '/', code: false });
    for (const spelling of ['/auth/password', '/AUTH/Password', '/Auth/PASSWORD']) {
      const answer = await request(t.server).get(`${spelling}/openapi.json`);
      expect(answer.status).toBe(200);
      expect(answer.text).toBe(JSON.stringify({ ...document, servers: [{ url: spelling }] }));
    }
  });
});

describe('abuse bounded: parallel resets with one token', () => {
  test('200 parallel resets with one valid token cost one password hash, and exactly one succeeds', async () => {
    let hashes = 0;
    t = await createApp({
      options: {
        bcryptRounds: undefined,
        hashPassword: async (password) => {
          hashes += 1;
          return `hashed:${password.length}`;
        },
      },
    });
    const token = await t.requestToken();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => t!.post('/reset', { token, password: `${GOOD_PASSWORD} ${i}` })),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.body.error?.code === 'TOKEN_INVALID')).toHaveLength(199);
    expect(hashes).toBe(1);
  });

  test('a rejected password does not hold up the next reset with the same token', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const [rejected, accepted] = await Promise.all([
      t.post('/reset', { token, password: 'short' }),
      t.post('/reset', { token, password: GOOD_PASSWORD }),
    ]);
    expect(rejected.status).toBe(422);
    expect(accepted.status).toBe(200);
  });
});
