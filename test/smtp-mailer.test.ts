/**
 * Issue 16.2: nodemailer as the `Mailer` (examples/smtp-mailer.ts, quoted in the README's "SMTP with nodemailer"),
 * driven through the real router (`/forgot` with supertest, then `router.settled()`), against a real SMTP server
 * (smtp-server) on a free port. What arrives is parsed with mailparser.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import request from 'supertest';
import {
  passwordReset,
  type EmailMessage,
  type Mailer,
  type PasswordResetEvent,
  type PasswordResetOptions,
  type PasswordResetRouter,
} from '../lib';
import { smtpMailer } from '../examples/smtp-mailer';
import { MemoryUsers, RESET_URL, type SeedUser } from './helpers/create-app';

const FROM = 'Acme Accounts <no-reply@acme.example>';
const ADA: SeedUser = { id: 'u1', email: 'ada@example.com', name: 'Ada' };
const MALLORY: SeedUser = { id: 'u2', email: 'mallory@example.com', name: '<img src=x onerror=alert(1)>' };
const REFUSED: SeedUser = { id: 'u3', email: 'refused@example.com', name: 'Refused' };

interface Received {
  envelopeTo: string[];
  mail: ParsedMail;
}

let smtp: SMTPServer;
let port: number;
const received: Received[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address !== REFUSED.email) return callback();
      callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push({ envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address), mail });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((listening) => smtp.listen(0, '127.0.0.1', listening));
  port = (smtp.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((closed) => smtp.close(closed)));
beforeEach(() => {
  received.length = 0;
});

interface Running {
  app: express.Express;
  router: PasswordResetRouter;
  events: PasswordResetEvent[];
  logs: string[];
  /** What the router handed the mailer (the secrets the test then looks for elsewhere). */
  handed: EmailMessage[];
}

const routers: PasswordResetRouter[] = [];
afterEach(async () => {
  for (const router of routers.splice(0)) await router.close();
});

function start(options: Partial<PasswordResetOptions> = {}, { onEvent = true } = {}): Running {
  const events: PasswordResetEvent[] = [];
  const logs: string[] = [];
  const handed: EmailMessage[] = [];
  const smtpAdapter = smtpMailer({ host: '127.0.0.1', port, secure: false, ignoreTLS: true }, FROM);
  const mailer: Mailer = {
    send: (message) => {
      handed.push(message);
      return smtpAdapter.send(message);
    },
    close: () => smtpAdapter.close!(),
  };
  const router = passwordReset({
    users: new MemoryUsers([ADA, MALLORY, REFUSED]),
    mailer,
    resetUrl: RESET_URL,
    bcryptRounds: 4,
    rateLimit: false,
    logger: {
      error: (line) => logs.push(`error: ${line}`),
      warn: (line) => logs.push(`warn: ${line}`),
      info: (line) => logs.push(`info: ${line}`),
    },
    ...(onEvent ? { hooks: { onEvent: (event) => void events.push(event) } } : {}),
    ...options,
  });
  routers.push(router);
  return { app: express().use('/auth', router), router, events, logs, handed };
}

async function forgot(running: Running, email: string): Promise<void> {
  await request(running.app).post('/auth/forgot').send({ email }).expect(202);
  await running.router.settled();
}

/** The `href` of the one link in an HTML body, unescaped as a browser reads it. */
function hrefOf(html: string): string {
  const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
  expect(hrefs).toHaveLength(1);
  return hrefs[0]!;
}

test('the reset email arrives over SMTP: From, To, Subject, a text and an HTML part, one working link', async () => {
  const running = start({ emails: { appName: 'Acme' } });
  await forgot(running, ADA.email);

  expect(received).toHaveLength(1);
  const { envelopeTo, mail } = received[0]!;
  expect(envelopeTo).toEqual([ADA.email]);
  expect(mail.from?.value).toEqual([{ name: 'Acme Accounts', address: 'no-reply@acme.example' }]);
  expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : []).toEqual([{ name: '', address: ADA.email }]);
  expect(mail.subject).toBe('Reset your Acme password');
  expect(mail.text).toContain('Hello Ada,');
  expect(mail.html).toEqual(expect.stringContaining('<h1'));

  const link = /https:\S+/.exec(mail.text ?? '')?.[0];
  expect(link).toMatch(new RegExp(`^${RESET_URL}\\?token=[A-Za-z0-9_-]{43}$`));
  expect(hrefOf(mail.html || '')).toBe(link);
  expect(running.events).toContainEqual(expect.objectContaining({ type: 'email.sent', kind: 'reset', to: ADA.email }));
  // The link that crossed SMTP is the live one.
  const token = new URL(link!).searchParams.get('token');
  await request(running.app).post('/auth/verify').send({ token }).expect(200);
});

test('user-influenced text is HTML-escaped in the HTML part, as typed in the text part and subject', async () => {
  const appName = 'Ben & Jerry <script>alert(1)</script>';
  const running = start({ emails: { appName } });
  await forgot(running, MALLORY.email);

  expect(received).toHaveLength(1);
  const { mail } = received[0]!;
  const html = mail.html || '';
  expect(html).not.toContain('<script>');
  expect(html).not.toContain('<img src=x');
  expect(html).toContain('Ben &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt;');
  expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  expect(mail.subject).toBe(`Reset your ${appName} password`);
  expect(mail.text).toContain(appName);
  expect(mail.text).toContain('Hello <img src=x onerror=alert(1)>,');
});

test('a refused RCPT is an email.failed event, or a logger.error line without onEvent, nothing secret', async () => {
  const withHook = start({ emails: { appName: 'Acme' } });
  const withoutHook = start({ emails: { appName: 'Acme' } }, { onEvent: false });
  await forgot(withHook, REFUSED.email);
  await forgot(withoutHook, REFUSED.email);

  expect(received).toHaveLength(0);
  const failed = withHook.events.filter((event) => event.type === 'email.failed');
  expect(failed).toEqual([
    expect.objectContaining({
      type: 'email.failed',
      kind: 'reset',
      to: REFUSED.email,
      userId: REFUSED.id,
      error: expect.objectContaining({ message: expect.stringContaining('550') }),
    }),
  ]);
  expect(withHook.events.some((event) => event.type === 'email.sent')).toBe(false);
  const errors = withoutHook.logs.filter((line) => line.startsWith('error: '));
  expect(errors).toEqual([expect.stringMatching(/"reset" email for user u3 was not delivered: .*550/)]);

  // The secrets the mailer was handed (link, token) appear in neither.
  const handed = [...withHook.handed, ...withoutHook.handed];
  expect(handed).toHaveLength(2);
  const said = JSON.stringify([withHook.events, withHook.logs, withoutHook.logs]);
  for (const message of handed) {
    const link = message.data.resetUrl!;
    expect(said).not.toContain(link);
    expect(said).not.toContain(new URL(link).searchParams.get('token'));
  }
});
