/**
 * The examples as a newcomer meets them (issue 13, points 6 and 7): a taken
 * port fails loudly instead of printing a URL and exiting 0; the demo's outbox
 * opens the reset page top-level, not in the preview frame the page refuses;
 * the demo's sessions end when the account's password is reset.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'node-html-parser';
import request from 'supertest';
import { createDemoApp, DEMO_USERS, type DemoApp } from '../examples/demo-app';
import { PageClient } from './helpers/page-client';

const root = path.resolve(__dirname, '..');

describe('a taken port fails with a clear message and exit code 1', () => {
  let blocker: Server;
  let port = 0;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    port = (blocker.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
  });

  const run = (example: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [require.resolve('tsx/cli'), example], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'development', PORT: String(port), ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  test('npm start (examples/demo.ts)', () => {
    const result = run('examples/demo.ts');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`express-password-reset demo: port ${port} is already in use.`);
    expect(result.stderr).toContain('PORT=');
    // No URL of a server that is not there, and no stack for an expected failure.
    expect(result.stdout).not.toContain('http://localhost');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('examples/sendgrid-demo.ts', () => {
    const result = run('examples/sendgrid-demo.ts', {
      SENDGRID_API_KEY: `SG.${'a'.repeat(22)}.${'b'.repeat(43)}`,
      SENDGRID_FROM: 'Acme <no-reply@acme.example>',
      DEMO_USER_EMAIL: 'me@example.com',
      SENDGRID_SANDBOX: '1',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`SendGrid demo: port ${port} is already in use.`);
    expect(result.stdout).not.toContain('SendGrid demo: http');
  });
});

describe('the demo: outbox and sessions', () => {
  let demo: DemoApp;
  let server: HttpServer;
  let origin = '';

  beforeAll(async () => {
    // The demo builds its links from its base URL, so it must know the port first: listen, then build.
    server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    demo = await createDemoApp(origin);
    server.on('request', demo.app);
  });

  afterAll(async () => {
    await demo.router.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const alice = DEMO_USERS[0]!;

  async function resetLink(): Promise<string> {
    const from = demo.outbox.messages.length;
    await request(origin).post('/auth/password/forgot').send({ email: alice.email }).expect(202);
    for (let i = 0; i < 200 && demo.outbox.messages.length === from; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 10));
    return demo.outbox.last(alice.email)!.data.resetUrl!;
  }

  test('the outbox opens the reset page top-level: a plain link, and the preview frame opens links in a new tab', async () => {
    const link = await resetLink();
    const outbox = parse((await request(origin).get('/outbox').expect(200)).text);
    const open = outbox.querySelector('article a.open')!;
    expect(open.getAttribute('href')).toBe(link);
    expect(open.getAttribute('target')).toBeUndefined();
    const frame = outbox.querySelector('article iframe')!;
    // Popups may leave the sandbox (a new top-level tab, where frame-ancestors does not apply); scripts still may not.
    expect(frame.getAttribute('sandbox')!.split(' ').sort()).toEqual([
      'allow-popups',
      'allow-popups-to-escape-sandbox',
    ]);
    const srcdoc = frame.getAttribute('srcdoc')!;
    expect(srcdoc).toMatch(/^<!doctype html><html lang="en"><base target="_blank"><body/);
    const email = parse(srcdoc);
    expect(email.querySelector(`a[href="${link}"]`)).not.toBeNull();
    // The page it opens cannot be framed: which is why the preview must not load it.
    const reset = await request(origin).get(new URL(link).pathname + new URL(link).search);
    expect(reset.status).toBe(303);
    expect(reset.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  test('signing in starts a session; resetting the password ends it on every device', async () => {
    const devices = [request.agent(origin), request.agent(origin)];
    for (const device of devices) {
      await device.post('/signin').type('form').send({ email: alice.email, password: alice.password }).expect(200);
      expect((await device.get('/')).text).toContain(`Signed in as <strong>${alice.email}</strong>`);
    }
    expect(Object.keys(await allSessions(demo))).toHaveLength(2);

    const client = new PageClient(origin);
    const link = new URL(await resetLink());
    const form = await client.get(link.pathname + link.search);
    const done = await client.submit(form, { password: 'new-demo-password-42', confirm: 'new-demo-password-42' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/signin?reset=1');

    for (const device of devices) expect((await device.get('/')).text).toContain('Not signed in.');
    expect(Object.keys(await allSessions(demo))).toHaveLength(0);
    // The new password signs in again.
    const again = request.agent(origin);
    await again.post('/signin').type('form').send({ email: alice.email, password: 'new-demo-password-42' }).expect(200);
    expect((await again.get('/')).text).toContain('Signed in as');
  });
});

function allSessions(demo: DemoApp): Promise<Record<string, unknown>> {
  return promisify(demo.sessions.all.bind(demo.sessions))().then((sessions) => sessions ?? {});
}
