/**
 * Signing out everywhere with the real libraries: express-session on
 * connect-mongo, on the same MongoDB-wire server as the app (FerretDB here),
 * two browsers (supertest agents) signed in as one user, and a password reset
 * through the router's API by one of them. Both ways the README documents are
 * run: rejectSessionsBefore() (any store options) and deleting the user's
 * sessions in hooks.onPasswordReset (connect-mongo with `stringify: false`).
 * In both, the browser that did the reset is signed out too.
 */
import { promisify } from 'node:util';
import bcrypt from 'bcrypt';
import MongoStore from 'connect-mongo';
import express, { type Express } from 'express';
import session from 'express-session';
import type { Connection } from 'mongoose';
import request from 'supertest';
import {
  MemoryTokenStore,
  OutboxMailer,
  passwordReset,
  rejectSessionsBefore,
  type PasswordResetOptions,
  type PasswordResetRouter,
} from '../lib';
import { ADA, GOOD_PASSWORD, MemoryUsers, tokenOf } from './helpers/create-app';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    /** When this session signed in (ms), for rejectSessionsBefore(). */
    signedInAt: number;
  }
}

const OLD_PASSWORD = 'the old password, known to someone else';
const SESSION_SECRET = 'session-test-secret-0123456789abcdefghij';

interface SessionApp {
  app: Express;
  router: PasswordResetRouter;
  mailer: OutboxMailer;
}

/**
 * The app: sessions in connect-mongo with `autoRemove: 'disabled'`: FerretDB 1.24 refuses the TTL index of
 * 'native' ("Index option expireAfterSeconds is not implemented yet", so every session write fails), and 'interval'
 * starts a timer that only `store.close()` stops, which closes the shared client too. Expiry holds anyway:
 * connect-mongo never returns a session past its `expires`. Then a sign-in route, a protected route, the router.
 */
async function buildApp(
  connection: Connection,
  users: MemoryUsers,
  storeOptions: { stringify: boolean },
  hooks: NonNullable<PasswordResetOptions['hooks']>,
  protect: express.RequestHandler[],
): Promise<SessionApp> {
  const mailer = new OutboxMailer({ logger: false });
  const router = passwordReset({
    users,
    store: new MemoryTokenStore(),
    mailer,
    resetUrl: 'https://app.example/reset',
    bcryptRounds: 4,
    rateLimit: false,
    logger: false,
    hooks,
  });
  const store = MongoStore.create({
    client: connection.getClient(),
    dbName: connection.name,
    autoRemove: 'disabled',
    ...storeOptions,
  });
  const app = express();
  app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false, store }));
  app.post('/login', express.json(), async (req, res) => {
    const body = req.body as { email?: string; password?: string };
    const user = await users.findByEmail(body.email ?? '');
    const hash = user ? users.hashOf(user.id) : undefined;
    if (!user || !hash || !(await bcrypt.compare(body.password ?? '', hash))) {
      res.status(401).json({ success: false });
      return;
    }
    await promisify(req.session.regenerate.bind(req.session))();
    req.session.userId = user.id;
    req.session.signedInAt = Date.now();
    res.json({ userId: user.id });
  });
  app.get('/me', ...protect, (req, res) => {
    if (!req.session.userId) {
      res.status(401).json({ success: false });
      return;
    }
    res.json({ userId: req.session.userId });
  });
  app.use('/auth/password', router);
  return { app, router, mailer };
}

/** Two browsers sign in as Ada; the first resets the password through the API; what each then sees. */
async function resetWithTwoBrowsers({ app, router, mailer }: SessionApp): Promise<{
  resetter: request.Agent;
  other: request.Agent;
}> {
  const resetter = request.agent(app);
  const other = request.agent(app);
  for (const agent of [resetter, other]) {
    await agent.post('/login').send({ email: ADA.email, password: OLD_PASSWORD }).expect(200);
    await agent.get('/me').expect(200, { userId: ADA.id });
  }
  await resetter.post('/auth/password/forgot').send({ email: ADA.email }).expect(202);
  await router.settled();
  const token = tokenOf(mailer.last(ADA.email));
  await resetter.post('/auth/password/reset').send({ token, password: GOOD_PASSWORD }).expect(200);
  return { resetter, other };
}

