/**
 * The database goes away and comes back: the router answers 503 in the documented
 * shape without hanging (and /forgot its uniform 202), then the same app
 * recovers, and the token issued before the outage still works.
 * The test stops a server of its own, so suites sharing the main server are not disturbed.
 */
import express from 'express';
import { Schema, type Connection, type Model } from 'mongoose';
import request from 'supertest';
import {
  FORGOT_RESPONSE,
  OutboxMailer,
  mongooseUsers,
  passwordReset,
  type PasswordResetEvent,
  type PasswordResetRouter,
} from '../lib';
import {
  databaseName,
  describeMongo,
  dropAndClose,
  openConnection,
  startRestartableServer,
  type RestartableServer,
} from './support/mongo';

interface UserFields {
  email: string;
  passwordHash: string;
}

/** Far above the stores' 3 s operation limit: a request still open after this is a hang. */
const NO_HANG = { response: 20_000, deadline: 25_000 };

describeMongo('MongoDB outage', () => {
  let server: RestartableServer;
  let connection: Connection;
  let User: Model<UserFields>;
  let router: PasswordResetRouter;
  let app: express.Express;
  const mailer = new OutboxMailer({ logger: false });
  const events: PasswordResetEvent[] = [];

  beforeAll(async () => {
    server = await startRestartableServer();
    connection = await openConnection(databaseName('outage'), server.uri);
    User = connection.model<UserFields>(
      'User',
      new Schema<UserFields>({ email: { type: String, lowercase: true }, passwordHash: String }),
    );
    await User.create([
      { email: 'ada@example.com', passwordHash: 'old-hash' },
      { email: 'grace@example.com', passwordHash: 'old-hash' },
    ]);
    router = passwordReset({
      users: mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash', logger: false }),
      mongoose: { connection },
      mailer,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      logger: false,
      hooks: {
        onEvent: (event) => {
          events.push(event);
        },
      },
    });
    app = express().use('/auth', router);
  });

  afterAll(async () => {
    await router?.close();
    await server?.start().catch(() => undefined);
    await dropAndClose(connection).catch(() => undefined);
    await server?.dispose();
  });

  test('503 while the database is down, /forgot still 202, and the same app recovers when it is back', async () => {
    expect((await request(app).post('/auth/forgot').send({ email: 'ada@example.com' })).status).toBe(202);
    for (let i = 0; i < 100 && mailer.messages.length === 0; i += 1) await new Promise((wake) => setTimeout(wake, 20));
    const token = /token=([\w-]+)/.exec(mailer.last('ada@example.com')!.text)![1]!;

    await server.stop();
    const started = Date.now();
    const answered: Record<string, number> = {};
    const timed = async (name: string, pending: request.Test): Promise<request.Response> => {
      const response = await pending.timeout(NO_HANG);
      answered[name] = Date.now() - started;
      return response;
    };
    const [verify, reset, forgot] = await Promise.all([
      timed('verify', request(app).post('/auth/verify').send({ token })),
      timed('reset', request(app).post('/auth/reset').send({ token, password: 'a fresh passphrase' })),
      // Another user: a request for Ada would (rightly) supersede her link once the database is back.
      timed('forgot', request(app).post('/auth/forgot').send({ email: 'grace@example.com' })),
    ]);
    process.stdout.write(`[outage] answered after the server stopped (ms): ${JSON.stringify(answered)}\n`);

    for (const response of [verify, reset]) {
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({
        success: false,
        error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) },
      });
      expect(response.text).not.toMatch(/Mongo|at \w+ \(|ECONNREFUSED/);
    }
    expect(forgot.status).toBe(202);
    expect(forgot.body).toEqual(FORGOT_RESPONSE);
    const storeErrors = events.filter((event) => event.type === 'error' && event.stage === 'store');
    expect(storeErrors.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(events)).not.toContain(token);
    expect(
      await User.findOne()
        .lean()
        .setOptions({ timeoutMS: 500 })
        .exec()
        .catch(() => 'down'),
    ).toBe('down');

    await server.start();
    // The driver reconnects on the next operation; allow it a few tries.
    let recovered = await request(app).post('/auth/verify').send({ token });
    for (let i = 0; i < 50 && recovered.status === 503; i += 1) {
      await new Promise((wake) => setTimeout(wake, 200));
      recovered = await request(app).post('/auth/verify').send({ token });
    }
    expect(recovered.status).toBe(200);
    expect(recovered.body).toMatchObject({ success: true, valid: true });
    const done = await request(app).post('/auth/reset').send({ token, password: 'a fresh passphrase' });
    expect(done.body).toEqual({ success: true });
    expect((await User.findOne({ email: 'ada@example.com' }).lean())?.passwordHash).toMatch(/^\$2b\$04\$/);
  });
});
