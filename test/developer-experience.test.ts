/**
 * What a developer adopting the router sees (issue 13): the emails of the development outbox, a log line for every
 * failure after the answer, warnings for options that cannot mean what they say, and `router.settled()` for tests
 * of their own app. The apps here are built the way a user builds one (no test hooks), since `hooks.onEvent`
 * changes what is logged.
 */
import express from 'express';
import request from 'supertest';
import {
  OptionsError,
  OutboxMailer,
  passwordReset,
  type EmailMessage,
  type Logger,
  type PasswordResetOptions,
  type PasswordResetRouter,
  type User,
  type UserAdapter,
} from '../lib';
import { EmailRenderer } from '../lib/mail/email-templates';
import { GOOD_PASSWORD, RESET_URL, tokenOf } from './helpers/create-app';

interface Lines {
  error: string[];
  warn: string[];
  info: string[];
}

function capture(withError = true): { logger: Logger; lines: Lines } {
  const lines: Lines = { error: [], warn: [], info: [] };
  const logger: Logger = {
    warn: (message) => lines.warn.push(message),
    info: (message) => lines.info.push(message),
    ...(withError ? { error: (message: string) => lines.error.push(message) } : {}),
  };
  return { logger, lines };
}

const ADA: User = { id: 'u1', email: 'ada@example.com', name: 'Ada' };

function usersOf(accounts: User[], delayMs = 0): UserAdapter & { hashes: Map<string, string> } {
  const hashes = new Map<string, string>();
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, delayMs));
  return {
    hashes,
    findByEmail: async (email) => {
      if (delayMs > 0) await pause();
      return accounts.find((user) => user.email.toLowerCase() === email.toLowerCase()) ?? null;
    },
    updatePassword: async (id, passwordHash) => void hashes.set(id, passwordHash),
  };
}

let routers: PasswordResetRouter[] = [];
afterEach(async () => {
  await Promise.all(routers.map((router) => router.close()));
  routers = [];
});

function build(options: Partial<PasswordResetOptions>): { app: express.Express; router: PasswordResetRouter } {
  const router = passwordReset({
    users: usersOf([ADA]),
    resetUrl: RESET_URL,
    bcryptRounds: 4,
    rateLimit: false,
    ...options,
  });
  routers.push(router);
  const app = express();
  app.use('/auth/password', router);
  return { app, router };
}

async function forgot(app: express.Express, router: PasswordResetRouter, email = ADA.email): Promise<void> {
  await request(app).post('/auth/password/forgot').send({ email }).expect(202);
  await router.settled();
}

describe('router.outbox: the emails of the development mailer can be read', () => {
  test('without a mailer it is the OutboxMailer in use; its log line says how to read it, never the link', async () => {
    const { logger, lines } = capture();
    const { app, router } = build({ logger });
    expect(router.outbox).toBeInstanceOf(OutboxMailer);
    await forgot(app, router);
    const email = router.outbox!.last(ADA.email);
    expect(email?.kind).toBe('reset');
    const token = tokenOf(email);
    expect(lines.info).toHaveLength(1);
    expect(lines.info[0]).toContain(`router.outbox.last('${ADA.email}')`);
    expect(lines.info[0]).not.toContain(token);
    expect(lines.info[0]).not.toContain(RESET_URL);
  });

  test('with a mailer (or SendGrid) it is undefined', () => {
    expect(build({ mailer: new OutboxMailer({ logger: false }), logger: false }).router.outbox).toBeUndefined();
    expect(
      build({ sendgrid: { apiKey: 'SG.test', from: 'a@b.example' }, logger: false }).router.outbox,
    ).toBeUndefined();
  });
});

describe('router.settled(): a test can wait for the work behind the 202', () => {
  test('with a 20 ms user adapter, the email is in the outbox right after settled(), 20 times out of 20', async () => {
    const { app, router } = build({ users: usersOf([ADA], 20), logger: false });
    let found = 0;
    for (let i = 0; i < 20; i += 1) {
      router.outbox!.clear();
      await request(app).post('/auth/password/forgot').send({ email: ADA.email }).expect(202);
      await router.settled();
      if (router.outbox!.last(ADA.email)) found += 1;
    }
    expect(found).toBe(20);
  });

  test('it also waits for the changed notice after a reset', async () => {
    const { app, router } = build({ logger: false });
    await forgot(app, router);
    const token = tokenOf(router.outbox!.last(ADA.email));
    await request(app).post('/auth/password/reset').send({ token, password: GOOD_PASSWORD }).expect(200);
    await router.settled();
    expect(router.outbox!.last(ADA.email)?.kind).toBe('changed');
  });
});

