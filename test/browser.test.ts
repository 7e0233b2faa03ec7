/**
 * The hosted pages in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): forgot → the link from the outbox → a rejected password →
 * a new password typed with the keyboard only → success, once with JavaScript
 * on (English) and once with it off (German), with screenshots of every page
 * at phone and desktop widths under test/.artifacts/ (git-ignored). Then the
 * 0.2 pages from a link clicked on another site (checked on load, account
 * named, clean URL, logo, sign-in link, focus after a mismatch), and the demo
 * outbox's email button opening the reset page top-level.
 *
 * Chromium is looked up on PATH (`chromium`, `chromium-browser`) or taken from
 * CHROMIUM_PATH. Without one the suite is skipped with a loud warning, except
 * under CI=true, where a missing Chromium fails it.
 */
import { inCi } from './support/ci';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADA, createApp, GOOD_PASSWORD, type TestApp } from './helpers/create-app';
import { LOCALES } from '../lib/locales';
import { createDemoApp, DEMO_USERS } from '../examples/demo-app';

const PAGE_STRINGS: Record<string, (typeof LOCALES)['en']['pages']> = Object.fromEntries(
  Object.entries(LOCALES).map(([code, texts]) => [code, texts.pages]),
);

const BASE = '/auth/password';
const ARTIFACTS = path.join(__dirname, '.artifacts');
const WIDTHS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } } as const;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function findChromium(): string | undefined {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => path.join(dir, name)));
  return candidates.find((candidate) => existsSync(candidate));
}

const executablePath = findChromium();
const inCI = inCi();
if (!executablePath && !inCI) {
  console.warn(
    '\n*** browser.test.ts SKIPPED: no Chromium found (install the Debian package: apt-get install -y chromium, or set CHROMIUM_PATH) ***\n',
  );
}
const describeBrowser = executablePath || inCI ? describe : describe.skip;

