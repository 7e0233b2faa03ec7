/**
 * Invitations (SPEC 0.2, `kind: 'invite'`): `router.sendResetLink(email, { kind: 'invite' })` /
 * `createResetLink` issue a link of its own kind, with its own email and lifetime (7 days), `/verify` says the kind,
 * the hosted pages word it as a first password, and after it is used it is as dead as any used link.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import {
  MemoryTokenStore,
  OptionsError,
  openApiDocument,
  type EmailMessage,
  type EmailTemplates,
  type PasswordResetOptions,
  type TokenRecord,
} from '../lib';
import {
  ADA,
  GOOD_PASSWORD,
  MemoryUsers,
  RESET_URL,
  createApp,
  manualClock,
  tokenOf,
  type CreateAppOptions,
  type TestApp,
} from './helpers/create-app';
import { startFakeSendGrid, type FakeSendGrid } from './helpers/fake-sendgrid';
import { PageClient } from './helpers/page-client';
import { buildApp, tokenIn, type SendGridApp } from './helpers/sendgrid-app';

const DAY = 86_400_000;
const BASE = '/auth/password';

const open: TestApp[] = [];
async function app(options: Partial<PasswordResetOptions> = {}, setup: Omit<CreateAppOptions, 'options'> = {}) {
  const t = await createApp({ ...setup, options: { emails: { appName: 'Acme' }, ...options } });
  open.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const linkOf = (message: EmailMessage | undefined): string => message!.data.resetUrl!;
const kinds = (t: TestApp): string[] => t.mailer.messages.map((message) => message.kind);

describe('issuing invitations', () => {
  test('sendResetLink({ kind: "invite" }) emails the invitation, valid 7 days; /verify says invite', async () => {
    const clock = manualClock();
    const t = await app({ now: clock.now });
    const issued = await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    expect(issued).toEqual({ userId: ADA.id, expiresAt: new Date(clock.now().getTime() + 7 * DAY) });

    const message = t.mailer.last(ADA.email)!;
    expect(message.kind).toBe('invite');
    expect(message.subject).toBe('You have been invited to Acme');
    expect(message.text.split('\n')).toEqual([
      'Hello Ada,',
      '',
      'You have been invited to Acme: choose a password for your new account with the link below.',
      '',
      linkOf(message),
      '',
      'The link expires in 7 days and can be used once.',
      '',
      'If you did not expect this invitation, you can ignore this email.',
    ]);
    expect(message.html).toContain(`<a href="${linkOf(message)}"`);
    expect(message.html).toContain('>Choose your password</a>');

    const token = tokenOf(message);
    expect((await t.post('/verify', { token })).body).toEqual({
      success: true,
      valid: true,
      expiresAt: issued.expiresAt.toISOString(),
      kind: 'invite',
    });
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'reset.requested', userId: ADA.id, kind: 'invite', issuedBy: 'app' }),
    );
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'email.sent', kind: 'invite', userId: ADA.id }));
    expect(JSON.stringify(t.events)).not.toContain(token);
  });

  test('a given ttl is used; createResetLink({ kind: "invite" }) sends nothing, its link verifies as one', async () => {
    const clock = manualClock();
    const t = await app({ now: clock.now });
    const sent = await t.router.sendResetLink(ADA.email, { kind: 'invite', ttl: '2d' });
    expect(sent.expiresAt).toEqual(new Date(clock.now().getTime() + 2 * DAY));
    expect(t.mailer.last(ADA.email)!.text).toContain('The link expires in 2 days and can be used once.');

    const before = t.mailer.messages.length;
    const { url, expiresAt } = await t.router.createResetLink(ADA.email, { kind: 'invite' });
    expect(t.mailer.messages).toHaveLength(before);
    expect(expiresAt).toEqual(new Date(clock.now().getTime() + 7 * DAY));
    const token = new URL(url).searchParams.get('token')!;
    expect((await t.post('/verify', { token })).body).toMatchObject({ kind: 'invite' });
    // A reset issued by the app keeps tokenTtl and its kind.
    const reset = await t.router.createResetLink(ADA.email);
    expect(reset.expiresAt).toEqual(new Date(clock.now().getTime() + 30 * 60_000));
    const resetToken = new URL(reset.url).searchParams.get('token')!;
    expect((await t.post('/verify', { token: resetToken })).body).toMatchObject({ kind: 'reset' });
  });

  test('an unknown kind is refused with an OptionsError naming the option and listing the kinds', async () => {
    const t = await app();
    for (const method of ['sendResetLink', 'createResetLink'] as const) {
      const refused = await t.router[method](ADA.email, { kind: 'welcome' as 'invite' }).catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(OptionsError);
      expect((refused as OptionsError).message).toContain(`${method}.kind`);
      expect((refused as OptionsError).message).toContain("must be one of 'reset', 'invite'");
    }
    expect(t.mailer.messages).toHaveLength(0);
  });

  test('with the code flow on, the invitation carries no code (the reset email still does)', async () => {
    const t = await app({ code: { enabled: true } });
    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const invite = t.mailer.last(ADA.email)!;
    expect(invite.data.code).toBeUndefined();
    expect(invite.text).not.toMatch(/\b\d{6}\b/);
    await t.router.sendResetLink(ADA.email);
    expect(t.mailer.last(ADA.email)!.data.code).toMatch(/^\d{6}$/);
  });
});

describe('using an invitation', () => {
  test('it sets the first password once: no changed notice, reset.completed says invite, then dead', async () => {
    const t = await app();
    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const token = tokenOf(t.mailer.last(ADA.email));
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
    await t.router.settled();
    expect(t.users.updates).toHaveLength(1);
    expect(kinds(t)).toEqual(['invite']);
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'reset.completed', userId: ADA.id, kind: 'invite' }),
    );

    // Single use: the account now has a password, and the invitation cannot reset it.
    const again = await t.post('/reset', { token, password: 'another long passphrase' });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/verify', { token })).body.error.code).toBe('TOKEN_INVALID');
    expect(t.users.updates).toHaveLength(1);

    // A reset afterwards is an ordinary reset, with its notice.
    const reset = await t.requestToken();
    expect((await t.post('/reset', { token: reset, password: 'another long passphrase' })).status).toBe(200);
    await t.router.settled();
    expect(kinds(t)).toEqual(['invite', 'reset', 'changed']);
  });

  test('a timed-out password write is settled as an invitation: late reset.completed, no notice', async () => {
    class UnconfirmedOnce extends MemoryUsers {
      failure: Error | undefined = Object.assign(new Error('operation timed out'), {
        name: 'MongoNetworkTimeoutError',
      });
      override async updatePassword(id: string, passwordHash: string): Promise<void> {
        const failure = this.failure;
        this.failure = undefined;
        if (failure) throw failure;
        await super.updatePassword(id, passwordHash);
      }
    }
    const users = new UnconfirmedOnce([ADA]);
    const t = await app({ users });
    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const token = tokenOf(t.mailer.last(ADA.email));
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(503);
    await t.router.settled();
    expect(users.updates).toHaveLength(1);
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'reset.completed', userId: ADA.id, kind: 'invite', late: true }),
    );
    expect(kinds(t)).toEqual(['invite']);
  });

  test('a later /forgot supersedes an unused invitation, and a later invitation supersedes a reset link', async () => {
    const t = await app();
    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const invite = tokenOf(t.mailer.last(ADA.email));
    const reset = await t.requestToken();
    expect((await t.post('/verify', { token: invite })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/verify', { token: reset })).body).toMatchObject({ kind: 'reset' });

    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const second = tokenOf(t.mailer.last(ADA.email));
    expect((await t.post('/verify', { token: reset })).body.error.code).toBe('TOKEN_INVALID');
    expect((await t.post('/verify', { token: second })).body).toMatchObject({ kind: 'invite' });
  });

  test('an invitation works until its 7 days are over, then answers TOKEN_EXPIRED', async () => {
    const clock = manualClock();
    const t = await app({ now: clock.now });
    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const token = tokenOf(t.mailer.last(ADA.email));
    // Far past tokenTtl (30 minutes): an invitation has its own lifetime.
    clock.advance(7 * DAY - 1000);
    expect((await t.post('/verify', { token })).status).toBe(200);
    clock.advance(1000);
    const expired = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(expired.status).toBe(400);
    expect(expired.body.error.code).toBe('TOKEN_EXPIRED');
    expect(t.users.updates).toHaveLength(0);
  });

  test('respond() gets kind in /verify success outcomes', async () => {
    const bodies: unknown[] = [];
    const t = await app({
      respond: (outcome) => {
        if (outcome.endpoint === 'verify' && 'body' in outcome) bodies.push(outcome.body);
        return 'body' in outcome
          ? { status: outcome.status, body: outcome.body }
          : { status: outcome.status, body: { error: outcome.error } };
      },
    });
    const invite = new URL((await t.router.createResetLink(ADA.email, { kind: 'invite' })).url).searchParams;
    expect((await t.post('/verify', { token: invite.get('token') })).body).toMatchObject({ kind: 'invite' });
    const reset = await t.requestToken();
    await t.post('/verify', { token: reset });
    expect(bodies).toEqual([
      expect.objectContaining({ valid: true, kind: 'invite' }),
      expect.objectContaining({ valid: true, kind: 'reset' }),
    ]);
  });

  test('a store that drops the kind (written for 0.1) keeps working: its tokens are resets', async () => {
    class OldStore extends MemoryTokenStore {
      override save({ kind: _kind, ...record }: TokenRecord): Promise<void> {
        return super.save(record);
      }
    }
    const t = await app({}, {});
    const old = await app({ store: new OldStore() });
    for (const subject of [t, old]) await subject.router.sendResetLink(ADA.email, { kind: 'invite' });
    const answers = await Promise.all(
      [t, old].map(
        async (subject) =>
          (await subject.post('/verify', { token: tokenOf(subject.mailer.last(ADA.email)) })).body.kind,
      ),
    );
    expect(answers).toEqual(['invite', 'reset']);
  });
});

describe('the invitation email', () => {
  test('built-in in en, de and fr, by the user locale', async () => {
    const t = await app(
      {},
      {
        users: [
          { id: 'en', email: 'en@example.com', name: 'Ada', locale: 'en-GB' },
          { id: 'de', email: 'de@example.com', name: 'Ada', locale: 'de-CH' },
          { id: 'fr', email: 'fr@example.com', name: 'Ada', locale: 'fr' },
        ],
      },
    );
    const texts: Record<string, { subject: string; lines: string[] }> = {};
    for (const locale of ['en', 'de', 'fr']) {
      await t.router.sendResetLink(`${locale}@example.com`, { kind: 'invite' });
      const message = t.mailer.last(`${locale}@example.com`)!;
      expect(message.html).toContain(`<html lang="${locale}">`);
      texts[locale] = {
        subject: message.subject,
        lines: message.text.split('\n').filter((line) => !line.startsWith(RESET_URL)),
      };
    }
    expect(texts).toEqual({
      en: {
        subject: 'You have been invited to Acme',
        lines: [
          'Hello Ada,',
          '',
          'You have been invited to Acme: choose a password for your new account with the link below.',
          '',
          '',
          'The link expires in 7 days and can be used once.',
          '',
          'If you did not expect this invitation, you can ignore this email.',
        ],
      },
      de: {
        subject: 'Einladung zu Acme',
        lines: [
          'Hallo Ada,',
          '',
          'Sie wurden zu Acme eingeladen: Wählen Sie über den folgenden Link ein Passwort für Ihr neues Konto.',
          '',
          '',
          'Der Link ist 7 Tage lang gültig und kann nur einmal verwendet werden.',
          '',
          'Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.',
        ],
      },
      fr: {
        subject: 'Invitation à rejoindre Acme',
        lines: [
          'Bonjour Ada,',
          '',
          'Vous avez reçu une invitation à rejoindre Acme\u00a0: choisissez un mot de passe pour votre nouveau compte à l’aide du lien ci-dessous.',
          '',
          '',
          'Le lien expire dans 7 jours et ne peut être utilisé qu’une seule fois.',
          '',
          'Si vous ne vous attendiez pas à cette invitation, vous pouvez ignorer cet e-mail.',
        ],
      },
    });
  });

  test('emails.templates.invite overrides it, per locale too, and leaves the reset email alone', async () => {
    const t = await app(
      {
        emails: {
          appName: 'Acme',
          templates: {
            invite: {
              en: { subject: 'Welcome aboard', text: (d) => `Join us: ${d.resetUrl} (${d.expiresInSeconds} s)` },
              de: { subject: 'Willkommen an Bord' },
            },
          },
        },
      },
      { users: [ADA, { id: 'u3', email: 'hans@example.com', locale: 'de' }] },
    );
    await t.router.sendResetLink(ADA.email, { kind: 'invite' });
    const invite = t.mailer.last(ADA.email)!;
    expect(invite.subject).toBe('Welcome aboard');
    expect(invite.text).toBe(`Join us: ${linkOf(invite)} (${7 * 86_400} s)`);
    await t.router.sendResetLink('hans@example.com', { kind: 'invite' });
    const german = t.mailer.last('hans@example.com')!;
    expect(german.subject).toBe('Willkommen an Bord');
    expect(german.text).toContain('Der Link ist 7 Tage lang gültig');
    await t.router.sendResetLink(ADA.email);
    expect(t.mailer.last(ADA.email)!.subject).toBe('Reset your Acme password');
  });

  test('an unknown kind under emails.templates is refused, naming the kinds (invite among them)', async () => {
    await expect(app({ emails: { templates: { welcome: { subject: 'x' } } as EmailTemplates } })).rejects.toThrow(
      /emails\.templates\.welcome.*allowed: reset, invite, changed, unknown/,
    );
  });
});

describe('SendGrid templateIds.invite', () => {
  let fake: FakeSendGrid;
  let built: SendGridApp | undefined;
  beforeEach(async () => {
    fake = await startFakeSendGrid();
  });
  afterEach(async () => {
    await built?.router.close();
    built = undefined;
    await fake.close();
  });

  test('sent as that dynamic template with its data, through the real @sendgrid/mail client', async () => {
    const ids = { reset: 'd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', invite: 'd-dddddddddddddddddddddddddddddddd' };
    built = buildApp(fake, [{ id: 'u-ada', email: 'ada@example.com', name: 'Ada', locale: 'de' }], {
      sendgrid: { templateIds: ids },
      code: { enabled: true, exchange: false },
      secret: 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz',
    });
    await built.router.sendResetLink('ada@example.com', { kind: 'invite' });
    expect(fake.requests).toHaveLength(1);
    const data = (fake.requests[0]!.body as { personalizations: [{ dynamic_template_data: { resetUrl: string } }] })
      .personalizations[0].dynamic_template_data;
    const token = tokenIn(data.resetUrl);
    expect(fake.requests[0]!.body).toEqual({
      from: { email: 'no-reply@acme.example', name: 'Acme' },
      template_id: ids.invite,
      tracking_settings: { click_tracking: { enable: false, enable_text: false } },
      personalizations: [
        {
          to: [{ email: 'ada@example.com' }],
          dynamic_template_data: {
            appName: 'Acme',
            name: 'Ada',
            email: 'ada@example.com',
            resetUrl: `https://app.example/reset-password?token=${token}`,
            expiresInMinutes: 7 * 24 * 60,
            expiresInSeconds: 7 * 86_400,
            locale: 'de',
          },
        },
      ],
    });
    const verify = await request(built.app).post('/auth/password/verify').send({ token });
    expect(verify.body).toMatchObject({ valid: true, kind: 'invite' });
  });
});

describe('the hosted pages', () => {
  async function pagesApp(): Promise<TestApp & { client: () => PageClient }> {
    let origin = '';
    const t = await app({ pages: true, resetUrl: (token) => `${origin}${BASE}/reset?token=${token}` });
    origin = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    return Object.assign(t, { client: () => new PageClient(origin) });
  }
  const pathOf = (url: string): string => `${new URL(url).pathname}${new URL(url).search}`;

  test('an invitation reads "choose a password for your new account" in en, de, fr; a reset does not', async () => {
    const t = await pagesApp();
    const seen: Record<string, { h1: string; button: string; done: string }> = {};
    for (const [lang, header] of [
      ['en', 'en'],
      ['de', 'de-DE,de;q=0.9'],
      ['fr', 'fr-FR'],
    ] as const) {
      const { url } = await t.router.createResetLink(ADA.email, { kind: 'invite' });
      const client = t.client();
      const form = await client.get(pathOf(url), { 'Accept-Language': header });
      expect(form.status).toBe(200);
      expect(form.html).toContain(ADA.email);
      const done = await client.submit(
        form,
        { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD },
        { 'Accept-Language': header },
      );
      expect(done.status).toBe(200);
      seen[lang] = {
        h1: form.doc.querySelector('h1')!.text,
        button: form.doc.querySelector('form button')!.text.trim(),
        // The heading and the paragraph after it (the page header above shows the app's name).
        done: `${done.doc.querySelector('h1')!.text} | ${done.doc.querySelector('h1 + p')?.text.trim()}`,
      };
    }
    expect(seen).toEqual({
      en: {
        h1: 'Choose a password for your new account',
        button: 'Save password',
        done: 'Password set | Your password is set and your account is ready. You can now sign in.',
      },
      de: {
        h1: 'Passwort für Ihr neues Konto wählen',
        button: 'Passwort speichern',
        done: 'Passwort festgelegt | Ihr Passwort ist festgelegt und Ihr Konto ist bereit. Sie können sich jetzt anmelden.',
      },
      fr: {
        h1: 'Choisissez un mot de passe pour votre nouveau compte',
        button: 'Enregistrer mon mot de passe',
        done: 'Mot de passe enregistré | Votre mot de passe est enregistré et votre compte est prêt. Vous pouvez maintenant vous connecter.',
      },
    });

    // A reset link keeps the reset wording, also after a rejected password.
    const { url } = await t.router.createResetLink(ADA.email);
    const client = t.client();
    const form = await client.get(pathOf(url));
    expect(form.doc.querySelector('h1')!.text).toBe('Choose a new password');
    const done = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.doc.querySelector('h1')!.text).toBe('Password changed');
  });

  test('re-shown after a rejected password it keeps the invitation wording; the used link is dead', async () => {
    const t = await pagesApp();
    const { url } = await t.router.createResetLink(ADA.email, { kind: 'invite' });
    const client = t.client();
    const form = await client.get(pathOf(url));
    const rejected = await client.submit(form, { password: 'short', confirm: 'short' });
    expect(rejected.status).toBe(422);
    expect(rejected.doc.querySelector('h1')!.text).toBe('Choose a password for your new account');
    const done = await client.submit(rejected, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.doc.querySelector('h1')!.text).toBe('Password set');
    const again = await t.client().get(pathOf(url));
    expect(again.status).toBe(400);
    expect(again.doc.querySelector('form')).toBeNull();
    expect(t.users.updates).toHaveLength(1);
  });
});

test('the OpenAPI document says /verify answers kind reset or invite', () => {
  const { components } = openApiDocument({ basePath: '/auth/password' }) as unknown as {
    components: { schemas: { VerifyResult: { required: string[]; properties: { kind: { enum: string[] } } } } };
  };
  const schema = components.schemas.VerifyResult;
  expect(schema.required).toContain('kind');
  expect(schema.properties.kind.enum).toEqual(['reset', 'invite']);
});

describe("the README's Invitations example", () => {
  const ROOT = join(__dirname, '..');

  test('is quoted exactly, and runs: the account is created, invited, and sets its first password', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const file = readFileSync(join(ROOT, 'examples/invitations.ts'), 'utf8').replace(
      "from '../lib'",
      "from 'express-password-reset'",
    );
    const at = readme.indexOf('<!-- examples/invitations.ts -->');
    expect(at).toBeGreaterThan(readme.indexOf('### Invitations'));
    expect(/```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1]).toBe(file);

    const example = await import('../examples/invitations');
    try {
      const created = await request(example.app)
        .post('/admin/users')
        .send({ email: 'grace@example.com', name: 'Grace' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ id: '1', invitationExpiresAt: expect.any(String) });
      const invitation = example.router.outbox!.last('grace@example.com')!;
      expect([invitation.kind, invitation.subject]).toEqual(['invite', 'You have been invited to Acme']);
      const token = tokenOf(invitation);
      await request(example.app).post('/auth/password/reset').send({ token, password: GOOD_PASSWORD }).expect(200);
      expect(example.accounts[0]!.passwordHash).toMatch(/^\$2b\$12\$/);
      await example.router.settled();
      expect(example.router.outbox!.messages.map((message) => message.kind)).toEqual(['invite']);
    } finally {
      await example.router.close();
    }
  });
});