describe('failures are never silent: without hooks.onEvent, error and email.failed are logged', () => {
  test('a users adapter that throws: 202, and one logger.error line naming the error', async () => {
    const { logger, lines } = capture();
    const users: UserAdapter = {
      findByEmail: async () => {
        throw new ReferenceError('db is not defined');
      },
      updatePassword: async () => undefined,
    };
    const { app, router } = build({ users, logger });
    await forgot(app, router);
    expect(lines.error).toHaveLength(1);
    expect(lines.error[0]).toMatch(/error in forgot: ReferenceError: db is not defined/);
  });

  test('a refused delivery: one email.failed line with the error code, the link and token redacted (guarantee 7)', async () => {
    const { logger, lines } = capture();
    const sent: EmailMessage[] = [];
    const mailer = {
      send: async (message: EmailMessage): Promise<void> => {
        sent.push(message);
        // A provider error that echoes the message it refused.
        throw Object.assign(new Error(`connect refused while sending ${message.text}`), { code: 'ECONNREFUSED' });
      },
    };
    const { app, router } = build({ mailer, logger });
    await forgot(app, router);
    const token = tokenOf(sent[0]);
    expect(lines.error).toHaveLength(1);
    expect(lines.error[0]).toMatch(/"reset" email for user u1 was not delivered: Error: .*\(ECONNREFUSED\)/);
    expect(lines.error[0]).toContain('[redacted]');
    expect(lines.error[0]).not.toMatch(/[\r\n]/);
    for (const line of [...lines.error, ...lines.warn, ...lines.info]) expect(line).not.toContain(token);
  });

  test('a logger without error() gets the line at warn', async () => {
    const { logger, lines } = capture(false);
    const mailer = { send: async (): Promise<void> => Promise.reject(new Error('SMTP down')) };
    const { app, router } = build({ mailer, logger });
    await forgot(app, router);
    expect(lines.warn).toEqual([expect.stringMatching(/was not delivered: Error: SMTP down/)]);
  });

  test('with hooks.onEvent the app handles events itself: nothing is logged', async () => {
    const { logger, lines } = capture();
    const mailer = { send: async (): Promise<void> => Promise.reject(new Error('SMTP down')) };
    const onEvent = jest.fn();
    const { app, router } = build({ mailer, logger, hooks: { onEvent } });
    await forgot(app, router);
    expect(onEvent).toHaveBeenCalledWith(expect.objectContaining({ type: 'email.failed' }));
    expect(lines).toEqual({ error: [], warn: [], info: [] });
  });

  test('onPasswordReset throwing: /reset answers 200, the password is changed, one line without secrets', async () => {
    const { logger, lines } = capture();
    const users = usersOf([ADA]);
    const onPasswordReset = (_user: User, req: express.Request): void => {
      throw new Error(`session store down while handling ${JSON.stringify(req.body)}`);
    };
    const { app, router } = build({ users, logger, hooks: { onPasswordReset } });
    await forgot(app, router);
    const token = tokenOf(router.outbox!.last(ADA.email));
    await request(app).post('/auth/password/reset').send({ token, password: GOOD_PASSWORD }).expect(200);
    expect(users.hashes.get(ADA.id)).toMatch(/^\$2b\$04\$/);
    expect(lines.error).toHaveLength(1);
    expect(lines.error[0]).toMatch(/error in onPasswordReset: Error: session store down/);
    expect(lines.error[0]).not.toContain(token);
    expect(lines.error[0]).not.toContain(GOOD_PASSWORD);
  });

  describe('the per-email limit dropping a request', () => {
    const original = process.env.NODE_ENV;
    afterEach(() => {
      process.env.NODE_ENV = original;
    });

    const limited = (): Partial<PasswordResetOptions> => ({
      rateLimit: { forgot: false, verify: false, reset: false, perEmail: { windowMs: 60_000, limit: 1 } },
    });

    test('in development: one rate_limited line at info', async () => {
      process.env.NODE_ENV = 'development';
      const { logger, lines } = capture();
      const { app, router } = build({ ...limited(), mailer: new OutboxMailer({ logger: false }), logger });
      await forgot(app, router);
      await forgot(app, router);
      expect(lines.info).toEqual([expect.stringMatching(/rate_limited: perEmail limit reached for ada@example\.com/)]);
      expect(lines.error).toEqual([]);
    });

    test('in production: not logged (it is no failure)', async () => {
      process.env.NODE_ENV = 'production';
      const { logger, lines } = capture();
      const { app, router } = build({ ...limited(), mailer: new OutboxMailer({ logger: false }), logger });
      await forgot(app, router);
      await forgot(app, router);
      expect(lines.info).toEqual([]);
    });
  });
});