describeMongo('guarantee: signing out everywhere (express-session + connect-mongo)', () => {
  let connection: Connection;
  const routers: PasswordResetRouter[] = [];

  beforeAll(async () => {
    connection = await openConnection(databaseName('sessions'));
  });
  afterAll(async () => {
    await Promise.all(routers.map((router) => router.close()));
    await dropAndClose(connection);
  });
  afterEach(async () => {
    await connection.collection('sessions').deleteMany({});
  });

  const sessionsOf = (userId: string, stringify: boolean) =>
    connection
      .collection('sessions')
      .countDocuments(stringify ? { session: { $regex: `"userId":"${userId}"` } } : { 'session.userId': userId });

  it('rejectSessionsBefore: every session signed in before the reset is refused and ended', async () => {
    const users = new MemoryUsers([{ ...ADA, passwordHash: await bcrypt.hash(OLD_PASSWORD, 4) }]);
    const changedAt = new Map<string, Date>();
    const built = await buildApp(
      connection,
      users,
      { stringify: true },
      { onPasswordReset: (user) => void changedAt.set(user.id, new Date()) },
      [
        rejectSessionsBefore({
          getSignedIn: (req) => {
            const { userId, signedInAt } = req.session;
            return userId === undefined ? undefined : { userId, issuedAt: signedInAt };
          },
          getUserChangedAt: (userId) => changedAt.get(userId),
          onRejected: (req, res, next) => {
            req.session.destroy((error) => {
              if (error) return next(error);
              res.status(401).json({ success: false, error: { code: 'SESSION_REVOKED', message: 'Sign in again.' } });
            });
          },
        }),
      ],
    );
    routers.push(built.router);
    const { resetter, other } = await resetWithTwoBrowsers(built);
    expect(await sessionsOf(ADA.id, true)).toBe(2);

    await other.get('/me').expect(401);
    await resetter.get('/me').expect(401);
    // Ended, not only refused: the documents are gone, and the old cookies stay signed out.
    expect(await sessionsOf(ADA.id, true)).toBe(0);
    await other.get('/me').expect(401, { success: false });

    await other.post('/login').send({ email: ADA.email, password: OLD_PASSWORD }).expect(401);
    // A sign-in in the millisecond of the change would be refused: be sure the clock has moved on.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await other.post('/login').send({ email: ADA.email, password: GOOD_PASSWORD }).expect(200);
    await other.get('/me').expect(200, { userId: ADA.id });
  });

  it("hooks.onPasswordReset deleting the user's sessions (the README recipe, stringify: false)", async () => {
    const users = new MemoryUsers([{ ...ADA, passwordHash: await bcrypt.hash(OLD_PASSWORD, 4) }]);
    const built = await buildApp(
      connection,
      users,
      { stringify: false },
      {
        onPasswordReset: async (user, req) => {
          await connection.collection('sessions').deleteMany({ 'session.userId': user.id });
          // This request's session is gone from the store: without destroying it here, express-session's touch of it
          // fails after the 200 ("Unable to find the session to touch" reaches the app's error handler).
          await new Promise<void>((resolve, reject) => {
            if (!req.session) return resolve();
            req.session.destroy((error) => (error ? reject(error as Error) : resolve()));
          });
        },
      },
      [],
    );
    routers.push(built.router);
    const { resetter, other } = await resetWithTwoBrowsers(built);

    expect(await sessionsOf(ADA.id, false)).toBe(0);
    await other.get('/me').expect(401);
    await resetter.get('/me').expect(401);
    await other.post('/login').send({ email: ADA.email, password: GOOD_PASSWORD }).expect(200);
    await other.get('/me').expect(200, { userId: ADA.id });
  });
});
