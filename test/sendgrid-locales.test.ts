/**
 * Email language through the router and SendGrid: chosen by `user.locale`
 * (`de`, `fr`, English fallback, `de-CH` → `de`), `emails.templates`
 * overrides per locale, and `locale` in dynamic template data.
 */
import request from 'supertest';
import type { EmailTemplates, User } from '../lib';
import { startFakeSendGrid, type FakeSendGrid } from './helpers/fake-sendgrid';
import { RESET_URL, buildApp, tokenIn, type SendGridApp } from './helpers/sendgrid-app';

let fake: FakeSendGrid;
const opened: SendGridApp[] = [];
beforeEach(async () => {
  fake = await startFakeSendGrid();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.router.close()));
  await fake.close();
});

interface Posted {
  subject?: string;
  text: string;
  html: string;
  token: string;
}

/** Asks for a reset as each user, one after another, and returns what SendGrid received for each. */
async function resetEmails(users: User[], options: Parameters<typeof buildApp>[2] = {}): Promise<Posted[]> {
  const built = buildApp(fake, users, options);
  opened.push(built);
  // One at a time, so the captured requests are in the users' order.
  for (const [i, user] of users.entries()) {
    await request(built.app).post('/auth/password/forgot').send({ email: user.email }).expect(202);
    await fake.received(i + 1);
  }
  await built.router.close();
  return fake.requests.map((r) => {
    const [text, html] = (r.body.content as Array<{ value: string }>).map((c) => c.value);
    return { subject: r.body.subject as string, text: text!, html: html!, token: tokenIn(r.raw) };
  });
}

const user = (id: string, locale?: string, name = 'Ada'): User => ({
  id,
  email: `${id}@example.com`,
  name,
  ...(locale ? { locale } : {}),
});

test('German, French and English built-in texts, chosen by user.locale', async () => {
  const [de, fr, en] = await resetEmails([user('de', 'de'), user('fr', 'fr'), user('en', 'en')]);
  expect(de!.subject).toBe('Passwort für Acme zurücksetzen');
  expect(de!.text).toBe(
    [
      'Hallo Ada,',
      '',
      'Wir haben eine Anfrage erhalten, das Passwort Ihres Kontos bei Acme zurückzusetzen. Über den folgenden Link können Sie ein neues Passwort festlegen.',
      '',
      `${RESET_URL}?token=${de!.token}`,
      '',
      'Der Link ist 30 Minuten lang gültig und kann nur einmal verwendet werden.',
      '',
      'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren. Ihr Passwort bleibt unverändert.',
    ].join('\n'),
  );
  expect(de!.html).toContain('<html lang="de">');
  expect(de!.html).toContain('>Passwort zurücksetzen</a>');

  expect(fr!.subject).toBe('Réinitialisation de votre mot de passe Acme');
  expect(fr!.text).toBe(
    [
      'Bonjour Ada,',
      '',
      'Nous avons reçu une demande de réinitialisation du mot de passe de votre compte Acme. Utilisez le lien ci-dessous pour choisir un nouveau mot de passe.',
      '',
      `${RESET_URL}?token=${fr!.token}`,
      '',
      'Le lien expire dans 30 minutes et ne peut être utilisé qu’une seule fois.',
      '',
      'Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet e-mail\u00a0; votre mot de passe reste inchangé.',
    ].join('\n'),
  );
  expect(fr!.html).toContain('<html lang="fr">');
  expect(fr!.html).toContain('>Réinitialiser le mot de passe</a>');

  expect(en!.subject).toBe('Reset your Acme password');
  expect(en!.html).toContain('<html lang="en">');
});

test('fallbacks: de-CH and DE give German, fr_BE French; an unsupported or missing locale gives English', async () => {
  const subjects = (
    await resetEmails([
      user('a', 'de-CH'),
      user('b', 'DE'),
      user('c', 'fr_BE'),
      user('d', 'pt-BR'),
      user('e'),
      user('f', ''),
    ])
  ).map((m) => m.subject);
  expect(subjects).toEqual([
    'Passwort für Acme zurücksetzen',
    'Passwort für Acme zurücksetzen',
    'Réinitialisation de votre mot de passe Acme',
    'Reset your Acme password',
    'Reset your Acme password',
    'Reset your Acme password',
  ]);
});

