/**
 * README guarantee 7: tokens, codes and passwords (and the links that carry
 * tokens) never appear in logs, console output or events, whatever happens:
 * success, refusals, failing dependencies, failing hooks.
 */
import { inspect } from 'node:util';
import { OutboxMailer, type EmailMessage, type Mailer, type PasswordResetOptions } from '../lib';
import { ADA, GOOD_PASSWORD, GRACE, createApp, tokenOf, type TestApp } from './helpers/create-app';

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Everything a test app could have written anywhere an operator might read. */
function captureConsole(): { lines: unknown[][]; restore: () => void } {
  const lines: unknown[][] = [];
  const spies = CONSOLE_METHODS.map((method) =>
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(args);
    }),
  );
  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

function everything(t: TestApp, consoleLines: unknown[][]): string {
  return [
    ...t.logs.map((line) => line.message),
    ...t.events.map((event) => inspect(event, { depth: Infinity })),
    ...consoleLines.map((args) => inspect(args, { depth: Infinity })),
  ].join('\n');
}

/** The secrets a test used: every token, code and link emailed, every password tried, every hash stored. */
function secretsOf(t: TestApp, passwords: string[]): string[] {
  const fromEmails = t.mailer.messages.flatMap((message) => secretsOfMessage(message));
  return [...new Set([...fromEmails, ...passwords, ...t.users.updates.map((update) => update.passwordHash)])];
}

function secretsOfMessage(message: EmailMessage): string[] {
  if (message.kind !== 'reset') return [];
  return [message.data.resetUrl!, tokenOf(message), ...(message.data.code ? [message.data.code] : [])];
}

function expectNoSecret(haystack: string, secrets: string[]): void {
  expect(secrets.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    if (haystack.includes(secret)) throw new Error(`a secret of length ${secret.length} leaked into logs or events`);
  }
}

let t: TestApp | undefined;
let consoleCapture: ReturnType<typeof captureConsole>;
beforeEach(() => {
  consoleCapture = captureConsole();
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  consoleCapture.restore();
});

/** A mailer that fails the way careless delivery code does: with the whole message in its error. */
class EchoingFailingMailer implements Mailer {
  readonly attempted: EmailMessage[] = [];
  async send(message: EmailMessage): Promise<void> {
    this.attempted.push(message);
    throw new Error(`delivery refused: ${message.subject}\n${message.text}\n${message.html}`);
  }
}

