/**
 * The hosted pages (`pages` option) through real HTTP: headers, the form flow
 * end to end with the outbox, CSRF refusals, link-scanner safety, errors next
 * to their fields, no echo of secrets, locales, and the JSON API left as it was.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ADA, createApp, GOOD_PASSWORD, tokenOf, type CreateAppOptions, type TestApp } from './helpers/create-app';
import { fieldError, PageClient, type Page } from './helpers/page-client';
import { FORGOT_RESPONSE, passwordReset, type PasswordResetOptions } from '../lib';
import { LOCALES } from '../lib/locales';

const PAGE_STRINGS: Record<string, (typeof LOCALES)['en']['pages']> = Object.fromEntries(
  Object.entries(LOCALES).map(([code, texts]) => [code, texts.pages]),
);

// Express 4, installed as the npm alias `express4` (it has no type declarations of its own).
const express4 = require('express4') as typeof import('express');

const BASE = '/auth/password';

interface PagesApp extends TestApp {
  origin: string;
  client(): PageClient;
  /** The page link of the newest reset email to `email` (path and query). */
  linkFor(email: string): string;
}

const open: TestApp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function pagesApp(
  options: Partial<PasswordResetOptions> = {},
  setup: Omit<CreateAppOptions, 'options'> = {},
): Promise<PagesApp> {
  let origin = '';
  const app = await createApp({
    ...setup,
    options: { pages: true, resetUrl: (token) => `${origin}${BASE}/reset?token=${token}`, ...options },
  });
  open.push(app);
  origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return Object.assign(app, {
    origin,
    client: () => new PageClient(origin),
    linkFor: (email: string) => {
      const message = app.mailer.last(email);
      const url = new URL(message!.data.resetUrl!);
      expect(url.searchParams.get('token')).toBe(tokenOf(message));
      return `${url.pathname}${url.search}`;
    },
  });
}

