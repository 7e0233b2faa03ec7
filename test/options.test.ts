/**
 * Options are checked once, at construction: a mistake throws an
 * `OptionsError` that names the option and says what is allowed, and never
 * prints a secret. Development defaults under NODE_ENV=production warn once.
 */
import {
  OptionsError,
  OutboxMailer,
  MemoryTokenStore,
  passwordReset,
  type Logger,
  type PasswordResetOptions,
} from '../lib';
import { MemoryUsers, ADA, RESET_URL, createApp, type TestApp } from './helpers/create-app';

const users = new MemoryUsers([ADA]);
const valid = (): Record<string, unknown> => ({
  users,
  resetUrl: RESET_URL,
  bcryptRounds: 10,
  rateLimit: false,
  logger: false,
});
const noop = (): void => undefined;

/** [description, options (merged over valid ones; undefined deletes), option named in the error, error code]. */
const CASES: [string, Record<string, unknown>, string, string][] = [
  ['users missing', { users: undefined }, 'users', 'ERR_EPR_OPTION_REQUIRED'],
  ['users without updatePassword', { users: { findByEmail: noop } }, 'users', 'ERR_EPR_OPTION_INVALID'],
  ['users as a string', { users: 'users' }, 'users', 'ERR_EPR_OPTION_INVALID'],
  ['resetUrl missing', { resetUrl: undefined }, 'resetUrl', 'ERR_EPR_OPTION_REQUIRED'],
  ['resetUrl relative', { resetUrl: '/reset' }, 'resetUrl', 'ERR_EPR_OPTION_INVALID'],
  ['resetUrl with another scheme', { resetUrl: 'javascript:alert(1)' }, 'resetUrl', 'ERR_EPR_OPTION_INVALID'],
  ['resetUrl a number', { resetUrl: 42 }, 'resetUrl', 'ERR_EPR_OPTION_INVALID'],
  ['an unknown top-level option', { resetURL: RESET_URL }, 'options.resetURL', 'ERR_EPR_OPTION_INVALID'],
  ['tokenTtl in words', { tokenTtl: '30 minutes' }, 'tokenTtl', 'ERR_EPR_OPTION_INVALID'],
  ['tokenTtl zero', { tokenTtl: 0 }, 'tokenTtl', 'ERR_EPR_OPTION_INVALID'],
  ['tokenTtl over 7 days', { tokenTtl: '8d' }, 'tokenTtl', 'ERR_EPR_OPTION_INVALID'],
  ['tokenTtl negative', { tokenTtl: -60_000 }, 'tokenTtl', 'ERR_EPR_OPTION_INVALID'],
  ['password.minLength 0', { password: { minLength: 0 } }, 'password.minLength', 'ERR_EPR_OPTION_INVALID'],
  ['password.minLength a string', { password: { minLength: '8' } }, 'password.minLength', 'ERR_EPR_OPTION_INVALID'],
  [
    'password.minLength over maxLength',
    { password: { minLength: 20, maxLength: 10 } },
    'password.minLength',
    'ERR_EPR_OPTION_CONFLICT',
  ],
  ['password.minStrength 5', { password: { minStrength: 5 } }, 'password.minStrength', 'ERR_EPR_OPTION_INVALID'],
  [
    'password.blockCommon a string',
    { password: { blockCommon: 'yes' } },
    'password.blockCommon',
    'ERR_EPR_OPTION_INVALID',
  ],
  [
    'password.isBreached not a function',
    { password: { isBreached: true } },
    'password.isBreached',
    'ERR_EPR_OPTION_INVALID',
  ],
  ['an unknown password option', { password: { minLen: 8 } }, 'password.minLen', 'ERR_EPR_OPTION_INVALID'],
  ['bcryptRounds 3', { bcryptRounds: 3 }, 'bcryptRounds', 'ERR_EPR_OPTION_INVALID'],
  ['bcryptRounds 32', { bcryptRounds: 32 }, 'bcryptRounds', 'ERR_EPR_OPTION_INVALID'],
  ['bcryptRounds 10.5', { bcryptRounds: 10.5 }, 'bcryptRounds', 'ERR_EPR_OPTION_INVALID'],
  ['bcryptRounds with hashPassword', { hashPassword: async () => 'x' }, 'bcryptRounds', 'ERR_EPR_OPTION_CONFLICT'],
  [
    'hashPassword not a function',
    { bcryptRounds: undefined, hashPassword: 'sha1' },
    'hashPassword',
    'ERR_EPR_OPTION_INVALID',
  ],
  ['rateLimit true', { rateLimit: true }, 'rateLimit', 'ERR_EPR_OPTION_INVALID'],
  [
    'rateLimit.forgot.limit 0',
    { rateLimit: { forgot: { windowMs: 60_000, limit: 0 } } },
    'rateLimit.forgot.limit',
    'ERR_EPR_OPTION_INVALID',
  ],
  [
    'rateLimit.verify.windowMs 10',
    { rateLimit: { verify: { windowMs: 10, limit: 5 } } },
    'rateLimit.verify.windowMs',
    'ERR_EPR_OPTION_INVALID',
  ],
  ['rateLimit.store an instance', { rateLimit: { store: {} } }, 'rateLimit.store', 'ERR_EPR_OPTION_INVALID'],
  ['an unknown rateLimit option', { rateLimit: { login: false } }, 'rateLimit.login', 'ERR_EPR_OPTION_INVALID'],
  ['code.enabled missing', { code: { digits: 6 } }, 'code.enabled', 'ERR_EPR_OPTION_INVALID'],
  ['code.digits 3', { code: { enabled: true, digits: 3 } }, 'code.digits', 'ERR_EPR_OPTION_INVALID'],
  ['code.maxAttempts 0', { code: { enabled: true, maxAttempts: 0 } }, 'code.maxAttempts', 'ERR_EPR_OPTION_INVALID'],
  ['hooks.onEvent a string', { hooks: { onEvent: 'console.log' } }, 'hooks.onEvent', 'ERR_EPR_OPTION_INVALID'],
  [
    'hooks.onPasswordReset an object',
    { hooks: { onPasswordReset: {} } },
    'hooks.onPasswordReset',
    'ERR_EPR_OPTION_INVALID',
  ],
  ['emails.appName empty', { emails: { appName: '' } }, 'emails.appName', 'ERR_EPR_OPTION_INVALID'],
  [
    'emails.sendChangedNotice a string',
    { emails: { sendChangedNotice: 'no' } },
    'emails.sendChangedNotice',
    'ERR_EPR_OPTION_INVALID',
  ],
  [
    'an unknown template kind',
    { emails: { templates: { welcome: { subject: 'Hi' } } } },
    'emails.templates.welcome',
    'ERR_EPR_OPTION_INVALID',
  ],
  [
    'a template subject a number',
    { emails: { templates: { reset: { subject: 5 } } } },
    'emails.templates.reset.subject',
    'ERR_EPR_OPTION_INVALID',
  ],
  [
    'a template html a string',
    { emails: { templates: { reset: { html: '<p>hi</p>' } } } },
    'emails.templates.reset.html',
    'ERR_EPR_OPTION_INVALID',
  ],
  ['store without the TokenStore methods', { store: { get: noop } }, 'store', 'ERR_EPR_OPTION_INVALID'],
  [
    'store and mongoose together',
    { store: new MemoryTokenStore(), mongoose: { connection: { model: noop } } },
    'store',
    'ERR_EPR_OPTION_CONFLICT',
  ],
  ['mongoose without a connection', { mongoose: {} }, 'mongoose.connection', 'ERR_EPR_OPTION_INVALID'],
  ['mailer without send', { mailer: { deliver: noop } }, 'mailer', 'ERR_EPR_OPTION_INVALID'],
  // `sendgrid: process.env.KEY && {...}` with no key must fail at start-up, not fall back to the outbox.
  ['sendgrid null', { sendgrid: null }, 'sendgrid', 'ERR_EPR_OPTION_INVALID'],
  ['sendgrid an empty string', { sendgrid: '' }, 'sendgrid', 'ERR_EPR_OPTION_INVALID'],
  [
    'mailer and sendgrid together',
    { mailer: new OutboxMailer({ logger: false }), sendgrid: { apiKey: 'SG.x', from: 'a@b.example' } },
    'mailer',
    'ERR_EPR_OPTION_CONFLICT',
  ],
  ['logger without warn', { logger: { info: noop } }, 'logger', 'ERR_EPR_OPTION_INVALID'],
  ['now not a function', { now: new Date() }, 'now', 'ERR_EPR_OPTION_INVALID'],
  ['openapi a string', { openapi: 'yes' }, 'openapi', 'ERR_EPR_OPTION_INVALID'],
];

