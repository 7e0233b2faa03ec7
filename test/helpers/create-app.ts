/**
 * Builds a real Express app around `passwordReset()` for the tests: seeded
 * in-memory users, a `MemoryTokenStore` and an `OutboxMailer` the test can
 * inspect, every `onEvent` event and logger line captured, and a way to wait
 * for the work `/forgot` does after it has answered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import {
  MemoryTokenStore,
  OutboxMailer,
  passwordReset,
  type EmailMessage,
  type Logger,
  type PasswordResetEvent,
  type PasswordResetOptions,
  type PasswordResetRouter,
  type User,
  type UserAdapter,
} from '../../lib';

/** A new password every default policy accepts. */
export const GOOD_PASSWORD = 'correct horse battery staple';
export const RESET_URL = 'https://app.example/reset-password';
/** The `secret` of test apps: the helper passes its own `store`, and with the code flow that needs one. */
export const TEST_SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';

/** One seeded user, with the password hash the adapter stores for it. */
export interface SeedUser extends User {
  passwordHash?: string;
}

export const ADA: SeedUser = { id: 'u1', email: 'ada@example.com', name: 'Ada' };
export const GRACE: SeedUser = { id: 'u2', email: 'grace@example.com', name: 'Grace' };

/** A user adapter over an array, matching addresses case-insensitively as the `UserAdapter` docs ask. */
export class MemoryUsers implements UserAdapter {
  readonly users: SeedUser[];
  /** Every `updatePassword` call, in order. */
  readonly updates: { id: string; passwordHash: string }[] = [];

  constructor(seed: SeedUser[]) {
    this.users = seed.map((user) => ({ ...user }));
  }

  async findByEmail(email: string): Promise<User | null> {
    const user = this.users.find((candidate) => candidate.email.toLowerCase() === email.toLowerCase());
    if (!user) return null;
    const { passwordHash: _hash, ...visible } = user;
    return visible;
  }

  async updatePassword(id: string, passwordHash: string): Promise<void> {
    const user = this.users.find((candidate) => candidate.id === id);
    if (!user) throw new Error(`no user ${id}`);
    user.passwordHash = passwordHash;
    this.updates.push({ id, passwordHash });
  }

  hashOf(id: string): string | undefined {
    return this.users.find((user) => user.id === id)?.passwordHash;
  }
}

export interface LogLine {
  level: 'warn' | 'info';
  message: string;
}

export type EventMatcher = (event: PasswordResetEvent) => boolean;

export interface CreateAppOptions {
  /**
   * Merged over the test defaults (`bcryptRounds: 4`, `rateLimit: false`, captured logger, `TEST_SECRET`, the
   * helper's store and mailer).
   */
  options?: Partial<PasswordResetOptions>;
  /** Seeded users. @default [ADA, GRACE] */
  users?: SeedUser[];
  /** The express module to build the app with (Express 4 is `require('express4')`). @default express 5 */
  express?: typeof import('express');
  /** Where the router is mounted. @default '/auth/password' */
  mountPath?: string;
  /** Runs before the router is mounted: `trust proxy`, an app-level `express.json()`, ... */
  configure?: (app: Express) => void;
  /** Mounts the router itself instead of `app.use(mountPath, router)` (nested routers). */
  mount?: (app: Express, router: PasswordResetRouter) => void;
}

export interface TestApp {
  app: Express;
  router: PasswordResetRouter;
  /** The running HTTP server (one per test app, on an ephemeral port). */
  server: Server;
  mountPath: string;
  users: MemoryUsers;
  store: MemoryTokenStore;
  mailer: OutboxMailer;
  events: PasswordResetEvent[];
  logs: LogLine[];
  logger: Logger;
  /** The options `passwordReset()` was built with. */
  options: PasswordResetOptions;
  /** `POST <mountPath><path>` with a JSON body (or no body when `body` is undefined). */
  post(path: string, body?: string | object): request.Test;
  /** Resolves with the first event (at index `from` or later) that matches; rejects after 5 s with the events seen. */
  waitForEvent(match: EventMatcher, from?: number): Promise<PasswordResetEvent>;
  /** `POST /forgot`, then waits until the background work behind the 202 has finished. */
  forgot(email: string): Promise<request.Response>;
  /** `POST /forgot` for a known address and returns the token of the link that was emailed. */
  requestToken(email?: string): Promise<string>;
  /** Stops the router (timers, background work) and the server. */
  close(): Promise<void>;
}

