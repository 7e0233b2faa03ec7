/**
 * SPEC `secondFactor` on the bundled Mongo store (FerretDB over TCP in the tests): the wrong-otp tries of a link are
 * slots taken with `takeAttempt` before `verify` runs, so two app instances (own connections and routers) on one
 * database share the count, and any number of parallel wrong otps get at most `maxAttempts` calls of `verify`.
 */
import express from 'express';
import type { Connection, Model } from 'mongoose';
import request from 'supertest';
import {
  OutboxMailer,
  mongooseUsers,
  passwordReset,
  type PasswordResetEvent,
  type PasswordResetRouter,
  type User,
} from '../lib';
import {
  databaseName,
  describeMongo,
  dropAndClose,
  openConnection,
  userSchema,
  type UserFields,
} from './support/mongo';

const RIGHT_OTP = '246810';
const MAX_ATTEMPTS = 5;

interface Instance {
  app: express.Express;
  router: PasswordResetRouter;
  connection: Connection;
  mailer: OutboxMailer;
  events: PasswordResetEvent[];
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

describeMongo('secondFactor: wrong otps counted atomically on MongoDB, across instances', () => {
  const database = databaseName('second_factor');
  const instances: Instance[] = [];
  let seed: Connection;
  /** Every `verify` call, on any instance; `inFlight` / `mostInFlight`: how many ran at once. */
  const verified: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;

  async function instance(): Promise<Instance> {
    const connection = await openConnection(database);
    const UserModel = connection.model<UserFields>('User', userSchema);
    const mailer = new OutboxMailer({ logger: false });
    const events: PasswordResetEvent[] = [];
    const router = passwordReset({
      users: mongooseUsers(UserModel, { emailField: 'email', passwordField: 'passwordHash', logger: false }),
      mongoose: { connection },
      mailer,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      logger: false,
      rateLimit: false,
      secondFactor: {
        required: () => true,
        // Slow like an authenticator service, so the parallel requests of both instances overlap.
        verify: async (_user: User, otp: string) => {
          verified.push(otp);
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          await sleep(25);
          inFlight -= 1;
          return otp === RIGHT_OTP;
        },
        maxAttempts: MAX_ATTEMPTS,
      },
      hooks: { onEvent: (event) => void events.push(event) },
    });
    const created = { app: express().use('/auth', router), router, connection, mailer, events };
    instances.push(created);
    return created;
  }

  async function tokenFor(target: Instance, email: string): Promise<string> {
    const from = target.mailer.messages.length;
    await request(target.app).post('/auth/forgot').send({ email }).expect(202);
    await target.router.settled();
    const message = target.mailer.messages.slice(from).find((m) => m.to === email);
    return /token=([\w-]+)/.exec(message!.text)![1]!;
  }

  beforeAll(async () => {
    seed = await openConnection(database);
    const UserModel: Model<UserFields> = seed.model<UserFields>('User', userSchema);
    await UserModel.create(
      ['ada', 'grace'].map((name) => ({ email: `${name}@example.com`, passwordHash: 'old-hash' })),
    );
  });
  beforeEach(() => {
    verified.length = 0;
    mostInFlight = 0;
  });
  afterAll(async () => {
    for (const running of instances.splice(0)) {
      await running.router.close();
      await running.connection.close();
    }
    await dropAndClose(seed);
  });

  test('40 parallel wrong otps on two instances: exactly maxAttempts verify calls, then the link is gone', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await tokenFor(a, 'ada@example.com');
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        request((i % 2 ? a : b).app)
          .post('/auth/reset')
          .send({ token, password: 'a fresh passphrase', otp: String(100000 + i) }),
      ),
    );
    const codes = responses.map((r) => (r.body as { error?: { code: string } }).error?.code);
    const invalid = codes.filter((code) => code === 'SECOND_FACTOR_INVALID').length;
    process.stdout.write(
      `[second factor] 40 parallel wrong otps on 2 instances: ${verified.length} verify calls ` +
        `(${mostInFlight} at once), ${invalid} answered 401, ${codes.length - invalid} TOKEN_INVALID\n`,
    );
    expect(mostInFlight).toBeGreaterThan(1);
    expect(verified).toHaveLength(MAX_ATTEMPTS);
    expect(invalid).toBe(MAX_ATTEMPTS);
    expect(codes.filter((code) => code !== 'SECOND_FACTOR_INVALID').every((code) => code === 'TOKEN_INVALID')).toBe(
      true,
    );
    // The right otp comes too late on either instance; one of them removed the link and said so.
    for (const target of [a, b]) {
      const late = await request(target.app)
        .post('/auth/reset')
        .send({ token, password: 'a fresh passphrase', otp: RIGHT_OTP });
      expect([late.status, late.body.error.code]).toEqual([400, 'TOKEN_INVALID']);
    }
    expect([...a.events, ...b.events].filter((event) => event.type === 'second_factor.locked')).toHaveLength(1);
    const stored = await seed.collection<UserFields>('users').findOne({ email: 'ada@example.com' });
    expect(stored?.passwordHash).toBe('old-hash');
  });

  test('wrong otps on A count against the same link on B, and a right otp gives its try back', async () => {
    const [a, b] = [await instance(), await instance()];
    const token = await tokenFor(b, 'grace@example.com');
    for (let i = 0; i < MAX_ATTEMPTS - 1; i += 1) {
      const wrong = await request(a.app)
        .post('/auth/reset')
        .send({ token, password: 'x', otp: String(200000 + i) });
      expect(wrong.status).toBe(401);
    }
    // A right otp with a password the policy refuses: 422, and its try is given back.
    for (let i = 0; i < 3; i += 1)
      expect((await request(b.app).post('/auth/reset').send({ token, password: 'x', otp: RIGHT_OTP })).status).toBe(
        422,
      );
    const done = await request(b.app)
      .post('/auth/reset')
      .send({ token, password: 'a fresh passphrase', otp: RIGHT_OTP });
    expect(done.status).toBe(200);
    expect(verified).toHaveLength(MAX_ATTEMPTS - 1 + 4);
  });
});
