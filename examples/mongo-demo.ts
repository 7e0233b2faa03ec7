/**
 * The demo on MongoDB: users in a Mongoose model, reset tokens and rate-limit
 * counters in the same database, so any number of instances can run side by side.
 *
 *   MONGODB_URI=mongodb://127.0.0.1:27017/password-reset-demo npx tsx examples/mongo-demo.ts
 *
 * then open http://localhost:3000/. Emails go to the in-memory outbox at /outbox.
 * Optional: PORT, BASE_URL. Works on MongoDB 5+ and on FerretDB 1.x.
 */
import bcrypt from 'bcrypt';
import express from 'express';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { exitWith, listen } from './listen';
import {
  OutboxMailer,
  escapeHtml,
  mongooseUsers,
  passwordReset,
  type PasswordResetOptions,
  type PasswordResetRouter,
} from '../lib';
import { DEMO_USERS } from './demo-app';

interface UserFields {
  email: string;
  passwordHash: string;
  name?: string;
  locale?: string;
}

const userSchema = new Schema<UserFields>({
  // Stored lowercased: lookups are case-insensitive on every server, also those without collations (FerretDB).
  email: { type: String, required: true, unique: true, lowercase: true, trim: true },
  passwordHash: { type: String, required: true },
  name: String,
  locale: String,
});

export interface MongoDemoApp {
  app: express.Express;
  router: PasswordResetRouter;
  outbox: OutboxMailer;
  User: Model<UserFields>;
}

/** Builds the demo on `connection`, seeding the demo accounts that are not there yet. `overrides` are for tests. */
export async function createMongoDemoApp(
  connection: Connection,
  baseUrl: string,
  overrides: Partial<PasswordResetOptions> = {},
): Promise<MongoDemoApp> {
  const User = connection.model<UserFields>('User', userSchema);
  for (const { password, id: _id, ...user } of DEMO_USERS) {
    if (!(await User.exists({ email: user.email })))
      await User.create({ ...user, passwordHash: await bcrypt.hash(password, 10) });
  }

  const outbox = new OutboxMailer({ logger: overrides.logger ?? console });
  const router = passwordReset({
    users: mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash' }),
    // Tokens in MongoDB, and (no rateLimit.store given) the rate-limit counters too.
    mongoose: { connection },
    resetUrl: `${baseUrl}/auth/password/reset`,
    mailer: outbox,
    emails: { appName: 'Demo app (MongoDB)' },
    pages: { title: 'Demo app (MongoDB)', successRedirect: '/?reset=1' },
    ...overrides,
  });

  const app = express();
  app.use('/auth/password', router);
  app.use(express.urlencoded({ extended: false, limit: '2kb' }));

  app.get('/', (req, res) => {
    const notice =
      req.query.reset === '1' ? '<p role="status">Your password was changed. Sign in with the new one.</p>' : '';
    const accounts = DEMO_USERS.map(
      (u) => `<li>${escapeHtml(u.email)} / <code>${escapeHtml(u.password)}</code> (until you reset it)</li>`,
    ).join('');
    res.send(`<!doctype html><meta charset="utf-8"><title>Demo (MongoDB)</title><h1>express-password-reset on MongoDB</h1>${notice}
<ul>${accounts}</ul><form method="post" action="/signin"><input name="email" type="email" placeholder="Email" required>
<input name="password" type="password" placeholder="Password" required><button>Sign in</button></form>
<p><a href="/auth/password/forgot">Forgot your password?</a> · <a href="/outbox">Outbox</a></p>`);
  });

  app.post('/signin', async (req, res) => {
    const body = req.body as { email?: unknown; password?: unknown } | undefined;
    const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
    const password = typeof body?.password === 'string' ? body.password.normalize('NFKC') : '';
    const user = await User.findOne({ email }).lean();
    const ok = user !== null && (await bcrypt.compare(password, user.passwordHash));
    res
      .status(ok ? 200 : 401)
      .send(ok ? `Welcome back, ${escapeHtml(user.name ?? user.email)}.` : 'Wrong email or password.');
  });

  app.get('/outbox', (_req, res) => {
    const items = [...outbox.messages]
      .reverse()
      .map((m) => `<h2>${escapeHtml(m.subject)}</h2><p>To: ${escapeHtml(m.to)}</p><pre>${escapeHtml(m.text)}</pre>`);
    res.send(
      `<!doctype html><meta charset="utf-8"><title>Outbox</title><h1>Outbox (not delivered)</h1>${items.join('') || '<p>No email yet.</p>'}`,
    );
  });

  return { app, router, outbox, User };
}

async function main(): Promise<void> {
  const uri = process.env.MONGODB_URI;
  if (!uri) {
    console.error(
      'MONGODB_URI is required, e.g. MONGODB_URI=mongodb://127.0.0.1:27017/password-reset-demo npx tsx examples/mongo-demo.ts',
    );
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 3000);
  const baseUrl = process.env.BASE_URL ?? `http://localhost:${port}`;
  await mongoose.connect(uri);
  const { app, router } = await createMongoDemoApp(mongoose.connection, baseUrl);
  const server = await listen(app, port, 'express-password-reset MongoDB demo').catch(async (error: unknown) => {
    await router.close();
    await mongoose.disconnect();
    throw error;
  });
  console.log(`express-password-reset MongoDB demo: ${baseUrl}/`);
  const stop = (): void => {
    server.close();
    void router.close().then(() => mongoose.disconnect());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) main().catch(exitWith);
