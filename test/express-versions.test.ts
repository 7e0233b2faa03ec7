/**
 * The same router on Express 4 (installed as the npm alias `express4`) and
 * Express 5, mounted at nested paths: the flow, the error shapes (never
 * Express's HTML page) and async failures (Express 4 does not catch rejected
 * promises) behave the same.
 */
import express5 from 'express';
import { ADA, GOOD_PASSWORD, createApp, type CreateAppOptions, type TestApp } from './helpers/create-app';

const express4 = require('express4') as typeof import('express');

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const VERSIONS: [string, typeof import('express')][] = [
  ['Express 4', express4],
  ['Express 5', express5],
];

test('the two installed versions really are 4 and 5', () => {
  expect((require('express4/package.json') as { version: string }).version).toMatch(/^4\./);

  expect((require('express/package.json') as { version: string }).version).toMatch(/^5\./);
  expect(express4).not.toBe(express5);
});

describe.each(VERSIONS)('%s', (_name, expressModule) => {
  const mounts: [string, Pick<CreateAppOptions, 'mountPath' | 'mount'>][] = [
    ['at a nested path', { mountPath: '/api/v1/auth/password' }],
    [
      'inside a nested router',
      {
        mountPath: '/api/auth/password',
        mount: (app, router) => {
          const api = expressModule.Router();
          api.use('/auth/password', router);
          app.use('/api', api);
        },
      },
    ],
  ];

  test.each(mounts)('the whole flow works %s', async (_where, mount) => {
    t = await createApp({ express: expressModule, ...mount });
    const forgot = await t.forgot(ADA.email);
    expect(forgot.status).toBe(202);
    expect(forgot.headers['cache-control']).toBe('no-store');
    const token = await t.requestToken();
    expect((await t.post('/verify', { token })).body).toMatchObject({ success: true, valid: true });
    expect((await t.post('/reset', { token, newPassword: GOOD_PASSWORD })).body).toEqual({ success: true });
    expect(t.users.hashOf(ADA.id)).toMatch(/^\$2b\$04\$/);
    const reused = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe('TOKEN_INVALID');
  });

  test('parse errors are JSON in the API shape, not the HTML error page', async () => {
    t = await createApp({ express: expressModule });
    for (const [request, status, code] of [
      [t.post('/forgot', '{"email":'), 400, 'MALFORMED_JSON'],
      [t.post('/forgot').set('Content-Type', 'text/plain').send('hi'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [t.post('/forgot', { email: 'x'.repeat(20_000) }), 413, 'PAYLOAD_TOO_LARGE'],
      [t.post('/forgot', { email: { $gt: '' } }), 400, 'VALIDATION_FAILED'],
    ] as const) {
      const response = await request;
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body.error.code).toBe(code);
      expect(response.text).not.toMatch(/<html|<pre>/i);
    }
  });

  test('a rejected promise inside a handler becomes a 503 in the API shape', async () => {
    t = await createApp({ express: expressModule });
    jest.spyOn(t.store, 'find').mockRejectedValue(new Error('store unreachable'));
    const response = await t.post('/verify', { token: 'abc' });
    expect(response.status).toBe(503);
    expect(response.body).toEqual({
      success: false,
      error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) },
    });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'error', stage: 'store' }));
  });

  test('trust proxy and rate limits work', async () => {
    t = await createApp({
      express: expressModule,
      options: { rateLimit: { forgot: false, verify: { windowMs: 60_000, limit: 1 }, reset: false, perEmail: false } },
      configure: (app) => app.set('trust proxy', 1),
    });
    expect((await t.post('/verify', { token: 'abc' }).set('X-Forwarded-For', '203.0.113.7')).status).toBe(400);
    expect((await t.post('/verify', { token: 'abc' }).set('X-Forwarded-For', '203.0.113.7')).status).toBe(429);
    expect((await t.post('/verify', { token: 'abc' }).set('X-Forwarded-For', '203.0.113.8')).status).toBe(400);
  });

  test('requests outside the router reach the app untouched', async () => {
    t = await createApp({
      express: expressModule,
      configure: (app) =>
        app.get('/health', (_req, res) => {
          res.json({ ok: true });
        }),
    });
    const { default: request } = await import('supertest');
    const health = await request(t.server).get('/health');
    expect(health.body).toEqual({ ok: true });
    expect(health.headers['cache-control']).toBeUndefined();
    expect((await request(t.server).get(`${t.mountPath}/other`)).status).toBe(404);
    // The router's own paths answer other methods themselves: 405 with Allow.
    const get = await request(t.server).get(`${t.mountPath}/forgot`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
  });
});
