/**
 * The hosted pages in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): forgot → the link from the outbox → a rejected password →
 * a new password typed with the keyboard only → success, once with JavaScript
 * on (English) and once with it off (German), with screenshots of every page
 * at phone and desktop widths under test/.artifacts/ (git-ignored).
 *
 * Chromium is looked up on PATH (`chromium`, `chromium-browser`) or taken from
 * CHROMIUM_PATH. Without one the suite is skipped with a loud warning, except
 * under CI=true, where a missing Chromium fails it.
 */
import { inCi } from './support/ci';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADA, createApp, GOOD_PASSWORD, type TestApp } from './helpers/create-app';
import { LOCALES } from '../lib/locales';

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
});
