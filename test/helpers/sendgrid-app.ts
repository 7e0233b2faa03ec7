/**
 * A real Express app with `passwordReset({ sendgrid: { ..., baseUrl } })`
 * pointed at a fake SendGrid, an in-memory user list and a recorded event log.
 */
import express from 'express';
import {
  passwordReset,
  type PasswordResetEvent,
  type PasswordResetOptions,
  type PasswordResetRouter,
  type SendGridOptions,
  type User,
} from '../../lib';
import { fakeSendGridKey, type FakeSendGrid } from './fake-sendgrid';

// Made up, but of SendGrid's shape: "SG." + 22 + "." + 43 base64url characters.
export const API_KEY = fakeSendGridKey('router');
export const RESET_URL = 'https://app.example/reset-password';

export interface SendGridApp {
  app: express.Express;
  router: PasswordResetRouter;
  events: PasswordResetEvent[];
  /** Password hashes stored by `updatePassword`, by user id. */
  passwords: Map<string, string>;
  /** Resolves with the first event of this type (waiting for it if needed). */
  event<T extends PasswordResetEvent['type']>(type: T): Promise<Extract<PasswordResetEvent, { type: T }>>;
}

export function buildApp(
  fake: FakeSendGrid,
  users: User[],
  options: { sendgrid?: Partial<SendGridOptions> } & Partial<Omit<PasswordResetOptions, 'sendgrid'>> = {},
): SendGridApp {
  const events: PasswordResetEvent[] = [];
  const listeners: Array<() => void> = [];
  const passwords = new Map<string, string>();
  const { sendgrid, ...rest } = options;
  const router = passwordReset({
    users: {
      findByEmail: async (email) => users.find((u) => u.email.toLowerCase() === email.toLowerCase()) ?? null,
      updatePassword: async (id, hash) => {
        passwords.set(id, hash);
      },
    },
    resetUrl: RESET_URL,
    sendgrid: {
      apiKey: API_KEY,
      from: 'Acme <no-reply@acme.example>',
      baseUrl: fake.url,
      retryDelayMs: 1,
      ...sendgrid,
    },
    emails: { appName: 'Acme' },
    rateLimit: false,
    bcryptRounds: 4,
    logger: false,
    hooks: {
      onEvent: (event) => {
        events.push(event);
        for (const listener of listeners.splice(0)) listener();
      },
    },
    ...rest,
  });
  const app = express();
  app.use('/auth/password', router);
  const event = <T extends PasswordResetEvent['type']>(type: T): Promise<Extract<PasswordResetEvent, { type: T }>> =>
    new Promise((resolve) => {
      const check = (): void => {
        const found = events.find((e) => e.type === type);
        if (found) resolve(found as Extract<PasswordResetEvent, { type: T }>);
        else listeners.push(check);
      };
      check();
    });
  return { app, router, events, passwords, event };
}

/** The token in a link inside a captured body. */
export function tokenIn(raw: string): string {
  const match = /token=([A-Za-z0-9_-]+)/.exec(raw);
  if (!match) throw new Error('no token in the body');
  return match[1]!;
}
