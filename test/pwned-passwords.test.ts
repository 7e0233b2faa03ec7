/**
 * `pwnedPasswords()` against a local server that speaks the Have I Been Pwned range format (padded, CRLF): breached
 * passwords are refused through the router, only the 5-hex-digit prefix leaves the process, and a failed lookup has
 * the outcome `onError` documents.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OptionsError, pwnedPasswords, type PwnedPasswordsOptions } from '../lib';
import { GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';

const BREACHED = 'purple monkey dishwasher';

function sha1(password: string): string {
  return createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
}

type Mode = 'ok' | 'lowercase' | 'hang' | 'stall' | 'status-503' | 'html';

/** A range API: `BREACHED` has 42 breaches; GOOD_PASSWORD's suffix is among the zero-count padding entries. */
class RangeServer {
  mode: Mode = 'ok';
  readonly requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  private server: Server | undefined;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', headers: req.headers });
      if (this.mode === 'hang') return; // never answers; closeAllConnections() ends it
      if (this.mode === 'stall') {
        res.writeHead(200, { 'content-type': 'text/plain' }).write(`${'0'.repeat(35)}:0\r\n`);
        return;
      }
      if (this.mode === 'status-503') {
        res.writeHead(503).end('Service Unavailable');
        return;
      }
      if (this.mode === 'html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in to the Wi-Fi</body></html>');
        return;
      }
      const prefix = (req.url ?? '').slice('/range/'.length);
      const lines: string[] = [];
      for (const [password, count] of [
        [BREACHED, 42],
        [GOOD_PASSWORD, 0],
      ] as const) {
        const hash = sha1(password);
        if (hash.startsWith(prefix)) lines.push(`${hash.slice(5)}:${count}`);
      }
      // Padding: made-up suffixes with count 0, as the real API adds with Add-Padding.
      for (let i = 0; i < 5; i += 1) lines.push(`${createHash('sha1').update(`pad${i}`).digest('hex').slice(5)}:0`);
      const body = lines.map((line) => (this.mode === 'lowercase' ? line.toLowerCase() : line.toUpperCase()));
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body.join('\r\n'));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

let range: RangeServer;
let t: TestApp | undefined;
beforeEach(async () => {
  range = new RangeServer();
  await range.start();
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  await range.stop();
});

async function appWith(options: PwnedPasswordsOptions = {}): Promise<TestApp> {
  t = await createApp({
    options: { password: { isBreached: pwnedPasswords({ baseUrl: range.baseUrl, ...options }) } },
  });
  return t;
}

function rulesOf(body: { error?: { details?: { rule?: string }[] } }): (string | undefined)[] {
  return (body.error?.details ?? []).map((detail) => detail.rule);
}

