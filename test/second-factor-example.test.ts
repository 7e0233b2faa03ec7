/**
 * examples/second-factor-totp.ts: real TOTP codes from otplib reset Ada's password, wrong and malformed ones are
 * refused as wrong (never 503), a code one step old is accepted and an older one is not, the link dies after the
 * example's `MAX_OTP_ATTEMPTS`, the hosted page asks for the code, and the file runs as a program.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { generate } from 'otplib';
import request from 'supertest';
import { MAX_OTP_ATTEMPTS, createSecondFactorDemo, type SecondFactorDemo } from '../examples/second-factor-totp';
import { tokenOf } from './helpers/create-app';
import { PageClient } from './helpers/page-client';

const PASSWORD = 'correct horse battery staple';
const root = path.resolve(__dirname, '..');

let demo: SecondFactorDemo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

async function linkFor(target: SecondFactorDemo, email: string): Promise<string> {
  await request(target.app).post('/auth/password/forgot').send({ email }).expect(202);
  await target.router.settled();
  return tokenOf(target.router.outbox!.last(email));
}

const totp = (target: SecondFactorDemo, secondsAgo = 0): Promise<string> =>
  generate({ secret: target.accounts[0]!.totpSecret!, epoch: Math.floor(Date.now() / 1000) - secondsAgo });

const reset = (target: SecondFactorDemo, body: object) => request(target.app).post('/auth/password/reset').send(body);

test('the current TOTP resets the password; wrong and malformed codes are 401 SECOND_FACTOR_INVALID', async () => {
  demo = createSecondFactorDemo();
  const token = await linkFor(demo, 'ada@example.com');
  expect((await request(demo.app).post('/auth/password/verify').send({ token })).body.secondFactor).toBe(true);
  expect((await reset(demo, { token, password: PASSWORD })).body.error.code).toBe('SECOND_FACTOR_REQUIRED');
  const right = await totp(demo);
  const wrong = right === '000000' ? '111111' : '000000';
  for (const otp of [wrong, 'abcdef']) {
    const refused = await reset(demo, { token, password: PASSWORD, otp });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'SECOND_FACTOR_INVALID']);
  }
  const done = await reset(demo, { token, password: PASSWORD, otp: right });
  expect(done.status).toBe(200);
  expect(demo.accounts[0]!.passwordHash).toMatch(/^\$2b\$/);
});

test('a code one 30 s step old is accepted (clock drift), one from five minutes ago is not', async () => {
  demo = createSecondFactorDemo();
  const token = await linkFor(demo, 'ada@example.com');
  const stale = await totp(demo, 300);
  const current = await totp(demo);
  if (stale !== current) expect((await reset(demo, { token, password: PASSWORD, otp: stale })).status).toBe(401);
  expect((await reset(demo, { token, password: PASSWORD, otp: await totp(demo, 30) })).status).toBe(200);
});

test(`after ${MAX_OTP_ATTEMPTS} wrong codes the link is dead; Grace, without a second factor, needs none`, async () => {
  demo = createSecondFactorDemo();
  const token = await linkFor(demo, 'ada@example.com');
  const right = await totp(demo);
  for (let i = 0; i < MAX_OTP_ATTEMPTS; i += 1) {
    const wrong = String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0');
    expect((await reset(demo, { token, password: PASSWORD, otp: wrong })).status).toBe(401);
  }
  const late = await reset(demo, { token, password: PASSWORD, otp: right });
  expect([late.status, late.body.error.code]).toEqual([400, 'TOKEN_INVALID']);
  expect(demo.accounts[0]!.passwordHash).toBe('');

  const grace = await linkFor(demo, 'grace@example.com');
  expect((await request(demo.app).post('/auth/password/verify').send({ token: grace })).body).not.toHaveProperty(
    'secondFactor',
  );
  expect((await reset(demo, { token: grace, password: PASSWORD })).status).toBe(200);
});

test("the hosted page asks Ada for the authenticator's code and accepts the current one", async () => {
  demo = createSecondFactorDemo();
  const server = createServer(demo.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = new PageClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const form = await client.get(`/auth/password/reset?token=${await linkFor(demo, 'ada@example.com')}`);
    expect(form.doc.querySelector('input[name=otp]')?.getAttribute('autocomplete')).toBe('one-time-code');
    const done = await client.submit(form, { otp: await totp(demo), password: PASSWORD, confirm: PASSWORD });
    expect(done.status).toBe(200);
    expect(done.doc.querySelector('h1')!.text).toBe('Password changed');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('run as a program it serves the pages and the enrollment URI', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'examples/second-factor-totp.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start line; output: ${output}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('second factor example:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    });
    expect(output).toContain(`http://localhost:${port}/auth/password/forgot`);
    expect(output).not.toContain('otpauth://');
    const origin = `http://127.0.0.1:${port}`;
    const enroll = await request(origin).get('/enroll');
    expect(enroll.text).toMatch(/^otpauth:\/\/totp\/Acme:ada%40example\.com\?secret=[A-Z2-7]+&issuer=Acme$/);
    expect((await request(origin).get('/auth/password/forgot')).status).toBe(200);
  } finally {
    child.kill('SIGTERM');
  }
});