test('the code flow in German and French', async () => {
  const [de, fr] = await resetEmails([user('de', 'de'), user('fr', 'fr')], { code: { enabled: true } });
  expect(de!.text).toMatch(/\nOder geben Sie diesen Code ein:\n\d{6}\n/);
  expect(fr!.text).toMatch(/\nOu saisissez ce code\u00a0:\n\d{6}\n/);
});

test("the changed notice follows the user's locale", async () => {
  const built = buildApp(fake, [user('de', 'de-AT')]);
  opened.push(built);
  await request(built.app).post('/auth/password/forgot').send({ email: 'de@example.com' }).expect(202);
  await fake.received(1);
  await request(built.app)
    .post('/auth/password/reset')
    .send({ token: tokenIn(fake.requests[0]!.raw), password: 'ein neues langes Passwort' })
    .expect(200);
  await fake.received(2);
  const changed = fake.requests[1]!.body as { subject: string; content: Array<{ value: string }> };
  expect(changed.subject).toBe('Ihr Passwort für Acme wurde geändert');
  expect(changed.content[0]!.value).toBe(
    'Hallo Ada,\n\nDas Passwort Ihres Kontos bei Acme wurde soeben geändert.\n\nFalls Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück und wenden Sie sich an den Support.',
  );
});

test('the unknown-address email is in English (there is no user to take a locale from)', async () => {
  const built = buildApp(fake, [], { emails: { appName: 'Acme', notifyUnknown: true } });
  opened.push(built);
  await request(built.app).post('/auth/password/forgot').send({ email: 'nobody@example.com' }).expect(202);
  await fake.received(1);
  expect(fake.requests[0]!.body.subject).toBe('Acme password reset request');
});

describe('emails.templates overrides per locale', () => {
  const templates: EmailTemplates = {
    reset: {
      de: { subject: 'Ihr Link für Acme' },
      'de-CH': { subject: (d) => `Grüezi ${d.name ?? ''}: Ihr Link für ${d.appName}` },
      it: { subject: 'Reimposta la password di Acme', text: (d) => `Ciao ${d.name ?? ''}, apri ${d.resetUrl ?? ''}` },
    },
  };

  test('a keyed override replaces only its own locale and part; others keep the built-in texts', async () => {
    const [de, deCh, it, fr, en] = await resetEmails(
      [user('de', 'de'), user('ch', 'de-ch'), user('it', 'it-IT'), user('fr', 'fr'), user('en', 'en')],
      { emails: { appName: 'Acme', templates } },
    );
    expect(de!.subject).toBe('Ihr Link für Acme');
    // The override's other parts are the built-in German ones.
    expect(de!.text.startsWith('Hallo Ada,\n\nWir haben eine Anfrage erhalten')).toBe(true);
    expect(deCh!.subject).toBe('Grüezi Ada: Ihr Link für Acme');
    expect(it!.subject).toBe('Reimposta la password di Acme');
    expect(it!.text).toBe(`Ciao Ada, apri ${RESET_URL}?token=${it!.token}`);
    // A locale known only from overrides uses the English built-in HTML for the parts it does not override.
    expect(it!.html).toContain('<html lang="en">');
    expect(it!.html).toContain('>Reset password</a>');
    expect(fr!.subject).toBe('Réinitialisation de votre mot de passe Acme');
    expect(en!.subject).toBe('Reset your Acme password');
  });

  test('a flat override applies to every locale', async () => {
    const [de, fr] = await resetEmails([user('de', 'de'), user('fr', 'fr')], {
      emails: { appName: 'Acme', templates: { reset: { subject: (d) => `[${d.locale}] ${d.appName}` } } },
    });
    expect(de!.subject).toBe('[de] Acme');
    expect(fr!.subject).toBe('[fr] Acme');
    expect(de!.text.startsWith('Hallo Ada,')).toBe(true);
  });
});

test('dynamic templates receive the resolved locale', async () => {
  const built = buildApp(fake, [user('a', 'de-CH'), user('b', 'fr'), user('c', 'es')], {
    sendgrid: { templateIds: { reset: 'd-0123456789abcdef0123456789abcdef' } },
  });
  opened.push(built);
  for (const [i, email] of ['a@example.com', 'b@example.com', 'c@example.com'].entries()) {
    await request(built.app).post('/auth/password/forgot').send({ email }).expect(202);
    await fake.received(i + 1);
  }
  const locales = fake.requests.map(
    (r) =>
      (r.body.personalizations as Array<{ dynamic_template_data: { locale: string } }>)[0]!.dynamic_template_data
        .locale,
  );
  expect(locales).toEqual(['de', 'fr', 'en']);
});
