/**
 * A password reset that asks accounts with an authenticator app for its code (TOTP, RFC 6238) before the new
 * password is accepted, with `otplib`.
 *
 *   npx tsx examples/second-factor-totp.ts
 *
 * then open http://localhost:3000/enroll: the `otpauth://` URI of ada@example.com (add it to an authenticator app, or
 * turn it into a QR code and scan that). Ask for a reset of ada@example.com at
 * http://localhost:3000/auth/password/forgot and open the link from http://localhost:3000/outbox: the page asks for
 * the authentication code. grace@example.com has no second factor and is asked for none. Optional: PORT, BASE_URL.
 */
import express from 'express';
import { generateSecret, generateURI, verify } from 'otplib';
import { passwordReset, type PasswordResetRouter, type User, type UserAdapter } from '../lib';
import { exitWith, listen } from './listen';

/** An account of this example; `totpSecret` (base32) is set once the user enrolled an authenticator app. */
export interface Account {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  totpSecret?: string;
}

export interface SecondFactorDemo {
  app: express.Express;
  router: PasswordResetRouter;
  accounts: Account[];
  close(): Promise<void>;
}

/** Wrong codes allowed per link before it stops working (the package's default is 5). */
export const MAX_OTP_ATTEMPTS = 3;

/** TOTP codes are 6 digits; otplib throws on any other length, which would answer 503 instead of a wrong code. */
const TOTP_SHAPE = /^[0-9]{6}$/;

export function createSecondFactorDemo(baseUrl = 'http://localhost:3000'): SecondFactorDemo {
  const accounts: Account[] = [
    { id: '1', email: 'ada@example.com', name: 'Ada', passwordHash: '', totpSecret: generateSecret() },
    { id: '2', email: 'grace@example.com', name: 'Grace', passwordHash: '' },
  ];
  const byId = (id: string): Account | undefined => accounts.find((account) => account.id === id);
  const users: UserAdapter = {
    findByEmail: async (email) => {
      const account = accounts.find((a) => a.email.toLowerCase() === email.toLowerCase());
      return account ? { id: account.id, email: account.email, name: account.name } : null;
    },
    updatePassword: async (id, passwordHash) => {
      const account = byId(id);
      if (account) account.passwordHash = passwordHash;
    },
  };

  const router = passwordReset({
    users,
    resetUrl: `${baseUrl}/auth/password/reset`,
    pages: { title: 'Acme' },
    secondFactor: {
      required: (user: User) => byId(user.id)?.totpSecret !== undefined,
      verify: async (user: User, otp: string) => {
        const secret = byId(user.id)?.totpSecret;
        if (!secret || !TOTP_SHAPE.test(otp)) return false;
        // One step of clock drift either way, as authenticator apps need.
        const { valid } = await verify({ secret, token: otp, epochTolerance: 30 });
        return valid;
      },
      maxAttempts: MAX_OTP_ATTEMPTS,
    },
  });

  const app = express();
  app.use('/auth/password', router);
  // Development only, both: the emails the outbox kept (the demo has no mailer) and Ada's enrollment, which a real app
  // shows once, on its "set up two-factor authentication" page, to the signed-in user. Never in a log.
  app.get('/outbox', (_req, res) => {
    res.type('text').send(router.outbox?.messages.map((message) => message.text).join('\n\n---\n\n') || 'no email yet');
  });
  app.get('/enroll', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('text').send(enrollmentUri(accounts[0]!));
  });
  return { app, router, accounts, close: () => router.close() };
}

/** The URI an authenticator app enrolls from (what a QR code on the app's "set up 2FA" page holds). */
export function enrollmentUri(account: Account): string {
  return generateURI({ issuer: 'Acme', label: account.email, secret: account.totpSecret! });
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const baseUrl = process.env.BASE_URL ?? `http://localhost:${port}`;
  const demo = createSecondFactorDemo(baseUrl);
  const server = await listen(demo.app, port, 'second factor example');
  console.log(
    `second factor example: ${baseUrl}/auth/password/forgot (Ada's authenticator: ${baseUrl}/enroll, ` +
      `emails: ${baseUrl}/outbox)`,
  );
  const stop = (): void => {
    server.close();
    void demo.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) main().catch(exitWith);
