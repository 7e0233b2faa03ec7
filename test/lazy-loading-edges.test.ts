/**
 * Review of the load-cost and /forgot speed work: lazily built request schemas are per router (its code digits,
 * secondFactor and field names), whichever router answers first and however many first requests arrive at once;
 * the declared-length fast path of the body reader answers like the counted path.
 */
import { spawnSync } from 'node:child_process';
import { connect, type AddressInfo } from 'node:net';
import path from 'node:path';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** Writes `data` on a fresh connection and collects what comes back for `waitMs`. */
function rawExchange(app: TestApp, data: string, waitMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let out = '';
    socket.on('data', (chunk: Buffer) => (out += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(out));
    socket.write(data);
    setTimeout(() => socket.destroy(), waitMs).unref();
  });
}

describe('lazily built schemas belong to their router', () => {
  test('two routers with different settings, first requests concurrent, each keeps its own fields and rules', async () => {
    const withOtp = await createApp({
      options: {
        secondFactor: { required: () => false, verify: () => true },
        fields: { email: ['mail'], password: ['pw'] },
      },
    });
    const plain = await createApp();
    apps.push(withOtp, plain);
    const [aliased, unknownToPlain, aliasedOtp, plainOtp] = await Promise.all([
      withOtp.post('/forgot', { mail: ADA.email }),
      plain.post('/forgot', { mail: ADA.email }),
      withOtp.post('/reset', { token: 'x', pw: GOOD_PASSWORD, otp: '123456' }),
      plain.post('/reset', { token: 'x', password: GOOD_PASSWORD, otp: '123456' }),
    ]);
    expect(aliased.status).toBe(202);
    expect(unknownToPlain.status).toBe(400);
    expect(unknownToPlain.body.error.code).toBe('VALIDATION_FAILED');
    // The otp field exists only where secondFactor is set: a wrong token, not a validation error, there.
    expect(aliasedOtp.body.error.code).toBe('TOKEN_INVALID');
    expect(plainOtp.status).toBe(400);
    expect(plainOtp.body.error.details).toEqual([expect.objectContaining({ field: 'otp' })]);
    // And the alias stays the aliased router's after both were built.
    expect((await plain.post('/forgot', { email: ADA.email })).status).toBe(202);
    expect((await withOtp.post('/forgot', { email: ADA.email })).status).toBe(400);
  });

  test('code digits: a router with the code flow takes { email, code }, one without refuses it', async () => {
    const coded = await createApp({ options: { code: { enabled: true, digits: 8 } } });
    const plain = await createApp();
    apps.push(coded, plain);
    const [withCode, withoutCode] = await Promise.all([
      coded.post('/verify', { email: ADA.email, code: '12345678' }),
      plain.post('/verify', { email: ADA.email, code: '12345678' }),
    ]);
    expect(withCode.body.error?.code).not.toBe('VALIDATION_FAILED');
    expect(withoutCode.status).toBe(400);
    expect(withoutCode.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('declared-length fast path', () => {
  const forgot = (headers: string, body: string): string =>
    `POST /auth/password/forgot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;
  const body = JSON.stringify({ email: ADA.email });

  test('malformed JSON is 400 MALFORMED_JSON and the connection serves the next request', async () => {
    const app = await createApp();
    apps.push(app);
    const out = await rawExchange(
      app,
      forgot('Content-Length: 5\r\n', '{"ema') + forgot(`Content-Length: ${body.length}\r\n`, body),
    );
    expect(out).toMatch(/^HTTP\/1\.1 400 [^]*"MALFORMED_JSON"[^]*HTTP\/1\.1 202 /);
  });

  test.each([
    ['two Content-Length headers', `Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n`],
    ['a negative Content-Length', 'Content-Length: -1\r\n'],
    ['Content-Length with chunked', `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`],
  ])('%s never reaches the router', async (_name, headers) => {
    const app = await createApp();
    apps.push(app);
    const out = await rawExchange(app, forgot(headers, body));
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(app.events).toEqual([]);
  });

  test('a declared length over the limit is 413 before the body arrives', async () => {
    const app = await createApp();
    apps.push(app);
    const out = await rawExchange(app, forgot('Content-Length: 8193\r\n', '{"email":"'));
    expect(out).toMatch(/^HTTP\/1\.1 413 [^]*"PAYLOAD_TOO_LARGE"/);
  });
});

describe('a lazily loaded module that is missing', () => {
  /** Runs `passwordReset()` (from lib/, through tsx) in a child process where `missing` cannot be resolved. */
  function constructWithout(missing: string, options: string): { status: number | null; stderr: string } {
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === ${JSON.stringify(missing)}) {
          throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
        }
        return resolve.call(this, request, ...rest);
      };
      const { passwordReset, MemoryTokenStore, OutboxMailer } = require(${JSON.stringify(path.join(__dirname, '../lib'))});
      passwordReset({
        users: { findByEmail: async () => null, updatePassword: async () => undefined },
        mailer: new OutboxMailer(), store: new MemoryTokenStore(), resetUrl: 'https://app.example/reset',
        secret: 'x'.repeat(40), ...${options},
      });
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    return { status: run.status, stderr: run.stderr };
  }

  test.each([
    ['joi', '{}'],
    ['@zxcvbn-ts/language-common', '{}'],
    ['@zxcvbn-ts/core', '{ password: { minStrength: 3 } }'],
  ])('%s: passwordReset() throws at construction, not 500/503 on every request', (missing, options) => {
    const { status, stderr } = constructWithout(missing, options);
    expect(status).not.toBe(0);
    expect(stderr).toContain(`Cannot find module '${missing}'`);
  });

  test('nothing missing: the same construction succeeds', () => {
    expect(constructWithout('no-such-module-here', '{ password: { minStrength: 3 } }')).toEqual({
      status: 0,
      stderr: '',
    });
  });
});