function build(overrides: Record<string, unknown>): unknown {
  const options = { ...valid(), ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete options[key];
  try {
    passwordReset(options as unknown as PasswordResetOptions);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('bad options fail at construction with an OptionsError naming the option', () => {
  test.each(CASES)('%s', (_name, overrides, option, code) => {
    const error = build(overrides);
    expect(error).toBeInstanceOf(OptionsError);
    expect(error).toMatchObject({ name: 'OptionsError', option, code });
    const message = (error as OptionsError).message;
    expect(message).toContain(`"${option}"`);
    // Says what is allowed, not just that something is wrong.
    expect(message).toMatch(/must|required|allowed|cannot|not a known|has no effect/);
  });

  test('the valid baseline builds (so the cases above fail for their own reason)', () => {
    expect(build({})).toBeUndefined();
  });

  test('options typed wrong at compile time are also caught at run time, with the value described', () => {
    const error = build({ code: { enabled: 'yes' } }) as OptionsError;
    expect(error.message).toContain('a string of length 3');
  });

  test('an error never prints a secret value', () => {
    const apiKey = ['SG', 'very-secret-api-key-value'].join('.');
    const errors = [
      build({ mailer: undefined, sendgrid: { apiKey, from: 'a@b.example', colour: apiKey } }),
      build({ resetUrl: { apiKey } }),
      build({ emails: { appName: 42, secret: apiKey } }),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(OptionsError);
      expect(String((error as Error).message)).not.toContain(apiKey);
    }
  });

  test('every valid form of the options builds', () => {
    const variants: Record<string, unknown>[] = [
      { resetUrl: (token: string) => `https://app.example/r/${token}` },
      { tokenTtl: '1h' },
      { tokenTtl: '90s' },
      { tokenTtl: 15 * 60_000 },
      {
        password: {
          minLength: 12,
          maxLength: 72,
          minStrength: 3,
          blockCommon: false,
          isBreached: () => false,
          validate: () => true,
        },
      },
      { password: { maxLength: 128 }, bcryptRounds: undefined, hashPassword: async () => 'hash' },
      {
        rateLimit: {
          forgot: { windowMs: 60_000, limit: 3 },
          verify: false,
          perEmail: { windowMs: 3_600_000, limit: 2 },
        },
      },
      { rateLimit: undefined },
      { code: { enabled: true, digits: 8, maxAttempts: 3 } },
      { code: { enabled: false } },
      {
        emails: {
          appName: 'Acme',
          sendChangedNotice: false,
          notifyUnknown: true,
          templates: { reset: { subject: 'Reset', text: () => 't' }, changed: { de: { subject: 'Geändert' } } },
        },
      },
      { hooks: { onEvent: noop, onPasswordReset: noop } },
      { bcryptRounds: undefined, hashPassword: async () => 'hash' },
      { store: new MemoryTokenStore(), mailer: new OutboxMailer({ logger: false }) },
      { now: () => new Date() },
    ];
    for (const variant of variants) expect(build(variant)).toBeUndefined();
  });
});

describe('production warning', () => {
  const original = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = original;
  });

  function capture(): Logger & { warnings: string[] } {
    const warnings: string[] = [];
    return { warnings, warn: (message) => warnings.push(message), info: noop };
  }

  test('under NODE_ENV=production, the memory store and the outbox are named in one warning, logged once', async () => {
    process.env.NODE_ENV = 'production';
    const logger = capture();
    let t: TestApp | undefined;
    try {
      t = await createApp({ options: { store: undefined, mailer: undefined, logger } });
      expect(logger.warnings).toHaveLength(1);
      const [warning] = logger.warnings;
      expect(warning).toMatch(/NODE_ENV=production/);
      expect(warning).toMatch(/"mongoose" or "store"/);
      expect(warning).toMatch(/"sendgrid" or "mailer"/);
      // Requests do not repeat it.
      await t.forgot(ADA.email);
      await t.post('/verify', { token: 'abc' });
      expect(logger.warnings).toHaveLength(1);
    } finally {
      await t?.close();
    }
  });

  test('only what is missing is named', () => {
    process.env.NODE_ENV = 'production';
    const logger = capture();
    void passwordReset({
      ...(valid() as unknown as PasswordResetOptions),
      store: new MemoryTokenStore(),
      logger,
    }).close();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).not.toMatch(/"mongoose" or "store"/);
    expect(logger.warnings[0]).toMatch(/"sendgrid" or "mailer"/);
  });

  test('no warning with a store and a mailer, or outside production', () => {
    process.env.NODE_ENV = 'production';
    const logger = capture();
    void passwordReset({
      ...(valid() as unknown as PasswordResetOptions),
      store: new MemoryTokenStore(),
      mailer: new OutboxMailer({ logger: false }),
      logger,
    }).close();
    process.env.NODE_ENV = 'development';
    void passwordReset({ ...(valid() as unknown as PasswordResetOptions), logger }).close();
    expect(logger.warnings).toEqual([]);
  });

  test('a test-grade bcrypt cost is accepted, and named in the production warning', () => {
    process.env.NODE_ENV = 'production';
    const logger = capture();
    void passwordReset({
      ...(valid() as unknown as PasswordResetOptions),
      bcryptRounds: 4,
      store: new MemoryTokenStore(),
      mailer: new OutboxMailer({ logger: false }),
      logger,
    }).close();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/"bcryptRounds" is 4/);
  });

  test('a test-grade token lifetime is accepted, and named in the production warning', () => {
    process.env.NODE_ENV = 'production';
    const logger = capture();
    void passwordReset({
      ...(valid() as unknown as PasswordResetOptions),
      tokenTtl: 30,
      store: new MemoryTokenStore(),
      mailer: new OutboxMailer({ logger: false }),
      logger,
    }).close();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/"tokenTtl" is 30 ms/);
  });

  test('logger: false silences it', () => {
    process.env.NODE_ENV = 'production';
    const warn = jest.spyOn(console, 'warn').mockImplementation(noop);
    try {
      void passwordReset(valid() as unknown as PasswordResetOptions).close();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});
