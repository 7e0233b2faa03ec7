/**
 * The 0.2 behaviour of the hosted pages (SPEC `pages`, issue 13): opening a
 * link checks it at once, read-only; a live one names its account; the token
 * leaves the address bar after the first load; `signInUrl` and `logoUrl`; the
 * focus ring's contrast and the focus after a mismatch.
 */
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ADA, createApp, GOOD_PASSWORD, GRACE, type TestApp } from './helpers/create-app';
import { PageClient, type Page } from './helpers/page-client';
import { passwordReset, type PasswordResetOptions } from '../lib';
import { PAGE_CSS } from '../lib/pages/page-render';

const BASE = '/auth/password';

interface PagesApp extends TestApp {
  origin: string;
  client(): PageClient;
}

const open: TestApp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function pagesApp(options: Partial<PasswordResetOptions> = {}, trustProxy = false): Promise<PagesApp> {
  const app = await createApp({
    options: { pages: true, ...options },
    configure: trustProxy ? (a) => a.set('trust proxy', 'loopback') : undefined,
  });
  open.push(app);
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return Object.assign(app, { origin, client: () => new PageClient(origin) });
}

const linkOf = (token: string): string => `${BASE}/reset?token=${token}`;
const alertOf = (page: Page): string | undefined => page.doc.querySelector('[role=alert]')?.text;
const setCookies = (headers: Record<string, unknown>): string[] =>
  (headers['set-cookie'] as string[] | undefined) ?? [];

describe('pages 0.2: opening a link checks it at once, read-only', () => {
  test('a used, a superseded and an expired link each say so on load, with "request a new link" and no form', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const app = await pagesApp({ now: () => new Date(now), tokenTtl: '10m' });

    const used = await app.requestToken(ADA.email);
    expect((await app.post('/reset', { token: used, password: GOOD_PASSWORD })).status).toBe(200);
    const superseded = await app.requestToken(GRACE.email);
    now += 1000; // "Newer" is by issue time.
    await app.requestToken(GRACE.email);
    // The newer link supersedes the older once marked delivered, just after the email event: wait for that.
    for (let i = 0; i < 100 && (await app.post('/verify', { token: superseded })).status === 200; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const expired = await app.requestToken(ADA.email);

    for (const [token, text] of [
      [used, 'invalid or has already been used'],
      [superseded, 'invalid or has already been used'],
      [expired, 'has expired'],
    ] as const) {
      if (token === expired) now += 11 * 60_000;
      const page = await app.client().get(linkOf(token));
      expect(page.status).toBe(400);
      expect(page.doc.querySelector('h1')!.text).toBe('This link cannot be used');
      expect(alertOf(page)).toContain(text);
      expect(page.doc.querySelector('form')).toBeNull();
      expect(page.doc.querySelector('input[type=password]')).toBeNull();
      expect(page.doc.querySelector('a[href="forgot"]')!.text).toBe('Request a new link');
      // The dead token's cookie is cleared at once.
      expect(setCookies(page.headers).some((line) => /^epr_link=;.*Expires=Thu, 01 Jan 1970/.test(line))).toBe(true);
    }
    expect(app.users.updates).toHaveLength(1);
  });

  test('a link scanner opening a live link changes nothing: the same link still resets the password', async () => {
    const app = await pagesApp();
    const token = await app.requestToken();
    for (let i = 0; i < 3; i += 1) {
      // With and without following the redirect, and with and without keeping cookies.
      await request(app.origin).get(linkOf(token)).expect(303);
      expect((await app.client().get(linkOf(token))).status).toBe(200);
    }
    const client = app.client();
    const form = await client.get(linkOf(token));
    const done = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.doc.querySelector('h1')!.text).toBe('Password changed');
    expect(app.users.updates.map((update) => update.id)).toEqual([ADA.id]);
  });
});

