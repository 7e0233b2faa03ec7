/**
 * What the five compat examples share: the options an app (or a test) brings
 * (users, and optionally its store, mailer and limits), and running one as a
 * server with a seeded user and the outbox when a file is executed directly.
 */
import type { Express } from 'express';
import { OutboxMailer, type PasswordResetOptions, type PasswordResetRouter, type User } from '../../lib';
import { exitWith, listen } from '../listen';

/** What an example leaves to the app: who the users are, and optionally where tokens, mail and limits live. */
export type CompatDeps = Pick<PasswordResetOptions, 'users'> &
  Partial<
    Pick<PasswordResetOptions, 'store' | 'mailer' | 'rateLimit' | 'bcryptRounds' | 'logger' | 'secret' | 'hooks'>
  >;

/** An example's app and the router in it (close the router on shutdown). */
export interface CompatApp {
  app: Express;
  router: PasswordResetRouter;
}

/** Where a link in the emails points when the app has no page of its own (the examples answer JSON only). */
export const RESET_URL = process.env.RESET_URL ?? 'https://app.example/reset-password';

/** Runs `build` as a server on `PORT` (default 3000) with one user, ada@example.com; emails go to the console. */
export function runExample(name: string, build: (deps: CompatDeps) => CompatApp, paths: string): void {
  const users = new Map<string, User & { passwordHash?: string }>([
    ['ada@example.com', { id: 'u1', email: 'ada@example.com', name: 'Ada' }],
  ]);
  const { app, router } = build({
    users: {
      findByEmail: (email) => Promise.resolve(users.get(email.toLowerCase()) ?? null),
      updatePassword: (id, passwordHash) => {
        for (const user of users.values()) if (user.id === id) user.passwordHash = passwordHash;
        return Promise.resolve();
      },
    },
    mailer: new OutboxMailer(),
  });
  const port = Number(process.env.PORT ?? 3000);
  listen(app, port, name)
    .then((server) => {
      console.log(`${name} on http://localhost:${port}: ${paths}`);
      const stop = (): void => {
        server.close();
        void router.close();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch(async (error: unknown) => {
      await router.close();
      exitWith(error);
    });
}