describe('options that cannot mean what they say are named at construction', () => {
  const original = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = original;
  });

  test.each(['development', 'production'])('tokenTtl: 30 warns under NODE_ENV=%s, suggesting minutes', (env) => {
    process.env.NODE_ENV = env;
    const { logger, lines } = capture();
    build({ tokenTtl: 30, logger, mailer: new OutboxMailer({ logger: false }), store: undefined });
    const ttl = lines.warn.filter((line) => line.includes('"tokenTtl"'));
    expect(ttl).toHaveLength(1);
    expect(ttl[0]).toMatch(/"tokenTtl" is 30 ms .*'30m'/);
  });

  test('tokenTtl of a second or more, or as a string, draws no warning outside production', () => {
    process.env.NODE_ENV = 'development';
    const { logger, lines } = capture();
    build({ tokenTtl: 1000, logger });
    build({ tokenTtl: '30m', logger });
    expect(lines.warn).toEqual([]);
  });

  test('password.maxLength over 72 with bcrypt is refused, saying bcrypt refuses over 72 UTF-8 bytes', () => {
    let error: unknown;
    try {
      build({ password: { maxLength: 200 }, logger: false });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OptionsError);
    expect(error).toMatchObject({ option: 'password.maxLength', code: 'ERR_EPR_OPTION_INVALID' });
    expect((error as Error).message).toMatch(/at most 72 with bcrypt.*72 UTF-8 bytes.*"hashPassword"/);
    expect(() => build({ password: { maxLength: 72 }, logger: false })).not.toThrow();
  });

  test('with a custom hashPassword, password.maxLength may be over 72', () => {
    const hashPassword = async (password: string): Promise<string> => `plain:${password.length}`;
    expect(() =>
      build({ password: { maxLength: 200 }, hashPassword, bcryptRounds: undefined, logger: false }),
    ).not.toThrow();
  });

  test.each([
    [{ rateLimits: false }, 'options.rateLimits', 'rateLimit'],
    [{ resetURL: RESET_URL }, 'options.resetURL', 'resetUrl'],
    [{ hook: {} }, 'options.hook', 'hooks'],
    [{ password: { minLenght: 10 } }, 'password.minLenght', 'minLength'],
    [{ rateLimit: { perEmial: false } }, 'rateLimit.perEmial', 'perEmail'],
    [{ emails: { appname: 'Acme' } }, 'emails.appname', 'appName'],
  ])('a misspelled option %j suggests the right name', (overrides, option, meant) => {
    let error: unknown;
    try {
      build({ logger: false, ...(overrides as Partial<PasswordResetOptions>) });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ option });
    expect((error as Error).message).toContain(`did you mean '${meant}'?`);
  });

  test('an unknown option nothing resembles gets no suggestion', () => {
    expect(() => build({ logger: false, ...({ colour: 'red' } as Partial<PasswordResetOptions>) })).toThrow(
      /"options.colour" is not a known option; allowed:/,
    );
  });

  test('logger.error, when given, must be a function', () => {
    const logger = { warn: (): void => undefined, info: (): void => undefined, error: 'stderr' };
    expect(() => build({ logger: logger as unknown as Logger })).toThrow(/"logger.error" must be a function/);
  });
});