/** Posts the forgot form and waits for the work behind it. */
async function forgotViaForm(app: PagesApp, client: PageClient, email: string): Promise<Page> {
  const from = app.events.length;
  const page = await client.submit(await client.get(`${BASE}/forgot`), { email });
  expect(page.status).toBe(200);
  await app.waitForEvent((event) => event.type === 'email.sent' || event.type === 'reset.unknown_email', from);
  return page;
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('pages off (the default)', () => {
  test('no GET pages, and a form post stays 415 as the README documents', async () => {
    const app = await createApp();
    open.push(app);
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const client = new PageClient(origin);
    // No page: a GET is another method on an API path, answered 405 with Allow (not the app's 404).
    const get = await client.get(`${BASE}/forgot`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST, OPTIONS');
    const post = await client.post(`${BASE}/forgot`, { email: ADA.email });
    expect(post.status).toBe(415);
    expect(JSON.parse(post.html)).toMatchObject({ success: false, error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });
});

describe('page headers and markup', () => {
  test('GET /forgot is an HTML form with no-store, no-referrer, a strict CSP and no framing', async () => {
    const app = await pagesApp();
    const page = await app.client().get(`${BASE}/forgot`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    expect(page.doc.querySelectorAll('script')).toHaveLength(0);
    expect(page.html).not.toMatch(/\son[a-z]+=/i);
    expect(page.html).not.toMatch(/\sstyle=/i);
    // The one inline stylesheet is allowed by its hash and by nothing else.
    const style = page.doc.querySelector('style')!.innerHTML;
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    // The CSRF cookie: HttpOnly, SameSite=Strict.
    const cookie = (page.headers['set-cookie'] as unknown as string[]).find((line) => line.startsWith('epr_csrf='));
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
  });

  test('every input has a label, the page has a language, a title and a heading', async () => {
    const app = await pagesApp({ code: { enabled: true } });
    const client = app.client();
    const link = `${BASE}/reset?token=${await app.requestToken()}`;
    for (const url of [`${BASE}/forgot`, `${BASE}/reset`, link]) {
      const page = await client.get(url);
      expect(page.doc.querySelector('html')!.getAttribute('lang')).toBe('en');
      expect(page.doc.querySelector('title')!.text.length).toBeGreaterThan(0);
      expect(page.doc.querySelectorAll('h1')).toHaveLength(1);
      // Hidden inputs (the CSRF field, the username for password managers) are not shown, so need no label.
      const inputs = page.doc
        .querySelectorAll('input')
        .filter((input) => input.getAttribute('type') !== 'hidden' && !input.hasAttribute('hidden'));
      expect(inputs.length).toBeGreaterThan(0);
      const en = PAGE_STRINGS.en!;
      const labels: Record<string, string[]> = {
        email: [en.forgot.email, en.reset.email],
        code: [en.reset.code],
        password: [en.reset.password],
        confirm: [en.reset.confirm],
      };
      const autocomplete: Record<string, string> = {
        email: 'email',
        code: 'one-time-code',
        password: 'new-password',
        confirm: 'new-password',
      };
      for (const input of inputs) {
        const name = input.getAttribute('name')!;
        const label = page.doc.querySelector(`label[for="${input.getAttribute('id')}"]`);
        expect(labels[name]).toContain(label?.text.trim());
        expect(input.getAttribute('autocomplete')).toBe(autocomplete[name]);
      }
      expect(page.doc.querySelector('button[type=submit]')).not.toBeNull();
    }
  });

  test('links and form actions are relative, so they work behind a proxy that rewrites the prefix, and after a trailing slash', async () => {
    const app = await pagesApp();
    const client = app.client();
    expect((await client.get(`${BASE}/forgot`)).doc.querySelector('form')!.getAttribute('action')).toBe('forgot');
    const slashed = await client.get(`${BASE}/forgot/`);
    expect(slashed.doc.querySelector('form')!.getAttribute('action')).toBe('../forgot');
    expect((await client.submit(slashed, { email: ADA.email })).status).toBe(200);
  });

  test('the site title defaults to emails.appName; pages.css is appended and still covered by the hash', async () => {
    const app = await pagesApp({ emails: { appName: 'Acme' }, pages: { css: 'body{background:#fee}' } });
    const page = await app.client().get(`${BASE}/forgot`);
    expect(page.doc.querySelector('title')!.text).toBe('Forgot your password? – Acme');
    const style = page.doc.querySelector('style')!.innerHTML;
    expect(style.endsWith('body{background:#fee}')).toBe(true);
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    expect(page.headers['content-security-policy']).toContain(`'sha256-${hash}'`);
  });
});

describe('pages options', () => {
  test('successRedirect must be a path on this site or an http(s) URL', () => {
    const build = (successRedirect: string) => () =>
      passwordReset({
        users: { findByEmail: async () => null, updatePassword: async () => undefined },
        resetUrl: 'https://app.example/reset',
        logger: false,
        pages: { successRedirect },
      }).close();
    for (const bad of ['javascript:alert(1)', '//evil.example/x', 'https://', 'login', '/\\evil.example']) {
      expect(build(bad)).toThrow(expect.objectContaining({ name: 'OptionsError', option: 'pages.successRedirect' }));
    }
    for (const good of ['/login', 'https://app.example/login?reset=1', 'http://localhost:3000/'])
      expect(build(good)).not.toThrow();
  });
});

describe('the form flow', () => {
  test('forgot → email link → reset → success, with one password change and a dead link afterwards', async () => {
    const app = await pagesApp();
    const client = app.client();
    const sent = await forgotViaForm(app, client, ADA.email);
    expect(sent.doc.querySelector('h1')!.text).toBe('Check your email');
    expect(sent.html).toContain(FORGOT_RESPONSE.message);

    const link = app.linkFor(ADA.email);
    const form = await client.get(link);
    expect(form.status).toBe(200);
    const done = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.status).toBe(200);
    expect(done.doc.querySelector('h1')!.text).toBe('Password changed');
    expect(app.users.updates).toHaveLength(1);
    expect(app.users.hashOf(ADA.id)).toMatch(/^\$2b\$04\$/);

    // The same link again: it was used, and says so before any password is typed.
    const again = await client.get(link);
    expect(again.status).toBe(400);
    expect(again.doc.querySelector('[role=alert]')!.text).toContain('invalid or has already been used');
    expect(again.doc.querySelector('form')).toBeNull();
    // The old form posted again: the token cookie was cleared with its use, so nothing is changed.
    const resent = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(resent.status).toBe(400);
    expect(resent.doc.querySelector('form')).toBeNull();
    expect(app.users.updates).toHaveLength(1);
  });

  test('the forgot answer is the same page for a known and an unknown address', async () => {
    const app = await pagesApp();
    const client = app.client();
    const known = await forgotViaForm(app, client, ADA.email);
    const unknown = await forgotViaForm(app, client, 'nobody@example.com');
    expect(unknown.status).toBe(known.status);
    expect(unknown.html).toBe(known.html);
    const headerNames = (page: Page) =>
      Object.keys(page.headers)
        .filter((name) => name !== 'date')
        .sort();
    expect(headerNames(unknown)).toEqual(headerNames(known));
    expect(app.mailer.messages.filter((message) => message.kind === 'reset')).toHaveLength(1);
  });

  test('a malformed address is shown next to the field and kept; nothing is sent', async () => {
    const app = await pagesApp();
    const client = app.client();
    const page = await client.submit(await client.get(`${BASE}/forgot`), { email: 'not-an-address' });
    expect(page.status).toBe(400);
    expect(fieldError(page, 'email')).toContain('Enter an email address in the right format');
    expect(page.doc.querySelector('input[name=email]')!.getAttribute('value')).toBe('not-an-address');
    expect(page.doc.querySelector('input[name=email]')!.getAttribute('aria-invalid')).toBe('true');
    expect(page.doc.querySelector('[role=alert] a[href="#email"]')).not.toBeNull();
    expect(page.doc.querySelector('title')!.text.startsWith('Error: ')).toBe(true);
    expect(app.mailer.messages).toHaveLength(0);
  });

  test('works on Express 4 and with an app-level express.urlencoded() in front', async () => {
    const app = await pagesApp(
      {},
      { express: express4, configure: (a) => a.use(express4.urlencoded({ extended: true })) },
    );
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const done = await client.submit(await client.get(app.linkFor(ADA.email)), {
      password: GOOD_PASSWORD,
      confirm: GOOD_PASSWORD,
    });
    expect(done.status).toBe(200);
    expect(app.users.updates).toHaveLength(1);
  });

  test('successRedirect ends the flow with a 303 there, and the CSP lets the form follow it', async () => {
    const app = await pagesApp({ pages: { successRedirect: 'https://app.example/login?reset=1' } });
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const form = await client.get(app.linkFor(ADA.email));
    expect(form.headers['content-security-policy']).toContain("form-action 'self' https://app.example;");
    const done = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('https://app.example/login?reset=1');
    expect(app.users.updates).toHaveLength(1);
  });
});

describe('link scanners and secrets', () => {
  test('opening a reset link any number of times only reads the store, and the link keeps working', async () => {
    const app = await pagesApp();
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const link = app.linkFor(ADA.email);
    const token = new URL(link, app.origin).searchParams.get('token')!;
    const calls: string[] = [];
    for (const method of ['find', 'findByUser', 'claim', 'save', 'revokeUser', 'takeAttempt'] as const) {
      const original = app.store[method].bind(app.store) as (...args: unknown[]) => Promise<unknown>;
      jest.spyOn(app.store, method).mockImplementation((...args: unknown[]) => {
        calls.push(method);
        return original(...args) as never;
      });
    }
    for (let i = 0; i < 3; i += 1) {
      const page = await new PageClient(app.origin).get(link);
      expect(page.status).toBe(200);
      // The token is in its cookie only: nowhere on the page.
      expect(occurrences(page.html, token)).toBe(0);
    }
    // One read-only lookup per opening (the check on load); nothing claimed, saved or revoked.
    expect(calls).toEqual(['find', 'find', 'find']);
    const verify = await app.post('/verify', { token });
    expect(verify.status).toBe(200);
  });

  test('a rejected password is shown next to its field; the password is never echoed and the link still works', async () => {
    const app = await pagesApp();
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const link = app.linkFor(ADA.email);
    const token = new URL(link, app.origin).searchParams.get('token')!;
    const weak = 'password1';
    const page = await client.submit(await client.get(link), { password: weak, confirm: weak });
    expect(page.status).toBe(422);
    expect(fieldError(page, 'password')).toContain('This password is too common');
    const input = page.doc.querySelector('input[name=password]')!;
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('value')).toBeUndefined();
    expect(input.getAttribute('aria-describedby')).toBe('password-hint password-error');
    expect(page.doc.querySelector('[role=alert] a[href="#password"]')).not.toBeNull();
    expect(page.html).not.toContain(weak);
    expect(occurrences(page.html, token)).toBe(0);
    expect(app.users.updates).toHaveLength(0);

    const short = await client.submit(page, { password: 'x7!', confirm: 'x7!' });
    expect(fieldError(short, 'password')).toBe('Error: Use at least 8 characters.');

    const mismatch = await client.submit(short, { password: GOOD_PASSWORD, confirm: `${GOOD_PASSWORD}!` });
    expect(mismatch.status).toBe(400);
    expect(fieldError(mismatch, 'confirm')).toContain('do not match');
    expect(mismatch.html).not.toContain(GOOD_PASSWORD);

    expect((await app.post('/verify', { token })).status).toBe(200);
    const done = await client.submit(mismatch, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.status).toBe(200);
    expect(done.html).not.toContain(token);
  });

  test('an expired link says so, with a way to ask for a new one', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const app = await pagesApp({ now: () => new Date(now), tokenTtl: '10m' });
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const form = await client.get(app.linkFor(ADA.email));
    now += 11 * 60_000;
    const page = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(page.status).toBe(400);
    expect(page.doc.querySelector('[role=alert]')!.text).toContain('has expired');
    expect(page.doc.querySelector('a[href="forgot"]')).not.toBeNull();
  });

  test('GET /reset without a token (and no code flow) explains what is missing', async () => {
    const app = await pagesApp();
    const page = await app.client().get(`${BASE}/reset`);
    expect(page.status).toBe(400);
    expect(page.doc.querySelector('form')).toBeNull();
    expect(page.doc.querySelector('h1')!.text).toBe('This link is incomplete');
  });
});

describe('cross-site posts are refused', () => {
  test('without the cookie, with a wrong field value, or cross-site by Fetch Metadata: 403, nothing happens', async () => {
    const app = await pagesApp();
    const token = await app.requestToken();
    const client = app.client();
    const form = await client.get(`${BASE}/reset?token=${token}`);
    const csrf = form.doc.querySelector('input[name=_csrf]')!.getAttribute('value')!;
    const fields = { token, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD };

    const noCookie = await new PageClient(app.origin).post(`${BASE}/reset`, { ...fields, _csrf: csrf });
    const wrongField = await client.post(`${BASE}/reset`, { ...fields, _csrf: 'A'.repeat(43) });
    const noField = await client.post(`${BASE}/reset`, fields);
    const crossSite = await client.post(
      `${BASE}/reset`,
      { ...fields, _csrf: csrf },
      { 'Sec-Fetch-Site': 'cross-site' },
    );
    const sameSite = await client.post(`${BASE}/reset`, { ...fields, _csrf: csrf }, { 'Sec-Fetch-Site': 'same-site' });
    for (const page of [noCookie, wrongField, noField, crossSite, sameSite]) {
      expect(page.status).toBe(403);
      expect(page.doc.querySelector('[role=alert]')!.text).toContain('sent from another site');
      // A refused post's token is not put back into a page.
      expect(page.html).not.toContain(token);
    }
    expect(app.users.updates).toHaveLength(0);
    expect((await app.post('/verify', { token })).status).toBe(200);

    const ok = await client.post(
      `${BASE}/reset`,
      { ...fields, _csrf: csrf },
      { 'Sec-Fetch-Site': 'same-origin', Origin: 'null' },
    );
    expect(ok.status).toBe(200);
    expect(app.users.updates).toHaveLength(1);
  });

  test('a cross-site forgot post sends no email and shows a fresh form', async () => {
    const app = await pagesApp();
    const attacker = new PageClient(app.origin);
    const page = await attacker.post(`${BASE}/forgot`, { email: ADA.email, _csrf: 'B'.repeat(43) });
    expect(page.status).toBe(403);
    expect(page.doc.querySelector('input[name=email]')!.getAttribute('value')).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(app.mailer.messages).toHaveLength(0);
    expect(app.events.filter((event) => event.type === 'reset.requested')).toHaveLength(0);
    // The refused page set a cookie and a field that do work for a real retry.
    const retry = await attacker.submit(page, { email: ADA.email });
    expect(retry.status).toBe(200);
  });

  test('over HTTPS (trust proxy) the cookie is __Host- prefixed and Secure', async () => {
    const app = await pagesApp({}, { configure: (a) => a.set('trust proxy', 'loopback') });
    const client = app.client();
    const page = await client.get(`${BASE}/forgot`, { 'X-Forwarded-Proto': 'https' });
    const cookie = (page.headers['set-cookie'] as unknown as string[])[0]!;
    expect(cookie).toMatch(/^__Host-epr_csrf=[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const sent = await client.submit(page, { email: ADA.email }, { 'X-Forwarded-Proto': 'https' });
    expect(sent.status).toBe(200);
  });
});

describe('JSON clients are not affected by pages', () => {
  test('JSON requests get the documented answers with no page headers; forms to /verify stay 415', async () => {
    const app = await pagesApp();
    const forgot = await app.post('/forgot', { email: ADA.email });
    expect(forgot.status).toBe(202);
    expect(forgot.body).toEqual(FORGOT_RESPONSE);
    expect(forgot.headers['content-security-policy']).toBeUndefined();
    expect(forgot.headers['set-cookie']).toBeUndefined();
    const bad = await app.post('/reset', { token: 'x', password: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TOKEN_INVALID');
    const verifyForm = await app.client().post(`${BASE}/verify`, { token: 'x' });
    expect(verifyForm.status).toBe(415);
    expect(JSON.parse(verifyForm.html).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('a rate-limited form post gets a page (with Retry-After); a JSON one gets JSON', async () => {
    const app = await pagesApp({
      rateLimit: { forgot: { windowMs: 60_000, limit: 1 }, verify: false, reset: false, perEmail: false },
    });
    const client = app.client();
    const form = await client.get(`${BASE}/forgot`);
    expect((await client.submit(form, { email: ADA.email })).status).toBe(200);
    const limited = await client.submit(form, { email: ADA.email });
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.doc.querySelector('[role=alert]')!.text).toContain('Too many attempts');
    const json = await app.post('/forgot', { email: ADA.email });
    expect(json.status).toBe(429);
    expect(json.body.error.code).toBe('RATE_LIMITED');
  });
});

describe('failures are pages too', () => {
  test('an oversized form is a 413 page; an unreachable user store a 503 page and an error event without secrets', async () => {
    const app = await pagesApp();
    const client = app.client();
    const form = await client.get(`${BASE}/forgot`);
    const huge = await client.submit(form, { email: 'a'.repeat(20_000) });
    expect(huge.status).toBe(413);
    expect(huge.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(huge.doc.querySelector('[role=alert]')!.text).toContain('too long');

    const token = await app.requestToken();
    const page = await client.get(`${BASE}/reset?token=${token}`);
    jest.spyOn(app.users, 'findByEmail').mockRejectedValueOnce(new Error(`users down for ${GOOD_PASSWORD}`));
    const down = await client.submit(page, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(down.status).toBe(503);
    expect(down.doc.querySelector('[role=alert]')!.text).toContain('temporarily unavailable');
    expect(down.html).not.toContain(token);
    const error = app.events.find((event) => event.type === 'error');
    expect(error).toMatchObject({ stage: 'users' });
    expect(JSON.stringify(app.events)).not.toContain(GOOD_PASSWORD);
    expect((await app.post('/verify', { token })).status).toBe(200);
  });
});

describe('code flow', () => {
  test('GET /reset without a token asks for address, code and password; a wrong code is shown next to it', async () => {
    const app = await pagesApp({ code: { enabled: true, digits: 6, maxAttempts: 5 } });
    const client = app.client();
    const sent = await forgotViaForm(app, client, ADA.email);
    expect(sent.doc.querySelector('a[href="reset"]')!.text).toBe('I have a code');
    const code = app.mailer.last(ADA.email)!.data.code!;
    const form = await client.get(`${BASE}/reset`);
    expect(form.doc.querySelectorAll('input:not([type=hidden])').map((input) => input.getAttribute('name'))).toEqual([
      'email',
      'code',
      'password',
      'confirm',
    ]);
    const wrong = code === '000000' ? '111111' : '000000';
    const refused = await client.submit(form, {
      email: ADA.email,
      code: wrong,
      password: GOOD_PASSWORD,
      confirm: GOOD_PASSWORD,
    });
    expect(refused.status).toBe(400);
    expect(fieldError(refused, 'code')).toContain('The code or the email address is not right');
    expect(refused.doc.querySelector('input[name=email]')!.getAttribute('value')).toBe(ADA.email);
    expect(refused.doc.querySelector('input[name=code]')!.getAttribute('value')).toBeUndefined();
    expect(refused.html).not.toContain(GOOD_PASSWORD);

    const done = await client.submit(refused, {
      email: ADA.email,
      code,
      password: GOOD_PASSWORD,
      confirm: GOOD_PASSWORD,
    });
    expect(done.status).toBe(200);
    expect(done.html).not.toContain(code);
    expect(app.users.updates).toHaveLength(1);
  });

  test('empty fields are named one by one, and no attempt is spent on them', async () => {
    const app = await pagesApp({ code: { enabled: true, maxAttempts: 1 } });
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const form = await client.get(`${BASE}/reset`);
    const empty = await client.submit(form, { email: '', code: '', password: '', confirm: '' });
    expect(empty.status).toBe(400);
    expect(fieldError(empty, 'email')).toContain('Enter your email address');
    expect(fieldError(empty, 'code')).toContain('Enter the code');
    expect(fieldError(empty, 'password')).toContain('Enter a new password');
    const code = app.mailer.last(ADA.email)!.data.code!;
    const done = await client.submit(empty, {
      email: ADA.email,
      code,
      password: GOOD_PASSWORD,
      confirm: GOOD_PASSWORD,
    });
    expect(done.status).toBe(200);
  });
});

describe('locales', () => {
  test('Accept-Language picks de or fr, else English; pages.locale fixes it', async () => {
    const app = await pagesApp();
    const client = app.client();
    const de = await client.get(`${BASE}/forgot`, { 'Accept-Language': 'de-CH,de;q=0.9,en;q=0.5' });
    expect(de.doc.querySelector('html')!.getAttribute('lang')).toBe('de');
    expect(de.doc.querySelector('h1')!.text).toBe(PAGE_STRINGS.de!.forgot.title);
    expect(de.headers.vary).toContain('Accept-Language');
    const fr = await client.get(`${BASE}/reset?token=${await app.requestToken()}`, { 'Accept-Language': 'fr-FR' });
    expect(fr.doc.querySelector('h1')!.text).toBe('Choisir un nouveau mot de passe');
    expect(fr.doc.querySelector('label[for=password]')!.text).toBe('Nouveau mot de passe');
    const es = await client.get(`${BASE}/forgot`, { 'Accept-Language': 'es' });
    expect(es.doc.querySelector('html')!.getAttribute('lang')).toBe('en');

    const fixed = await pagesApp({ pages: { locale: 'fr' } });
    const page = await fixed.client().get(`${BASE}/forgot`, { 'Accept-Language': 'de' });
    expect(page.doc.querySelector('html')!.getAttribute('lang')).toBe('fr');
    expect(page.headers.vary ?? '').not.toContain('Accept-Language');
  });

  test('errors are localized too, policy numbers included', async () => {
    const app = await pagesApp({ password: { minLength: 10 } });
    const client = app.client();
    await forgotViaForm(app, client, ADA.email);
    const form = await client.get(app.linkFor(ADA.email), { 'Accept-Language': 'de' });
    expect(form.doc.querySelector('#password-hint')!.text).toContain('Zwischen 10 und 64 Zeichen');
    const page = await client.submit(form, { password: 'kurz', confirm: 'kurz' }, { 'Accept-Language': 'de' });
    expect(page.status).toBe(422);
    expect(fieldError(page, 'password')).toBe('Fehler: Verwenden Sie mindestens 10 Zeichen.');
    expect(page.doc.querySelector('[role=alert] h2')!.text).toBe('Es gibt ein Problem');
  });

  test('every locale has every text, and English "sent" is the API message word for word', () => {
    expect(PAGE_STRINGS.en!.forgot.sent).toBe(FORGOT_RESPONSE.message);
    const shape = (value: unknown): unknown =>
      typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shape(inner)]))
        : typeof value;
    for (const locale of ['de', 'fr']) expect(shape(PAGE_STRINGS[locale])).toEqual(shape(PAGE_STRINGS.en));
  });
});