describe('pages 0.2: a live link names the account it resets', () => {
  test('the page shows the address, and a hidden username field carries it for password managers', async () => {
    const app = await pagesApp();
    const page = await app.client().get(linkOf(await app.requestToken(GRACE.email)));
    expect(page.status).toBe(200);
    expect(page.doc.querySelector('.account')!.text).toBe(`Account: ${GRACE.email}`);
    const username = page.doc.querySelector('form input[autocomplete=username]')!;
    expect(username.getAttribute('value')).toBe(GRACE.email);
    expect(username.hasAttribute('hidden')).toBe(true);
    // Before the password fields, where password managers look for it.
    expect(page.doc.querySelector('form')!.innerHTML.indexOf('autocomplete="username"')).toBeLessThan(
      page.doc.querySelector('form')!.innerHTML.indexOf('type="password"'),
    );
    // The posted username is ignored: the account is the token's, whatever the form says.
    const client = app.client();
    const form = await client.get(linkOf(await app.requestToken(ADA.email)));
    await client.submit(form, { username: GRACE.email, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(app.users.updates.map((update) => update.id)).toEqual([ADA.id]);
  });
});

describe('pages 0.2: the token leaves the address bar after the first load', () => {
  test('303 to the clean URL; the token in an HttpOnly, path-scoped, short-lived cookie; cleared after use', async () => {
    const app = await pagesApp({ tokenTtl: '30m' });
    const token = await app.requestToken();
    const first = await request(app.origin).get(linkOf(token));
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('reset');
    expect(first.text).not.toContain(token);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const cookie = setCookies(first.headers).find((line) => line.startsWith('epr_link='))!;
    expect(cookie).toBe(
      `epr_link=${token}; Max-Age=1800; Path=${BASE}/reset; Expires=${new Date(Date.parse(first.headers.date as string) + 1_800_000).toUTCString()}; HttpOnly; SameSite=Lax`,
    );

    const client = app.client();
    const form = await client.get(linkOf(token));
    expect(form.url).toBe(`${BASE}/reset`);
    expect(form.redirectedFrom).toEqual([linkOf(token)]);
    expect(form.html).not.toContain(token);
    expect(form.headers['cache-control']).toBe('no-store');
    expect(form.headers['referrer-policy']).toBe('no-referrer');
    // No token field: the post reads the cookie.
    expect(form.doc.querySelector('input[name=token]')).toBeNull();
    const done = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.status).toBe(200);
    expect(
      setCookies(done.headers).some((line) => /^epr_link=; Path=\/auth\/password\/reset; Expires=Thu, 01/.test(line)),
    ).toBe(true);
    expect(client.cookies.get('epr_link')).toBe('');
  });

  test('over HTTPS the cookie is __Secure- prefixed and Secure; a later hour-long lifetime is capped', async () => {
    const app = await pagesApp({ tokenTtl: '7d' }, true);
    const token = await app.requestToken();
    const first = await request(app.origin).get(linkOf(token)).set('X-Forwarded-Proto', 'https');
    const cookie = setCookies(first.headers).find((line) => line.includes('epr_link='))!;
    expect(cookie).toMatch(new RegExp(`^__Secure-epr_link=${token}; Max-Age=3600; Path=/auth/password/reset; `));
    expect(cookie).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
  });

  test('checking links on load counts against the per-IP /verify limit', async () => {
    const app = await pagesApp({
      rateLimit: { forgot: false, verify: { windowMs: 60_000, limit: 2 }, reset: false, perEmail: false },
    });
    const client = app.client();
    const token = await app.requestToken();
    expect((await client.get(linkOf(token))).status).toBe(200);
    expect((await client.get(`${BASE}/reset`)).status).toBe(200);
    const limited = await client.get(`${BASE}/reset`);
    expect(limited.status).toBe(429);
    expect(alertOf(limited)).toContain('Too many attempts');
    // The redirect that only moves the token into the cookie looks nothing up, so it is not counted.
    expect((await request(app.origin).get(linkOf(token))).status).toBe(303);
  });

  test('a token that cannot be one is refused on load without becoming a cookie', async () => {
    const app = await pagesApp();
    const page = await request(app.origin).get(`${BASE}/reset?token=${encodeURIComponent('a;b=c')}`);
    expect(page.status).toBe(400);
    expect(setCookies(page.headers).some((line) => line.includes('epr_link'))).toBe(false);
  });
});

describe('pages 0.2: signInUrl and logoUrl', () => {
  test('signInUrl is linked from every page and is where the success page leads; logoUrl shows above the form', async () => {
    const app = await pagesApp({
      pages: { title: 'Acme', signInUrl: '/login', logoUrl: 'https://cdn.acme.example/logo.svg' },
    });
    const client = app.client();
    const forgot = await client.get(`${BASE}/forgot`);
    const form = await client.get(linkOf(await app.requestToken()));
    const dead = await client.get(linkOf('no-such-token'));
    for (const page of [forgot, form, dead]) {
      expect(page.doc.querySelector('a[href="/login"]')!.text).toBe('Back to sign in');
      const logo = page.doc.querySelector('main > img.logo')!;
      expect(logo.getAttribute('src')).toBe('https://cdn.acme.example/logo.svg');
      expect(logo.getAttribute('alt')).toBe('Acme');
      expect(page.headers['content-security-policy']).toContain('img-src https://cdn.acme.example;');
    }
    const done = await client.submit(await client.get(linkOf(await app.requestToken())), {
      password: GOOD_PASSWORD,
      confirm: GOOD_PASSWORD,
    });
    expect(done.doc.querySelector('h1')!.text).toBe('Password changed');
    expect(done.doc.querySelectorAll('.links a').map((a) => a.getAttribute('href'))).toEqual(['/login']);
  });

  test('a path as logoUrl allows images from the site itself; without logoUrl there is no img-src at all', async () => {
    const withPath = await pagesApp({ pages: { logoUrl: '/static/logo.png' } });
    const page = await withPath.client().get(`${BASE}/forgot`);
    expect(page.headers['content-security-policy']).toContain("img-src 'self';");
    expect(page.doc.querySelector('img.logo')!.getAttribute('alt')).toBe('');
    const plain = await pagesApp();
    const bare = await plain.client().get(`${BASE}/forgot`);
    expect(bare.headers['content-security-policy']).not.toContain('img-src');
    expect(bare.doc.querySelector('img')).toBeNull();
  });

  test('bad values fail at construction, naming the option and what is allowed', () => {
    const build = (pages: object) => () =>
      passwordReset({
        users: { findByEmail: async () => null, updatePassword: async () => {} },
        resetUrl: 'https://a.example/r',
        pages,
      });
    for (const option of ['signInUrl', 'logoUrl'] as const) {
      for (const bad of ['javascript:alert(1)', '//evil.example/x', 'logo.png', 'data:image/png;base64,AAAA'])
        expect(build({ [option]: bad })).toThrow(
          `option "pages.${option}" must be a path starting with "/" or an absolute http(s) URL, got "${bad}"`,
        );
      expect(build({ [option]: 42 })).toThrow(`pages.${option}`);
      for (const good of ['/login', 'https://app.example/login?x=1']) expect(build({ [option]: good })).not.toThrow();
    }
  });
});

describe('pages 0.2: accessibility', () => {
  /** WCAG 2.2 relative luminance and contrast ratio of two `#rrggbb` colours. */
  const luminance = (color: string): number => {
    const hex = color.length === 4 ? `#${[...color.slice(1)].map((c) => c + c).join('')}` : color;
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const contrast = (a: string, b: string): number => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi! + 0.05) / (lo! + 0.05);
  };
  const variables = (block: string): Record<string, string> =>
    Object.fromEntries([...block.matchAll(/--([\w-]+):(#[0-9a-f]{6}|#[0-9a-f]{3})\b/gi)].map((m) => [m[1]!, m[2]!]));

  test('the focus ring has at least 3:1 contrast against the card, in the light and the dark scheme', () => {
    const light = variables(PAGE_CSS.match(/:root\{[^}]*\}/)![0]);
    const dark = { ...light, ...variables(PAGE_CSS.match(/prefers-color-scheme:dark\)\{:root\{[^}]*\}/)![0]) };
    // Rings are drawn outside the control (outline-offset), so the card is what they sit on.
    expect(PAGE_CSS).toContain('outline:3px solid var(--focus);outline-offset:2px');
    for (const scheme of [light, dark]) {
      expect(contrast(scheme.focus!, scheme.card!)).toBeGreaterThanOrEqual(3);
    }
    expect(contrast(light.focus!, light.card!).toFixed(2)).toBe('5.02');
    expect(contrast(dark.focus!, dark.card!).toFixed(2)).toBe('6.83');
  });

  test('after a mismatch, both password fields are empty and the focus is on the first one', async () => {
    const app = await pagesApp();
    const client = app.client();
    const form = await client.get(linkOf(await app.requestToken()));
    const page = await client.submit(form, { password: GOOD_PASSWORD, confirm: `${GOOD_PASSWORD}!` });
    expect(page.status).toBe(400);
    expect(page.doc.querySelector('#confirm-error')!.text).toContain('do not match');
    expect(page.doc.querySelector('#password')!.hasAttribute('autofocus')).toBe(true);
    expect(page.doc.querySelector('#confirm')!.hasAttribute('autofocus')).toBe(false);
    for (const id of ['#password', '#confirm'])
      expect(page.doc.querySelector(id)!.getAttribute('value')).toBeUndefined();
    // The page still names the account after the refusal.
    expect(page.doc.querySelector('.account')!.text).toBe(`Account: ${ADA.email}`);
  });
});