describe('no token, code, link or password in logs, console or events', () => {
  test('the link flow: success, reuse, rejected passwords, unknown tokens, unknown address', async () => {
    t = await createApp({
      options: { password: { validate: (password) => (password.includes('42') ? 'No 42.' : true) } },
    });
    const passwords = [GOOD_PASSWORD, 'iloveyou', 'short', 'the answer is 42 always', 'another good passphrase'];
    const token = await t.requestToken();
    await t.post('/verify', { token });
    await t.post('/reset', { token, password: 'iloveyou' });
    await t.post('/reset', { token, password: 'short' });
    await t.post('/reset', { token, newPassword: 'the answer is 42 always' });
    await t.post('/reset', { token, password: GOOD_PASSWORD });
    await t.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'changed');
    await t.post('/reset', { token, password: 'another good passphrase' });
    await t.post('/verify', { token });
    await t.post('/verify', { token: `${token}x` });
    await t.forgot('nobody@example.com');

    expect(t.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'reset.requested',
        'password.rejected',
        'reset.completed',
        'verify.failed',
        'reset.unknown_email',
      ]),
    );
    expectNoSecret(everything(t, consoleCapture.lines), secretsOf(t, passwords));
  });

  test('the code flow: wrong codes, lock-out, a new code, a reset by code', async () => {
    t = await createApp({ options: { code: { enabled: true, maxAttempts: 3 } } });
    await t.forgot(GRACE.email);
    const graceCode = t.mailer.last()!.data.code!;
    await t.post('/reset', { email: GRACE.email, code: graceCode, password: GOOD_PASSWORD });

    await t.forgot(ADA.email);
    const code = t.mailer.last()!.data.code!;
    const wrongCodes = ['000000', '999999', '123456'].filter((guess) => guess !== code);
    for (const guess of wrongCodes) await t.post('/verify', { email: ADA.email, code: guess });
    await t.post('/verify', { email: ADA.email, code });
    await t.forgot(ADA.email);
    await t.post('/reset', { email: ADA.email, code: t.mailer.last()!.data.code!, password: 'a fine new password' });

    expect(t.events.map((e) => e.type)).toEqual(expect.arrayContaining(['code.locked', 'reset.completed']));
    expectNoSecret(everything(t, consoleCapture.lines), secretsOf(t, [GOOD_PASSWORD, 'a fine new password']));
  });

  test('a mailer that fails with the whole message in its error', async () => {
    const mailer = new EchoingFailingMailer();
    t = await createApp({ options: { mailer, code: { enabled: true } } });
    await t.forgot(ADA.email);
    const failed = t.events.find((e) => e.type === 'email.failed');
    expect(failed).toBeDefined();
    const secrets = mailer.attempted.flatMap((message) => secretsOfMessage(message));
    expect(secrets).toHaveLength(3);
    expectNoSecret(everything(t, consoleCapture.lines), secrets);
  });

  test('dependencies and hooks that fail with secrets in their errors', async () => {
    let stored = '';
    const options: Partial<PasswordResetOptions> = {
      users: {
        findByEmail: async (email) => (email === ADA.email ? { id: ADA.id, email: ADA.email } : null),
        updatePassword: async (_id, hash) => {
          stored = hash;
          throw new Error(`write conflict storing ${hash}`);
        },
      },
      hooks: {
        onEvent: (event) => {
          throw new Error(`audit log down, dropped ${JSON.stringify(event)}`);
        },
      },
    };
    t = await createApp({ options });
    const token = await t.requestToken();
    const response = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(response.status).toBe(503);
    expect(stored).toMatch(/^\$2b\$/);
    expect(t.logs.some((line) => line.message.includes('onEvent'))).toBe(true);
    expectNoSecret(everything(t, consoleCapture.lines) + JSON.stringify(response.body), [
      token,
      GOOD_PASSWORD,
      stored,
      t.mailer.last()!.data.resetUrl!,
    ]);
  });

  test.each([
    [
      'isBreached',
      {
        password: {
          isBreached: (password: string) => {
            throw new Error(`breach API refused ${password}`);
          },
        },
      },
    ],
    [
      'validate',
      {
        password: {
          validate: async (password: string) => {
            throw new Error(`rule engine choked on ${password}`);
          },
        },
      },
    ],
    [
      'hashPassword',
      {
        bcryptRounds: undefined,
        hashPassword: async (password: string) => {
          throw new Error(`KMS refused to hash ${password}`);
        },
      },
    ],
    [
      'onPasswordReset',
      {
        hooks: {
          onPasswordReset: (_user: unknown, req: { body: unknown }) => {
            throw new Error(`session store down, request was ${JSON.stringify(req.body)}`);
          },
        },
      },
    ],
  ] as [string, Partial<PasswordResetOptions>][])(
    'app code (%s) that fails with the password in its error',
    async (_name, options) => {
      t = await createApp({ options });
      const token = await t.requestToken();
      // A compatibility form, so both the typed and the normalized password are looked for.
      const typed = 'ｃｏｒｒｅｃｔ horse battery staple';
      await t.post('/reset', { token, password: typed });
      expect(t.events.some((e) => e.type === 'error')).toBe(true);
      expectNoSecret(everything(t, consoleCapture.lines), [token, typed, typed.normalize('NFKC')]);
    },
  );

  test('the default console logger and the default outbox log no secret', async () => {
    t = await createApp({ options: { logger: undefined, mailer: new OutboxMailer(), store: undefined } });
    const outbox = t.options.mailer as OutboxMailer;
    await t.forgot(ADA.email);
    const token = tokenOf(outbox.last());
    await t.post('/reset', { token, password: 'iloveyou' });
    await t.post('/reset', { token, password: GOOD_PASSWORD });
    await t.waitForEvent((e) => e.type === 'email.sent' && e.kind === 'changed');

    const printed = consoleCapture.lines.map((args) => inspect(args)).join('\n');
    expect(printed).toContain('outbox'); // the outbox did say something: the check below has teeth
    expectNoSecret(everything(t, consoleCapture.lines), [
      token,
      outbox.messages[0]!.data.resetUrl!,
      GOOD_PASSWORD,
      'iloveyou',
    ]);
  });

  test('error answers carry no secret either', async () => {
    t = await createApp();
    const token = await t.requestToken();
    const answers = [
      await t.post('/reset', { token, password: 'iloveyou' }),
      await t.post('/reset', { token, password: 'x'.repeat(80) }),
      await t.post('/reset', { token: 5, password: GOOD_PASSWORD }),
      await t.post('/reset', { token, password: GOOD_PASSWORD, extra: GOOD_PASSWORD }),
      await t.post('/verify', { token: `${token}!` }),
    ];
    expectNoSecret(answers.map((answer) => answer.text).join('\n'), [token, 'iloveyou', 'x'.repeat(80), GOOD_PASSWORD]);
  });
});
