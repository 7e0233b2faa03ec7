/**
 * README guarantee 8: two independent app instances (own connection, own router,
 * own stores) on one database behave as one. A token issued by one is consumed
 * by the other exactly once under concurrency, wrong codes and rate limits are
 * counted across both, and restarting one loses nothing.
 */
import express from 'express';
import type { Connection, Model } from 'mongoose';
import request from 'supertest';
import {
  OutboxMailer,
  mongooseUsers,
  passwordReset,
  type PasswordResetEvent,
  type PasswordResetOptions,
  type PasswordResetRouter,
} from '../lib';
import {
  databaseName,
  describeMongo,
  dropAndClose,
  openConnection,
  userSchema,
  type UserFields,
} from './support/mongo';
import { TEST_SECRET } from './helpers/create-app';

interface Instance {
  app: express.Express;
  router: PasswordResetRouter;
  connection: Connection;
  mailer: OutboxMailer;
  events: PasswordResetEvent[];
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i += 1) await sleep(20);
}

function tokenOf(mailer: OutboxMailer, to: string): string {
  return /token=([\w-]+)/.exec(mailer.last(to)!.text)![1]!;
}

describeMongo('two app instances on one database', () => {
  const database = databaseName('two_instances');
  const instances: Instance[] = [];
  let seed: Connection;

  /** One app instance, as a separate process would build it: its own connection, model, router and mailer. */
  async function instance(options: Partial<PasswordResetOptions> = {}): Promise<Instance> {
    const connection = await openConnection(database);
    const User = connection.model<UserFields>('User', userSchema);
    const mailer = new OutboxMailer({ logger: false });
    const events: PasswordResetEvent[] = [];
    const router = passwordReset({
      users: mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash', logger: false }),
      mongoose: { connection },
      mailer,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      logger: false,
      rateLimit: false,
      hooks: {
        onEvent: (event) => {
          events.push(event);
        },
      },
      ...options,
    });
    const created = { app: express().use('/auth', router), router, connection, mailer, events };
    instances.push(created);
    return created;
  }

  async function stop(target: Instance): Promise<void> {
    await target.router.close();
    await target.connection.close();
    instances.splice(instances.indexOf(target), 1);
  }

  beforeAll(async () => {
    seed = await openConnection(database);
    const User: Model<UserFields> = seed.model<UserFields>('User', userSchema);
    await User.create(
      ['ada', 'grace', 'alan', 'edsger'].map((name) => ({ email: `${name}@example.com`, passwordHash: 'old-hash' })),
    );
  });
  // Rate-limit counts are shared by design, also from one test to the next: start each test with none.
  beforeEach(() => seed.collection('password_reset_rate_limits').deleteMany({}));
  afterAll(async () => {
    for (const running of [...instances]) await stop(running);
    await dropAndClose(seed);
  });

  test('a token issued by A is consumed exactly once when 50 resets race on A and B', async () => {
    const [a, b] = [await instance(), await instance()];
    await request(a.app).post('/auth/forgot').send({ email: 'ada@example.com' });
    await until(() => a.mailer.messages.length > 0);
    const token = tokenOf(a.mailer, 'ada@example.com');
    expect((await request(b.app).post('/auth/verify').send({ token })).status).toBe(200);

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request((i % 2 ? a : b).app)
          .post('/auth/reset')
          .send({ token, password: `a fresh passphrase ${i}` }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    process.stdout.write(
      `[two instances] 50 parallel resets with one token: ${statuses.filter((s) => s === 200).length} succeeded\n`,
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(
      responses.filter((r) => r.status !== 200).every((r) => r.status === 400 && r.body.error.code === 'TOKEN_INVALID'),
    ).toBe(true);
    await stop(a);
    await stop(b);
  });

  test('wrong codes are counted across instances: of 50 parallel guesses exactly maxAttempts are compared', async () => {
    // One secret on every instance: a code hashed by one must be checked by the other.
    const options = { code: { enabled: true, maxAttempts: 5 }, secret: TEST_SECRET };
    const [a, b] = [await instance(options), await instance(options)];
    await request(a.app).post('/auth/forgot').send({ email: 'grace@example.com' });
    await until(() => a.mailer.messages.length > 0);
    const code = a.mailer.last('grace@example.com')!.data.code!;
    const wrong = code === '000000' ? '111111' : '000000';

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request((i % 2 ? a : b).app)
          .post('/auth/verify')
          .send({ email: 'grace@example.com', code: wrong }),
      ),
    );
    expect(responses.every((r) => r.status === 400 && r.body.error.code === 'TOKEN_INVALID')).toBe(true);
    const reasons = [...a.events, ...b.events].flatMap((event) =>
      event.type === 'verify.failed' ? [event.reason] : [],
    );
    const compared = reasons.filter((reason) => reason === 'wrong_code').length;
    process.stdout.write(
      `[two instances] 50 parallel wrong codes: ${compared} counted as attempts, ${reasons.filter((r) => r === 'locked').length} refused as locked\n`,
    );
    expect(compared).toBe(5);
    // The right code no longer works: the attempts are used up, on both instances.
    expect((await request(b.app).post('/auth/verify').send({ email: 'grace@example.com', code })).status).toBe(400);
    expect((await request(a.app).post('/auth/verify').send({ email: 'grace@example.com', code })).status).toBe(400);
    await stop(a);
    await stop(b);
  });

  test('rate limits count across instances, per IP and per email address', async () => {
    const rateLimit = { verify: { windowMs: 60_000, limit: 3 }, perEmail: { windowMs: 60_000, limit: 2 } };
    const [a, b] = [await instance({ rateLimit }), await instance({ rateLimit })];
    const statuses: number[] = [];
    for (const target of [a, b, a, b])
      statuses.push((await request(target.app).post('/auth/verify').send({ token: 'no-such-token' })).status);
    expect(statuses).toEqual([400, 400, 400, 429]);

    for (const target of [a, b, a])
      expect((await request(target.app).post('/auth/forgot').send({ email: 'alan@example.com' })).status).toBe(202);
    const sent = (): number => a.mailer.messages.length + b.mailer.messages.length;
    const dropped = (): number =>
      [...a.events, ...b.events].filter((e) => e.type === 'rate_limited' && e.limiter === 'perEmail').length;
    await until(() => sent() + dropped() === 3);
    expect(sent()).toBe(2);
    expect(dropped()).toBe(1);
    await stop(a);
    await stop(b);
  });

  test('restarting an instance loses nothing: its tokens and its rate-limit counts survive', async () => {
    const rateLimit = { verify: { windowMs: 60_000, limit: 4 } };
    let a = await instance({ rateLimit });
    const b = await instance({ rateLimit });
    await request(a.app).post('/auth/forgot').send({ email: 'edsger@example.com' });
    await until(() => a.mailer.messages.length > 0);
    const token = tokenOf(a.mailer, 'edsger@example.com');
    expect((await request(a.app).post('/auth/verify').send({ token })).status).toBe(200);
    expect((await request(a.app).post('/auth/verify').send({ token: 'no-such-token' })).status).toBe(400);

    await stop(a);
    a = await instance({ rateLimit });
    expect((await request(a.app).post('/auth/verify').send({ token })).body).toMatchObject({
      success: true,
      valid: true,
    });
    expect((await request(b.app).post('/auth/verify').send({ token })).status).toBe(200);
    // Four verifications so far in this window, counted before and after the restart: the fifth is over the limit.
    expect((await request(a.app).post('/auth/verify').send({ token })).status).toBe(429);
  });
});
