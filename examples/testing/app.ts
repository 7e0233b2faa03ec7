import express, { type Express } from 'express';
import { passwordReset, type PasswordResetRouter, type UserAdapter } from '../../lib';

/** Your app, built by a function so that each test gets its own router (its own tokens and outbox). */
export function createApp(users: UserAdapter): { app: Express; router: PasswordResetRouter } {
  const router = passwordReset({
    users,
    resetUrl: 'https://app.example/reset-password',
    // bcrypt's cheapest cost keeps tests fast; outside tests the default (12) applies.
    ...(process.env.NODE_ENV === 'test' ? { bcryptRounds: 4 } : {}),
  });
  const app = express();
  app.use('/auth/password', router);
  return { app, router };
}