describeBrowser('hosted pages in headless Chromium', () => {
  let app: TestApp;
  let origin = '';

  beforeAll(async () => {
    if (!executablePath)
      throw new Error('CI=true but no Chromium on PATH: .ci/run must install the Debian package "chromium"');
    await mkdir(ARTIFACTS, { recursive: true });
    app = await createApp({
      options: { pages: { title: 'Acme' }, resetUrl: (token) => `${origin}${BASE}/reset?token=${token}` },
    });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  /** One fresh browser profile per run, as the first visit of a new user. */
  async function withBrowser<T>(
    javaScriptEnabled: boolean,
    locale: string,
    run: (context: BrowserContext) => Promise<T>,
  ): Promise<T> {
    const profile = await mkdtemp(path.join(tmpdir(), 'epr-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ARGS,
      javaScriptEnabled,
      locale,
      viewport: WIDTHS.desktop,
    });
    try {
      return await run(context);
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    }
  }

  async function screenshots(page: Page, name: string): Promise<void> {
    for (const [width, size] of Object.entries(WIDTHS)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize(WIDTHS.desktop);
  }

  const heading = (page: Page): Promise<string | null> => page.locator('h1').textContent();

  test.each([
    { js: true, locale: 'en' },
    { js: false, locale: 'de' },
  ])('forgot → email link → reset → success (JavaScript $js, $locale)', async ({ js, locale }) => {
    const t = PAGE_STRINGS[locale]!;
    const mode = `js-${js ? 'on' : 'off'}-${locale}`;
    await withBrowser(js, locale, async (context) => {
      const page = await context.newPage();
      const updatesBefore = app.users.updates.length;
      const problems: string[] = [];
      // CSP violations and failed loads show up as console errors.
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));

      await page.goto(`${origin}${BASE}/forgot`);
      expect(await heading(page)).toBe(t.forgot.title);
      expect(await page.locator('html').getAttribute('lang')).toBe(locale);
      await screenshots(page, `${mode}-1-forgot`);

      const from = app.events.length;
      await page.getByLabel(t.forgot.email).fill(ADA.email);
      await page.getByRole('button', { name: t.forgot.submit }).click();
      await page.waitForURL(`${origin}${BASE}/forgot`);
      expect(await heading(page)).toBe(t.forgot.sentTitle);
      expect(await page.getByText(t.forgot.sent).count()).toBe(1);
      await screenshots(page, `${mode}-2-sent`);

      await app.waitForEvent((event) => event.type === 'email.sent' && event.kind === 'reset', from);
      const link = app.mailer.last(ADA.email)!.data.resetUrl!;
      await page.goto(link);
      expect(await heading(page)).toBe(t.reset.title);
      await screenshots(page, `${mode}-3-reset`);

      // A common password: refused, the message next to the field, focus on it, the link still usable.
      await page.getByLabel(t.reset.password, { exact: true }).fill('password1');
      await page.getByLabel(t.reset.confirm).fill('password1');
      await page.getByRole('button', { name: t.reset.submit }).click();
      await page.waitForURL(`${origin}${BASE}/reset`);
      const error = page.locator('#password-error');
      expect(await error.textContent()).toContain(t.errors.rules.common);
      expect(await page.getByRole('alert').count()).toBe(1);
      expect(await page.locator('#password:focus').count()).toBe(1);
      expect(await page.locator('#password').inputValue()).toBe('');
      await screenshots(page, `${mode}-4-rejected`);

      // Keyboard only from here: the focused field, Tab to the next, Enter submits.
      await page.keyboard.type(GOOD_PASSWORD);
      await page.keyboard.press('Tab');
      expect(await page.locator('#confirm:focus').count()).toBe(1);
      await page.keyboard.type(GOOD_PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForURL(`${origin}${BASE}/reset`);
      await page.getByRole('heading', { name: t.done.title }).waitFor();
      await screenshots(page, `${mode}-5-done`);

      expect(app.users.updates.slice(updatesBefore).map((update) => update.id)).toEqual([ADA.id]);
      // The one expected: the page that refused the common password is a 422. No CSP violation, nothing else.
      expect(problems).toEqual([
        'Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)',
      ]);
    });
  });

  test('an invitation link: worded for a first password, and it sets one (fr, JavaScript on)', async () => {
    const t = PAGE_STRINGS.fr!;
    await withBrowser(true, 'fr', async (context) => {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      const updatesBefore = app.users.updates.length;

      await app.router.sendResetLink(ADA.email, { kind: 'invite' });
      const message = app.mailer.last(ADA.email)!;
      expect(message.kind).toBe('invite');
      await page.goto(message.data.resetUrl!);
      await page.waitForURL(`${origin}${BASE}/reset`);
      expect(await heading(page)).toBe(t.invite.title);
      expect(await page.getByText(t.invite.intro).count()).toBe(1);
      expect(await page.getByRole('button', { name: t.reset.submit }).count()).toBe(0);
      await screenshots(page, 'invite-fr-1-form');

      await page.getByLabel(t.reset.password, { exact: true }).fill(GOOD_PASSWORD);
      await page.getByLabel(t.reset.confirm).fill(GOOD_PASSWORD);
      await page.getByRole('button', { name: t.invite.submit }).click();
      await page.getByRole('heading', { name: t.invite.doneTitle }).waitFor();
      expect(await page.getByText(t.invite.done).count()).toBe(1);
      await screenshots(page, 'invite-fr-2-done');

      expect(app.users.updates.slice(updatesBefore).map((update) => update.id)).toEqual([ADA.id]);
      expect(problems).toEqual([]);
    });
  });
});

/**
 * The 0.2 page behaviour (SPEC `pages`), walked as a user meets it: the link is
 * clicked in a webmail on another site (`localhost` is another site than
 * `127.0.0.1`), so the browser treats the navigation as cross-site, as it does
 * for a real email.
 */
describeBrowser('hosted pages 0.2 in headless Chromium: a link from another site', () => {
  let app: TestApp;
  let origin = '';
  let mailOrigin = '';
  let mailLink = '';
  const LOGO =
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40">' +
    '<rect width="160" height="40" rx="8" fill="#0f766e"/>' +
    '<text x="80" y="27" font-family="sans-serif" font-size="20" font-weight="700" fill="#fff" ' +
    'text-anchor="middle">ACME</text></svg>';
  const STYLE = ':root{--accent:#0f766e;--bg:#ecfdf5;--focus:#b45309}';

  beforeAll(async () => {
    if (!executablePath)
      throw new Error('CI=true but no Chromium on PATH: .ci/run must install the Debian package "chromium"');
    await mkdir(ARTIFACTS, { recursive: true });
    app = await createApp({
      options: {
        pages: { title: 'Acme', css: STYLE, signInUrl: '/signin', logoUrl: '/logo.svg' },
        resetUrl: (token) => `${origin}${BASE}/reset?token=${token}`,
      },
      configure: (a) => {
        a.get('/logo.svg', (_req, res) => {
          res.type('image/svg+xml').send(LOGO);
        });
        // The "webmail": a page on another site with the emailed link in it.
        a.get('/mail', (_req, res) => {
          res.type('html').send(`<!doctype html><title>Mail</title><a id="link" href="${mailLink}">Reset password</a>`);
        });
      },
    });
    const port = (app.server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
    mailOrigin = `http://localhost:${port}`;
  });

  afterAll(async () => {
    await app?.close();
  });

  async function shoot(page: Page, name: string): Promise<void> {
    for (const [width, size] of Object.entries(WIDTHS)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize(WIDTHS.desktop);
  }

  test.each([{ js: true }, { js: false }])(
    'link checked on load, account named, clean URL, logo, sign-in link, focus after a mismatch (JavaScript $js)',
    async ({ js }) => {
      const t = PAGE_STRINGS.en!;
      const mode = `v02-js-${js ? 'on' : 'off'}`;
      const profile = await mkdtemp(path.join(tmpdir(), 'epr-chromium-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: ARGS,
        javaScriptEnabled: js,
        locale: 'en',
        viewport: WIDTHS.desktop,
      });
      try {
        const page = await context.newPage();
        // CSP violations show up as console errors; failed loads are counted from the responses instead.
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
            problems.push(message.text());
        });
        const failures: string[] = [];
        page.on('response', (response) => {
          const { pathname } = new URL(response.url());
          if (response.status() >= 400 && pathname !== '/favicon.ico')
            failures.push(`${response.status()} ${pathname}`);
        });
        const requested: string[] = [];
        page.on('request', (req) => requested.push(req.url()));
        const updatesBefore = app.users.updates.length;

        const token = await app.requestToken(ADA.email);
        mailLink = app.mailer.last(ADA.email)!.data.resetUrl!;
        expect(mailLink).toContain(token);
        await page.goto(`${mailOrigin}/mail`);
        await page.click('#link');
        await page.waitForURL(`${origin}${BASE}/reset`);

        // Checked on load and the account named; the token is gone from the address bar and the page.
        expect(await page.locator('h1').textContent()).toBe(t.reset.title);
        expect(await page.locator('.account').textContent()).toBe(t.reset.account(ADA.email));
        expect(page.url()).toBe(`${origin}${BASE}/reset`);
        expect(await page.content()).not.toContain(token);
        // The only request that carried the token is the link itself.
        expect(requested.filter((url) => url.includes(token))).toEqual([mailLink]);
        // The logo loaded under the CSP (a blocked or broken image would be a console error) and is visible.
        const logo = page.locator('img.logo');
        expect(await logo.getAttribute('alt')).toBe('Acme');
        expect((await logo.boundingBox())!.height).toBeGreaterThan(20);
        expect(await page.getByRole('link', { name: t.signIn }).getAttribute('href')).toBe('/signin');
        // The username field is for password managers only: not shown, not in the tab order.
        const username = page.locator('input[autocomplete=username]');
        expect(await username.inputValue()).toBe(ADA.email);
        expect(await username.isVisible()).toBe(false);
        await shoot(page, `${mode}-1-checked`);
        // The README's styled example (docs/), refreshed on request only.
        if (js && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
          await page.setViewportSize(WIDTHS.phone);
          await page.screenshot({ path: path.join(__dirname, '..', 'docs', 'styled-reset-page.png'), fullPage: true });
          await page.setViewportSize(WIDTHS.desktop);
        }

        // A mismatch: both fields empty, the focus on the first.
        await page.getByLabel(t.reset.password, { exact: true }).fill(GOOD_PASSWORD);
        await page.getByLabel(t.reset.confirm).fill(`${GOOD_PASSWORD}x`);
        await page.getByRole('button', { name: t.reset.submit }).click();
        await page.locator('#confirm-error').waitFor();
        expect(await page.locator('#password:focus').count()).toBe(1);
        expect(await page.locator('#password').inputValue()).toBe('');
        expect(await page.locator('#confirm').inputValue()).toBe('');
        expect(await page.locator('.account').textContent()).toBe(t.reset.account(ADA.email));
        await shoot(page, `${mode}-2-mismatch`);

        await page.keyboard.type(GOOD_PASSWORD);
        await page.keyboard.press('Tab');
        await page.keyboard.type(GOOD_PASSWORD);
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { name: t.done.title }).waitFor();
        // The success page ends at the sign-in link, and nothing else.
        expect(await page.locator('.links a').evaluateAll((links) => links.map((a) => a.getAttribute('href')))).toEqual(
          ['/signin'],
        );
        await shoot(page, `${mode}-3-done`);
        expect(app.users.updates.slice(updatesBefore).map((update) => update.id)).toEqual([ADA.id]);

        // The same link opened again from the mail: it says at once that it was used, and offers a new one.
        await page.goto(`${mailOrigin}/mail`);
        await page.click('#link');
        await page.waitForURL(`${origin}${BASE}/reset`);
        expect(await page.locator('h1').textContent()).toBe(t.reset.invalidTitle);
        expect(await page.getByRole('alert').textContent()).toContain(t.errors.tokenInvalid);
        expect(await page.locator('input[type=password]').count()).toBe(0);
        expect(await page.getByRole('link', { name: t.requestNew }).getAttribute('href')).toBe('forgot');
        await shoot(page, `${mode}-4-used`);

        // The expected error answers only: the mismatch (400) and the used link (400). No CSP violation.
        expect(failures).toEqual([`400 ${BASE}/reset`, `400 ${BASE}/reset`]);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
  );
});

async function screenshotsOf(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  for (const [width, size] of Object.entries(WIDTHS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDTHS.desktop);
}

/** The demo's outbox (issue 13, point 7): the email's button opens the reset page top-level, never in the preview. */
describeBrowser('the demo outbox in headless Chromium', () => {
  test('the button in the HTML preview and the plain link both open a working reset page', async () => {
    const server = createHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const demoOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const demo = await createDemoApp(demoOrigin);
    server.on('request', demo.app);
    const profile = await mkdtemp(path.join(tmpdir(), 'epr-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ARGS,
      locale: 'en',
      viewport: WIDTHS.desktop,
    });
    try {
      const page = await context.newPage();
      await page.goto(`${demoOrigin}/auth/password/forgot`);
      await page.getByLabel('Email address').fill(DEMO_USERS[0]!.email);
      await page.getByRole('button', { name: 'Send reset link' }).click();
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      for (let i = 0; i < 200 && demo.outbox.messages.length === 0; i += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      await page.goto(`${demoOrigin}/outbox`);
      await screenshotsOf(page, 'demo-outbox');

      const [popup] = await Promise.all([
        context.waitForEvent('page'),
        page.frameLocator('iframe').getByRole('link', { name: 'Reset password' }).click(),
      ]);
      await popup.waitForURL(`${demoOrigin}/auth/password/reset`);
      expect(await popup.locator('h1').textContent()).toBe('Choose a new password');
      expect(await popup.locator('.account').textContent()).toBe(`Account: ${DEMO_USERS[0]!.email}`);
      await popup.close();

      await page.getByRole('link', { name: 'Open the reset page' }).first().click();
      await page.waitForURL(`${demoOrigin}/auth/password/reset`);
      expect(await page.locator('h1').textContent()).toBe('Choose a new password');
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
      await demo.router.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/**
 * `secondFactor` (issue 15, item 5) as a user meets it, with JavaScript off (plain form posts) and in French: the
 * link's page has the authentication code field for Ada (required), a wrong code is refused with the field's message
 * and the focus on it, and the right one resets the password.
 */
describeBrowser('secondFactor on the hosted pages in headless Chromium', () => {
  test('JavaScript off, fr: a wrong code, then the right one', async () => {
    const t = PAGE_STRINGS.fr!;
    let origin = '';
    const app = await createApp({
      options: {
        pages: { title: 'Acme' },
        resetUrl: (token) => `${origin}${BASE}/reset?token=${token}`,
        secondFactor: { required: (user) => user.id === ADA.id, verify: (_user, otp) => otp === '135790' },
      },
    });
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const profile = await mkdtemp(path.join(tmpdir(), 'epr-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ARGS,
      javaScriptEnabled: false,
      locale: 'fr',
      viewport: WIDTHS.desktop,
    });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(5000);
      await page.goto(await linkOf(app));
      const otp = page.getByLabel(t.reset.otp);
      expect(await otp.getAttribute('autocomplete')).toBe('one-time-code');
      expect(await otp.getAttribute('inputmode')).toBe('numeric');
      await screenshotsOf(page, 'second-factor-1-form');

      const submit = async (code: string): Promise<void> => {
        await page.getByLabel(t.reset.otp).fill(code);
        await page.getByLabel(t.reset.password, { exact: true }).fill(GOOD_PASSWORD);
        await page.getByLabel(t.reset.confirm).fill(GOOD_PASSWORD);
        await page.getByRole('button', { name: t.reset.submit }).click();
        await page.waitForLoadState();
      };
      // The browser itself refuses to send the form without the code (the server's 401 for that is in
      // second-factor.test.ts, for clients that do send it).
      expect(await otp.getAttribute('required')).not.toBeNull();
      await submit('000000');
      expect(await page.locator('#otp-error').textContent()).toContain(t.errors.otpInvalid);
      expect(await page.locator('#otp:focus').count()).toBe(1);
      expect(await page.locator('#otp').inputValue()).toBe('');
      await screenshotsOf(page, 'second-factor-2-wrong');
      expect(app.users.updates).toEqual([]);

      await submit('135790');
      await page.getByRole('heading', { name: t.done.title }).waitFor();
      expect(app.users.updates.map((update) => update.id)).toEqual([ADA.id]);
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
      await app.close();
    }
  });
});

/** Asks for a reset of Ada's password and returns the emailed link. */
async function linkOf(app: TestApp): Promise<string> {
  const from = app.events.length;
  await app.post('/forgot', { email: ADA.email }).expect(202);
  await app.waitForEvent((event) => event.type === 'email.sent' && event.kind === 'reset', from);
  return app.mailer.last(ADA.email)!.data.resetUrl!;
}