describe('guarantee 5: pwnedPasswords() refuses breached passwords through the router', () => {
  test('a breached password is 422 PASSWORD_REJECTED with rule breached, and the link stays usable', async () => {
    const app = await appWith();
    const token = await app.requestToken();
    const response = await app.post('/reset', { token, password: BREACHED });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('PASSWORD_REJECTED');
    expect(rulesOf(response.body)).toEqual(['breached']);
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('a clean password whose suffix is only a zero-count padding entry is accepted', async () => {
    const app = await appWith();
    const response = await app.post('/reset', { token: await app.requestToken(), password: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    expect(range.requests).toHaveLength(1);
  });

  test('suffixes match whatever their case', async () => {
    range.mode = 'lowercase';
    const isBreached = pwnedPasswords({ baseUrl: range.baseUrl });
    await expect(isBreached(BREACHED)).resolves.toBe(true);
    await expect(isBreached(GOOD_PASSWORD)).resolves.toBe(false);
  });

  test('minCount: a password seen fewer times than minCount is accepted', async () => {
    await expect(pwnedPasswords({ baseUrl: range.baseUrl, minCount: 42 })(BREACHED)).resolves.toBe(true);
    await expect(pwnedPasswords({ baseUrl: range.baseUrl, minCount: 43 })(BREACHED)).resolves.toBe(false);
  });
});

describe('guarantee 7: only the 5-character SHA-1 prefix leaves the process', () => {
  test('the request path is /range/ and 5 uppercase hex digits; neither password nor full hash is sent', async () => {
    const app = await appWith({ userAgent: 'acme-accounts/1.0' });
    await app.post('/reset', { token: await app.requestToken(), password: BREACHED });
    expect(range.requests).toHaveLength(1);
    const [request] = range.requests;
    expect(request!.url).toBe(`/range/${sha1(BREACHED).slice(0, 5)}`);
    expect(request!.url).toMatch(/^\/range\/[0-9A-F]{5}$/);
    const sent = JSON.stringify(request).toUpperCase();
    expect(sent).not.toContain(sha1(BREACHED).slice(5));
    expect(sent).not.toContain(BREACHED.toUpperCase());
  });

  test('the request asks for padding and names its client', async () => {
    await pwnedPasswords({ baseUrl: range.baseUrl, userAgent: 'acme-accounts/1.0' })(GOOD_PASSWORD);
    expect(range.requests[0]!.headers['add-padding']).toBe('true');
    expect(range.requests[0]!.headers['user-agent']).toBe('acme-accounts/1.0');
  });
});

describe("guarantee 5: a failed lookup fails closed by default (onError: 'reject')", () => {
  test.each([
    ['slower than timeoutMs', 'hang', 'ERR_EPR_PWNED_TIMEOUT'],
    ['headers in time, then a stalled body', 'stall', 'ERR_EPR_PWNED_TIMEOUT'],
    ['a 5xx answer', 'status-503', 'ERR_EPR_PWNED_STATUS'],
    ['a 200 that is not the range format', 'html', 'ERR_EPR_PWNED_BAD_RESPONSE'],
  ] as const)('%s: 503 SERVICE_UNAVAILABLE, an error event, and the link stays usable', async (_, mode, code) => {
    range.mode = mode;
    const app = await appWith({ timeoutMs: 300 });
    const token = await app.requestToken();
    const response = await app.post('/reset', { token, password: GOOD_PASSWORD });
    expect(response.status).toBe(503);
    expect(response.body).toEqual({
      success: false,
      error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) },
    });
    const event = await app.waitForEvent((e) => e.type === 'error');
    expect(JSON.stringify(event)).toContain(code);
    range.mode = 'ok';
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('an unreachable service rejects with ERR_EPR_PWNED_UNREACHABLE', async () => {
    const baseUrl = range.baseUrl;
    await range.stop();
    await expect(pwnedPasswords({ baseUrl })(GOOD_PASSWORD)).rejects.toMatchObject({
      name: 'PwnedPasswordsError',
      code: 'ERR_EPR_PWNED_UNREACHABLE',
    });
    await range.start();
  });
});

describe("guarantee 5: onError: 'allow' accepts the password when the lookup fails, with an error event", () => {
  test.each([
    ['slower than timeoutMs', 'hang', { code: 'ERR_EPR_PWNED_TIMEOUT' }],
    ['a 5xx answer', 'status-503', { code: 'ERR_EPR_PWNED_STATUS', status: 503 }],
  ] as const)('%s: the reset succeeds and an error event names the cause', async (_, mode, error) => {
    range.mode = mode;
    const app = await appWith({ timeoutMs: 300, onError: 'allow' });
    const response = await app.post('/reset', { token: await app.requestToken(), password: GOOD_PASSWORD });
    expect(response.status).toBe(200);
    const event = await app.waitForEvent((e) => e.type === 'error');
    expect(event).toMatchObject({ type: 'error', stage: 'password.isBreached', error });
    const text = JSON.stringify(app.events) + JSON.stringify(app.logs);
    expect(text).not.toContain(GOOD_PASSWORD);
    expect(text.toUpperCase()).not.toContain(sha1(GOOD_PASSWORD).slice(0, 5));
  });

  test('a working service still refuses a breached password', async () => {
    const app = await appWith({ onError: 'allow' });
    const response = await app.post('/reset', { token: await app.requestToken(), password: BREACHED });
    expect(rulesOf(response.body)).toEqual(['breached']);
  });
});

describe('guarantee 5: pwnedPasswords options are checked at construction', () => {
  test.each([
    [{ timeoutMs: 0 }, 'pwnedPasswords.timeoutMs'],
    [{ minCount: 1.5 }, 'pwnedPasswords.minCount'],
    [{ baseUrl: 'ftp://example.com' }, 'pwnedPasswords.baseUrl'],
    [{ baseUrl: '' }, 'pwnedPasswords.baseUrl'],
    [{ baseUrl: 'http://user:pass@127.0.0.1:1' }, 'pwnedPasswords.baseUrl'],
    [{ baseUrl: 'http://127.0.0.1:1/api?key=1' }, 'pwnedPasswords.baseUrl'],
    [{ userAgent: '' }, 'pwnedPasswords.userAgent'],
    [{ onError: 'ignore' }, 'pwnedPasswords.onError'],
    [{ timeout: 100 }, 'pwnedPasswords.timeout'],
  ])('%j names %s', (options, option) => {
    expect(() => pwnedPasswords(options as PwnedPasswordsOptions)).toThrow(OptionsError);
    expect(() => pwnedPasswords(options as PwnedPasswordsOptions)).toThrow(option);
  });
});
