/**
 * A password reset that sends real email through SendGrid.
 *
 *   SENDGRID_API_KEY=SG.… SENDGRID_FROM='Acme <no-reply@acme.example>' DEMO_USER_EMAIL=you@example.com \
 *     npx tsx examples/sendgrid-demo.ts
 *
 * then open http://localhost:3000/auth/password/forgot, ask for a reset of
 * DEMO_USER_EMAIL and follow the link in the email you receive.
 *
 * Required: SENDGRID_API_KEY, SENDGRID_FROM (a verified Sender Identity),
 * DEMO_USER_EMAIL (the one account of this demo: where the email goes).
 * Optional: DEMO_USER_NAME, DEMO_USER_LOCALE (en, de, fr), SENDGRID_TEMPLATE_RESET
 * (a dynamic template id `d-…`), SENDGRID_SANDBOX=1 (SendGrid checks the request
 * and delivers nothing), MONGODB_URI (the account in the database's `users`
 * collection, seeded with a random password: resetting it is the point; tokens
 * and rate-limit counters in MongoDB too), PORT, BASE_URL.
 * Without the required ones it says what is missing and exits with status 1.
 */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import express from 'express';
import mongoose from 'mongoose';
import {
  mongooseUsers,
  passwordReset,
  type PasswordResetOptions,
  type PasswordResetRouter,
  type User,
  type UserAdapter,
} from '../lib';
import { listen } from './listen';

const REQUIRED = {
  SENDGRID_API_KEY: 'your SendGrid API key (SG.…), from https://app.sendgrid.com/settings/api_keys',
  SENDGRID_FROM: "a verified sender, e.g. 'Acme <no-reply@acme.example>'",
  DEMO_USER_EMAIL: 'the address of the demo account: the reset email is sent there',
} as const;

export interface SendGridDemoConfig {
  apiKey: string;
  from: string;
  user: User;
  baseUrl: string;
  port: number;
  templateId?: string;
  sandbox: boolean;
  mongodbUri?: string;
  /** For tests: where the SendGrid API is. */
  sendgridBaseUrl?: string;
}

/** The demo's settings from the environment, or the names of the required variables that are missing. */
export function readConfig(env: NodeJS.ProcessEnv): { config: SendGridDemoConfig } | { missing: string[] } {
  const missing = (Object.keys(REQUIRED) as Array<keyof typeof REQUIRED>).filter((name) => !env[name]?.trim());
  if (missing.length > 0) return { missing: missing.map((name) => `${name}: ${REQUIRED[name]}`) };
  const port = Number(env.PORT ?? 3000);
  return {
    config: {
      apiKey: env.SENDGRID_API_KEY!.trim(),
      from: env.SENDGRID_FROM!,
      user: {
        id: 'demo-user',
        email: env.DEMO_USER_EMAIL!.trim(),
        name: env.DEMO_USER_NAME ?? 'Demo user',
        locale: env.DEMO_USER_LOCALE,
      },
      baseUrl: env.BASE_URL ?? `http://localhost:${port}`,
      port,
      templateId: env.SENDGRID_TEMPLATE_RESET || undefined,
      sandbox: env.SENDGRID_SANDBOX === '1',
      mongodbUri: env.MONGODB_URI || undefined,
    },
  };
}

/** One account in memory; what an app backs with its database. */
function memoryUsers(user: User): UserAdapter {
  let passwordHash: string | undefined;
  return {
    async findByEmail(email) {
      return email.toLowerCase() === user.email.toLowerCase() ? user : null;
    },
    async updatePassword(id, hash) {
      if (id !== user.id) return;
      passwordHash = hash;
      console.log(`[demo] new password hash stored for ${user.email} (bcrypt, ${passwordHash.length} characters)`);
    },
  };
}

/** The account in a MongoDB `users` collection (seeded on first start), through the package's `mongooseUsers`. */
async function mongoUsers(connection: mongoose.Connection, user: User): Promise<UserAdapter> {
  const schema = new mongoose.Schema({
    email: { type: String, required: true, unique: true, lowercase: true, trim: true },
    name: String,
    locale: String,
    passwordHash: String,
  });
  const Users = connection.model('DemoUser', schema, 'users');
  const email = user.email.toLowerCase();
  await Users.updateOne(
    { email },
    {
      $setOnInsert: {
        email,
        name: user.name,
        locale: user.locale,
        passwordHash: await bcrypt.hash(randomBytes(18).toString('base64url'), 10),
      },
    },
    { upsert: true },
  );
  return mongooseUsers(Users, { emailField: 'email', passwordField: 'passwordHash' });
}

export interface SendGridDemo {
  app: express.Express;
  router: PasswordResetRouter;
  close(): Promise<void>;
}

export async function createSendGridDemo(config: SendGridDemoConfig): Promise<SendGridDemo> {
  let users = memoryUsers(config.user);
  let store: Pick<PasswordResetOptions, 'mongoose'> = {};
  let connection: mongoose.Connection | undefined;
  if (config.mongodbUri) {
    connection = await mongoose.createConnection(config.mongodbUri).asPromise();
    users = await mongoUsers(connection, config.user);
    // Tokens and rate-limit counters in the same database, so several instances of this app behave as one.
    store = { mongoose: { connection } };
  }

  const router = passwordReset({
    users,
    ...store,
    resetUrl: `${config.baseUrl}/auth/password/reset`,
    sendgrid: {
      apiKey: config.apiKey,
      from: config.from,
      sandboxMode: config.sandbox,
      categories: ['password-reset-demo'],
      ...(config.templateId ? { templateIds: { reset: config.templateId } } : {}),
      ...(config.sendgridBaseUrl ? { baseUrl: config.sendgridBaseUrl } : {}),
    },
    emails: { appName: 'SendGrid demo' },
    pages: { title: 'SendGrid demo' },
    hooks: {
      // Events never carry the token, code or link: safe to log. email.failed has SendGrid's status and message.
      onEvent: (event) => {
        if (event.type === 'email.sent')
          console.log(`[demo] SendGrid accepted the "${event.kind}" email to ${event.to}`);
        if (event.type === 'email.failed')
          console.error(
            `[demo] SendGrid did not take the "${event.kind}" email (status ${event.error.status ?? 'none'}): ${event.error.message}`,
          );
      },
    },
  });

  const app = express();
  app.use('/auth/password', router);
  app.get('/', (_req, res) => {
    res.redirect('/auth/password/forgot');
  });
  return {
    app,
    router,
    close: async () => {
      await router.close();
      await connection?.close();
    },
  };
}

async function main(): Promise<void> {
  const read = readConfig(process.env);
  if ('missing' in read) {
    console.error(
      `sendgrid-demo: missing environment variables:\n${read.missing.map((line) => `  ${line}`).join('\n')}`,
    );
    process.exitCode = 1;
    return;
  }
  const { config } = read;
  const demo = await createSendGridDemo(config);
  const server = await listen(demo.app, config.port, 'SendGrid demo').catch(async (error: unknown) => {
    await demo.close();
    throw error;
  });
  console.log(
    `SendGrid demo: ${config.baseUrl}/auth/password/forgot (account: ${config.user.email}${config.sandbox ? ', sandbox mode: nothing is delivered' : ''})`,
  );
  const stop = (): void => {
    server.close();
    void demo.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    // OptionsError messages name the option and never print the key.
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
