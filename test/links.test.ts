/**
 * README guarantee 4: the emailed link is built from `resetUrl` only, never from
 * the request's `Host` or forwarding headers.
 */
import { ADA, RESET_URL, createApp, tokenOf, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const FORGED = {
  Host: 'evil.example',
  'X-Forwarded-Host': 'evil.example',
  'X-Forwarded-Proto': 'http',
  'X-Forwarded-Prefix': '/phish',
  Forwarded: 'host=evil.example;proto=http',
  Origin: 'https://evil.example',
  Referer: 'https://evil.example/forgot',
};

describe('links come from configuration only', () => {
  test.each([
    ['without trust proxy', false],
    ['behind trust proxy', true],
  ])('a forged Host and X-Forwarded-Host never change the link (%s)', async (_name, trustProxy) => {
    const seenHosts: string[] = [];
    t = await createApp({
      configure: (app) => {
        app.set('trust proxy', trustProxy);
        app.use((req, _res, next) => {
          seenHosts.push(req.hostname);
          next();
        });
      },
    });
    const from = t.events.length;
    const response = await t.post('/forgot', { email: ADA.email }).set(FORGED);
    expect(response.status).toBe(202);
    // The forgery did reach the app.
    expect(seenHosts).toEqual(['evil.example']);
    await t.waitForEvent((e) => e.type === 'email.sent', from);

    const message = t.mailer.last()!;
    const link = message.data.resetUrl!;
    expect(link).toBe(`${RESET_URL}?token=${tokenOf(message)}`);
    for (const body of [message.text, message.html]) {
      expect(body).toContain(RESET_URL);
      expect(body).not.toContain('evil.example');
      expect(body).not.toContain('phish');
    }
  });

  test('resetUrl as a function gets the token and the user, and its result is the link', async () => {
    const resetUrl = jest.fn(
      (token: string, user: { id: string }) => `https://app.example/users/${user.id}/reset#token=${token}`,
    );
    t = await createApp({ options: { resetUrl } });
    await t.forgot(ADA.email);
    const message = t.mailer.last()!;
    const token = tokenOf(message);
    expect(resetUrl).toHaveBeenCalledWith(token, expect.objectContaining({ id: ADA.id, email: ADA.email }));
    expect(message.data.resetUrl).toBe(`https://app.example/users/${ADA.id}/reset#token=${token}`);
    expect(message.text).toContain(message.data.resetUrl);
    // And the token from such a link works.
    expect((await t.post('/verify', { token })).status).toBe(200);
  });

  test('query parameters already in resetUrl are kept beside the token', async () => {
    t = await createApp({ options: { resetUrl: 'https://app.example/account/reset?lang=de&utm_source=email' } });
    await t.forgot(ADA.email);
    const message = t.mailer.last()!;
    const link = new URL(message.data.resetUrl!);
    expect(link.origin + link.pathname).toBe('https://app.example/account/reset');
    expect(link.searchParams.get('lang')).toBe('de');
    expect(link.searchParams.get('utm_source')).toBe('email');
    expect(link.searchParams.get('token')).toBe(tokenOf(message));
    // In HTML the & of the query string is escaped inside the href.
    expect(message.html).toContain(
      `href="https://app.example/account/reset?lang=de&amp;utm_source=email&amp;token=${tokenOf(message)}"`,
    );
  });

  test('a token parameter already in resetUrl is replaced, not duplicated', async () => {
    t = await createApp({ options: { resetUrl: 'https://app.example/reset?token=placeholder' } });
    await t.forgot(ADA.email);
    const link = new URL(t.mailer.last()!.data.resetUrl!);
    expect(link.searchParams.getAll('token')).toEqual([tokenOf(t.mailer.last())]);
  });
});
