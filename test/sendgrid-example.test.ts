/**
 * examples/sendgrid-demo.ts: without its settings it names what is missing and
 * exits non-zero; with them it sends the reset email through SendGrid (here the
 * local stand-in).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';
import { createSendGridDemo, readConfig } from '../examples/sendgrid-demo';
import { startFakeSendGrid } from './helpers/fake-sendgrid';
import { API_KEY } from './helpers/sendgrid-app';

const root = path.resolve(__dirname, '..');

test('run without SENDGRID_API_KEY, it says what is missing and exits with status 1', () => {
  const { SENDGRID_API_KEY: _k, SENDGRID_FROM: _f, DEMO_USER_EMAIL: _e, MONGODB_URI: _m, ...env } = process.env;
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'examples/sendgrid-demo.ts'], {
    cwd: root,
    env: { ...env, SENDGRID_FROM: 'Acme <no-reply@acme.example>' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('missing environment variables');
  expect(run.stderr).toContain('SENDGRID_API_KEY');
  expect(run.stderr).toContain('DEMO_USER_EMAIL');
  expect(run.stderr).not.toContain('SENDGRID_FROM:');
  expect(run.stdout).toBe('');
});

test('readConfig lists every missing variable and reads the optional ones', () => {
  expect(readConfig({})).toEqual({
    missing: [
      expect.stringMatching(/^SENDGRID_API_KEY: /),
      expect.stringMatching(/^SENDGRID_FROM: /),
      expect.stringMatching(/^DEMO_USER_EMAIL: /),
    ],
  });
  expect(
    readConfig({
      SENDGRID_API_KEY: API_KEY,
      SENDGRID_FROM: 'a@b.example',
      DEMO_USER_EMAIL: 'me@example.com',
      DEMO_USER_LOCALE: 'de',
      SENDGRID_SANDBOX: '1',
      PORT: '4000',
    }),
  ).toEqual({
    config: expect.objectContaining({
      apiKey: API_KEY,
      sandbox: true,
      port: 4000,
      baseUrl: 'http://localhost:4000',
      user: expect.objectContaining({ email: 'me@example.com', locale: 'de' }),
    }),
  });
});

test('with a key, /forgot sends the demo user a German reset email in sandbox mode', async () => {
  const fake = await startFakeSendGrid();
  const read = readConfig({
    SENDGRID_API_KEY: API_KEY,
    SENDGRID_FROM: 'Demo <demo@acme.example>',
    DEMO_USER_EMAIL: 'me@example.com',
    DEMO_USER_LOCALE: 'de',
    SENDGRID_SANDBOX: '1',
  });
  if (!('config' in read)) throw new Error('config expected');
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const demo = await createSendGridDemo({ ...read.config, sendgridBaseUrl: fake.url });
  try {
    await request(demo.app).post('/auth/password/forgot').send({ email: 'me@example.com' }).expect(202);
    await fake.received(1);
    const [sent] = fake.requests;
    expect(sent!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent!.body).toMatchObject({
      from: { email: 'demo@acme.example', name: 'Demo' },
      subject: 'Passwort für SendGrid demo zurücksetzen',
      personalizations: [{ to: [{ email: 'me@example.com' }] }],
      categories: ['password-reset-demo'],
      mail_settings: { sandbox_mode: { enable: true } },
    });
    expect(sent!.raw).toContain('http://localhost:3000/auth/password/reset?token=');
  } finally {
    await demo.close();
    await fake.close();
    log.mockRestore();
  }
});