describe('the emails read right for short lifetimes and without an app name, in en, de and fr', () => {
  const LOCALES = [
    { locale: 'en', short: 'The link expires in less than a minute', minute: 'The link expires in 1 minute ' },
    {
      locale: 'de',
      short: 'Der Link ist weniger als eine Minute lang gültig',
      minute: 'Der Link ist eine Minute lang',
    },
    { locale: 'fr', short: 'Le lien expire dans moins d’une minute', minute: 'Le lien expire dans 1 minute ' },
  ];
  const accounts: User[] = LOCALES.map(({ locale }) => ({ id: locale, email: `${locale}@example.com`, locale }));

  async function resetEmails(options: Partial<PasswordResetOptions>): Promise<Map<string, EmailMessage>> {
    const { app, router } = build({ users: usersOf(accounts), logger: false, ...options });
    for (const account of accounts) await forgot(app, router, account.email);
    return new Map(accounts.map((account) => [account.locale!, router.outbox!.last(account.email)!]));
  }

  test('tokenTtl of 30 ms: "less than a minute", never "1 minute"', async () => {
    const emails = await resetEmails({ tokenTtl: 30 });
    for (const { locale, short } of LOCALES) {
      const email = emails.get(locale)!;
      expect(email.text).toContain(short);
      expect(email.html).toContain(short);
      expect(email.data.expiresInSeconds).toBe(0);
    }
  });

  test("tokenTtl '90s': 1 minute (rounded down, never promising more than the link lives)", async () => {
    const emails = await resetEmails({ tokenTtl: '90s' });
    for (const { locale, minute } of LOCALES) expect(emails.get(locale)!.text).toContain(minute);
  });

  test('the default (no appName): subjects and bodies without a placeholder name', async () => {
    const emails = await resetEmails({});
    expect(emails.get('en')!.subject).toBe('Reset your password');
    expect(emails.get('de')!.subject).toBe('Passwort zurücksetzen');
    expect(emails.get('fr')!.subject).toBe('Réinitialisation de votre mot de passe');
    expect(emails.get('en')!.text).toContain('reset the password of your account. Use the link');
    expect(emails.get('de')!.text).toContain('das Passwort Ihres Kontos zurückzusetzen.');
    expect(emails.get('fr')!.text).toContain('du mot de passe de votre compte. Utilisez');
    for (const email of emails.values()) {
      expect(email.data).not.toHaveProperty('appName');
      expect(`${email.subject}\n${email.text}\n${email.html}`).not.toMatch(/Your account|undefined| {2}/);
      expect(email.html).not.toContain('<h1');
    }
  });

  test('the default (no appName): the changed notice and the unknown-address email', () => {
    const renderer = new EmailRenderer(undefined);
    const expected = {
      en: ['Your password was changed', 'Password reset request', 'the password of the account for x@example.com,'],
      de: ['Ihr Passwort wurde geändert', 'Anfrage zum Zurücksetzen eines Passworts', 'Passworts angefordert, es'],
      fr: ['Votre mot de passe a été modifié', 'Demande de réinitialisation du mot de passe', 'du compte associé à'],
    };
    for (const [locale, [changedSubject, unknownSubject, unknownBody]] of Object.entries(expected)) {
      const changed = renderer.render('changed', 'x@example.com', { email: 'x@example.com', locale });
      const unknown = renderer.render('unknown', 'x@example.com', { email: 'x@example.com', locale });
      expect(changed.subject).toBe(changedSubject);
      expect(unknown.subject).toBe(unknownSubject);
      expect(unknown.text).toContain(unknownBody);
      for (const email of [changed, unknown]) expect(`${email.text}\n${email.html}`).not.toMatch(/undefined| {2}/);
    }
  });

  test('with an appName, it is used as before', async () => {
    const emails = await resetEmails({ emails: { appName: 'Acme' } });
    expect(emails.get('en')!.subject).toBe('Reset your Acme password');
    expect(emails.get('de')!.subject).toBe('Passwort für Acme zurücksetzen');
    expect(emails.get('fr')!.subject).toBe('Réinitialisation de votre mot de passe Acme');
  });
});