/** The token in a reset email's link. */
export function tokenOf(message: EmailMessage | undefined): string {
  const link = message?.data.resetUrl;
  const match = link === undefined ? null : /[?#&]token=([A-Za-z0-9_-]+)/.exec(link);
  if (!match) throw new Error('no reset link with a token in the message');
  return match[1]!;
}

/** Is this event the last thing the background work of one `/forgot` does? */
function endsForgot(notifyUnknown: boolean): EventMatcher {
  return (event) => {
    switch (event.type) {
      case 'email.sent':
      case 'email.failed':
        return event.kind === 'reset' || event.kind === 'unknown';
      case 'reset.unknown_email':
        return !notifyUnknown;
      case 'reset.skipped':
        return true;
      case 'rate_limited':
        return event.limiter === 'perEmail';
      case 'error':
        return event.stage === 'forgot' || event.stage === 'allowReset';
      default:
        return false;
    }
  };
}

export async function createApp(setup: CreateAppOptions = {}): Promise<TestApp> {
  const expressModule = setup.express ?? (await import('express')).default;
  const mountPath = setup.mountPath ?? '/auth/password';
  const users = new MemoryUsers(setup.users ?? [ADA, GRACE]);
  const logs: LogLine[] = [];
  const logger: Logger = {
    warn: (message) => logs.push({ level: 'warn', message }),
    info: (message) => logs.push({ level: 'info', message }),
  };
  const now = setup.options?.now;
  const store = new MemoryTokenStore(now ? { now: () => now().getTime() } : {});
  const mailer = new OutboxMailer({ logger });
  const events: PasswordResetEvent[] = [];
  const waiters = new Set<{ match: EventMatcher; resolve: (event: PasswordResetEvent) => void }>();
  const userOnEvent = setup.options?.hooks?.onEvent;

  const options: PasswordResetOptions = {
    users,
    resetUrl: RESET_URL,
    store,
    mailer,
    bcryptRounds: 4,
    rateLimit: false,
    logger,
    secret: TEST_SECRET,
    ...setup.options,
    hooks: {
      ...setup.options?.hooks,
      // Record first, then hand over: a test's throwing onEvent must not hide events from waitForEvent.
      onEvent: (event) => {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.match(event)) {
            waiters.delete(waiter);
            waiter.resolve(event);
          }
        }
        return userOnEvent?.(event);
      },
    },
  };

  const router = passwordReset(options);
  const app = expressModule();
  setup.configure?.(app);
  if (setup.mount) setup.mount(app, router);
  else app.use(mountPath, router);
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const waitForEvent = (match: EventMatcher, from = 0): Promise<PasswordResetEvent> => {
    const seen = events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (event: PasswordResetEvent) => {
          clearTimeout(timer);
          resolve(event);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`event not seen; events so far: ${events.map((event) => event.type).join(', ')}`));
      }, 5000);
      waiters.add(waiter);
    });
  };

  const post = (path: string, body?: string | object): request.Test => {
    const test = request(`http://127.0.0.1:${port}`).post(`${mountPath}${path}`);
    if (body === undefined) return test;
    return typeof body === 'string' ? test.set('Content-Type', 'application/json').send(body) : test.send(body);
  };

  const forgotDone = endsForgot(options.emails?.notifyUnknown ?? false);
  const forgot = async (email: string): Promise<request.Response> => {
    const from = events.length;
    // The request step where `routes` put it; with `respond` its success may be any 2xx.
    const response = await post(options.routes?.forgot || '/forgot', { email });
    if (response.status >= 200 && response.status < 300) await waitForEvent(forgotDone, from);
    return response;
  };

  const requestToken = async (email = ADA.email): Promise<string> => {
    const from = mailer.messages.length;
    const response = await forgot(email);
    if (response.status < 200 || response.status > 299) throw new Error(`/forgot answered ${response.status}`);
    const message = mailer.messages
      .slice(from)
      .find((m) => m.kind === 'reset' && m.to.toLowerCase() === email.toLowerCase());
    return tokenOf(message);
  };

  const close = async (): Promise<void> => {
    await router.close();
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };

  return {
    app,
    router,
    server,
    mountPath,
    users,
    store,
    mailer,
    events,
    logs,
    logger,
    options,
    post,
    waitForEvent,
    forgot,
    requestToken,
    close,
  };
}

/** A promise with its resolve function outside, for adapters and mailers a test holds back. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A clock a test moves by hand. */
export function manualClock(start = Date.parse('2030-01-01T00:00:00Z')): {
  now: () => Date;
  advance: (ms: number) => void;
} {
  let current = start;
  return {
    now: () => new Date(current),
    advance: (ms) => {
      current += ms;
    },
  };
}
