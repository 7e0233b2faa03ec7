/**
 * The built-in emails (`reset`, `changed`, `unknown`) as HTML and text, user
 * data HTML-escaped, `appName`, and overrides per kind.
 */
import { escapeHtml, type TemplateData } from '../lib';
import { ADA, GOOD_PASSWORD, createApp, tokenOf, type SeedUser, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const XSS_NAME = '<img src=x onerror=alert(1)>';
const MALLORY: SeedUser = { id: 'u9', email: 'mallory@example.com', name: XSS_NAME };

/** Runs /forgot, a reset, and a /forgot for an unknown address, so all three kinds are sent. */
async function sendAllKinds(app: TestApp, email = ADA.email): Promise<void> {
  await app.forgot(email);
  await app.post('/reset', { token: tokenOf(app.mailer.last(email)), password: GOOD_PASSWORD });
  await app.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'changed');
  await app.forgot('nobody@example.com');
}

function message(app: TestApp, kind: 'reset' | 'changed' | 'unknown') {
  const found = app.mailer.messages.find((m) => m.kind === kind);
  if (!found) throw new Error(`no ${kind} email`);
  return found;
}

describe('built-in templates', () => {
  test('the reset email: subject, greeting, link, lifetime, in text and HTML', async () => {
    t = await createApp({ options: { emails: { appName: 'Acme' } } });
    await t.forgot(ADA.email);
    const reset = message(t, 'reset');
    const link = reset.data.resetUrl!;
    expect(reset.to).toBe(ADA.email);
    expect(reset.subject).toBe('Reset your Acme password');
    expect(reset.text).toContain('Hello Ada,');
    expect(reset.text).toContain(link);
    expect(reset.text).toContain('30 minutes');
    expect(reset.html).toMatch(/^<!doctype html>/i);
    expect(reset.html).toContain('Hello Ada,');
    expect(reset.html).toContain(`href="${escapeHtml(link)}"`);
    expect(reset.html).toContain('Acme');
    expect(reset.data).toMatchObject({
      appName: 'Acme',
      email: ADA.email,
      name: 'Ada',
      expiresInMinutes: 30,
      locale: 'en',
    });
  });

  test('the changed notice and the unknown-address email', async () => {
    t = await createApp({ options: { emails: { appName: 'Acme', notifyUnknown: true } } });
    await sendAllKinds(t);
    const changed = message(t, 'changed');
    expect(changed.subject).toBe('Your Acme password was changed');
    expect(changed.text).toContain('Hello Ada,');
    expect(changed.html).toContain('Acme');
    expect(changed.text).not.toMatch(/token=/);
    const unknown = message(t, 'unknown');
    expect(unknown.to).toBe('nobody@example.com');
    expect(unknown.subject).toBe('Acme password reset request');
    expect(unknown.text).toContain('nobody@example.com');
    expect(unknown.html).toContain('nobody@example.com');
    expect(unknown.text).not.toMatch(/token=/);
  });

  test('a user without a name gets a plain greeting', async () => {
    t = await createApp({ users: [{ id: 'u3', email: 'anon@example.com' }] });
    await t.forgot('anon@example.com');
    expect(message(t, 'reset').text).toMatch(/^Hello,\n/);
  });

  test('without an app name the emails are worded without one', async () => {
    t = await createApp();
    await t.forgot(ADA.email);
    expect(message(t, 'reset').subject).toBe('Reset your password');
  });

  test('the code, when the code flow is on, is in both bodies', async () => {
    t = await createApp({ options: { code: { enabled: true } } });
    await t.forgot(ADA.email);
    const reset = message(t, 'reset');
    expect(reset.text).toContain(reset.data.code);
    expect(reset.html).toContain(reset.data.code);
  });
});

describe('HTML escaping of user data', () => {
  test('a name with markup is escaped in every HTML body and left as text in the text bodies', async () => {
    t = await createApp({
      users: [MALLORY],
      options: { emails: { appName: 'Acme <b>&</b> "Co"', notifyUnknown: true } },
    });
    await sendAllKinds(t, MALLORY.email);
    for (const kind of ['reset', 'changed'] as const) {
      const sent = message(t, kind);
      expect(sent.html).not.toContain('<img');
      expect(sent.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(sent.text).toContain(XSS_NAME);
    }
    for (const kind of ['reset', 'changed', 'unknown'] as const) {
      expect(message(t, kind).html).not.toContain('<b>');
      expect(message(t, kind).html).toContain('Acme &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;');
    }
  });

  test('an address with HTML-significant characters is escaped in the unknown email', async () => {
    t = await createApp({ options: { emails: { notifyUnknown: true } } });
    expect((await t.forgot("o'neil&co@example.com")).status).toBe(202);
    const unknown = message(t, 'unknown');
    expect(unknown.html).toContain('o&#39;neil&amp;co@example.com');
    expect(unknown.html).not.toContain("o'neil&co");
  });

  test('a link with & in its query is escaped inside the href', async () => {
    t = await createApp({ options: { resetUrl: 'https://app.example/reset?a=1&b="2"' } });
    await t.forgot(ADA.email);
    const html = message(t, 'reset').html;
    expect(html).toContain('href="https://app.example/reset?a=1&amp;b=%222%22&amp;token=');
  });
});

describe('overrides', () => {
  test('a per-kind override replaces only what it sets, for that kind only', async () => {
    const html = jest.fn(
      (data: TemplateData) =>
        `<p>Reset at <a href="${escapeHtml(data.resetUrl!)}">this link</a>, ${escapeHtml(data.name ?? '')}</p>`,
    );
    t = await createApp({ options: { emails: { appName: 'Acme', templates: { reset: { html } } } } });
    await sendAllKinds(t);
    const reset = message(t, 'reset');
    expect(reset.html).toBe(`<p>Reset at <a href="${escapeHtml(reset.data.resetUrl!)}">this link</a>, Ada</p>`);
    expect(html).toHaveBeenCalledWith(
      expect.objectContaining({ appName: 'Acme', name: 'Ada', email: ADA.email, expiresInMinutes: 30 }),
    );
    // Not overridden: the built-in subject and text of reset, and everything of changed.
    expect(reset.subject).toBe('Reset your Acme password');
    expect(reset.text).toContain(reset.data.resetUrl);
    expect(message(t, 'changed').html).toContain('Acme');
  });

  test('subject as a string and as a function', async () => {
    t = await createApp({
      options: {
        emails: {
          notifyUnknown: true,
          templates: {
            reset: { subject: (data) => `${data.name ?? 'Someone'}, here is your link` },
            changed: { subject: 'Password changed' },
            unknown: { subject: 'No account', text: (data) => `No account for ${data.email}.` },
          },
        },
      },
    });
    await sendAllKinds(t);
    expect(message(t, 'reset').subject).toBe('Ada, here is your link');
    expect(message(t, 'changed').subject).toBe('Password changed');
    expect(message(t, 'unknown').subject).toBe('No account');
    expect(message(t, 'unknown').text).toBe('No account for nobody@example.com.');
  });

  test('a template keyed by locale applies to users of that locale only', async () => {
    t = await createApp({
      users: [ADA, { id: 'u5', email: 'lena@example.com', name: 'Lena', locale: 'nl-BE' }],
      options: { emails: { templates: { reset: { nl: { subject: 'Wachtwoord opnieuw instellen' } } } } },
    });
    await t.forgot('lena@example.com');
    await t.forgot(ADA.email);
    expect(t.mailer.last('lena@example.com')!.subject).toBe('Wachtwoord opnieuw instellen');
    expect(t.mailer.last(ADA.email)!.subject).not.toBe('Wachtwoord opnieuw instellen');
  });
});
