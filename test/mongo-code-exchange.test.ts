/**
 * `code.exchange` on the Mongo store, with two app instances on one database (guarantees 2 and 8): a code traded on
 * one instance gives a token the other accepts, the code and link die on both, and of parallel trades of one code
 * spread over both instances exactly one gets a token.
 */
import express from 'express';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { OutboxMailer, mongooseUsers, passwordReset, type PasswordResetRouter } from '../lib';
import { TEST_SECRET } from './helpers/create-app';
import {
  databaseName,
  describeMongo,
  dropAndClose,
  openConnection,
  userSchema,
  type UserFields,
} from './support/mongo';

interface Instance {
  app: express.Express;
  router: PasswordResetRouter;
  connection: Connection;
  mailer: OutboxMailer;
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

describeMongo('code.exchange on the Mongo store, two instances', () => {
  const database = databaseName('code_exchange');
  const instances: Instance[] = [];
  let seed: Connection;

  async function instance(): Promise<Instance> {
    const connection = await openConnection(database);
    const User = connection.model<UserFields>('User', userSchema);
    const mailer = new OutboxMailer({ logger: false });
    const router = passwordReset({
      users: mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash', logger: false }),
      mongoose: { connection },
      mailer,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      logger: false,
      rateLimit: false,
      // One secret on every instance: a code hashed by one is checked by the other.
      secret: TEST_SECRET,
      code: { enabled: true, exchange: true, maxAttempts: 20 },
    });
    const created = { app: express().use('/auth', router), router, connection, mailer };
    instances.push(created);
    return created;
  }

  /** `/forgot` on `target`, then the code and link of the email. */
  async function requestCode(target: Instance, email: string): Promise<{ code: string; link: string }> {
    const from = target.mailer.messages.length;
    await request(target.app).post('/auth/forgot').send({ email });
    for (let i = 0; i < 250 && target.mailer.messages.length === from; i += 1) await sleep(20);
    const message = target.mailer.last(email)!;
    return { code: message.data.code!, link: /token=([\w-]+)/.exec(message.text)![1]! };
  }

  beforeAll(async () => {
    seed = await openConnection(database);
    await seed
      .model<UserFields>('User', userSchema)
      .create(['ada', 'grace'].map((name) => ({ email: `${name}@example.com`, passwordHash: 'old-hash' })));
  });
  afterAll(async () => {
    for (const running of instances) {
      await running.router.close();
      await running.connection.close();
    }
    await dropAndClose(seed);
  });

  test('a code traded on A gives a token B resets with; the code and link are dead on both', async () => {
    const [a, b] = [await instance(), await instance()];
    const { code, link } = await requestCode(a, 'ada@example.com');
    const traded = await request(a.app).post('/auth/verify').send({ email: 'ada@example.com', code });
    expect(traded.status).toBe(200);
    expect(traded.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const target of [a, b]) {
      expect((await request(target.app).post('/auth/verify').send({ email: 'ada@example.com', code })).status).toBe(
        400,
      );
      expect((await request(target.app).post('/auth/verify').send({ token: link })).status).toBe(400);
    }
    const reset = await request(b.app)
      .post('/auth/reset')
      .send({ token: traded.body.token, password: 'a fresh one 1' });
    expect(reset.status).toBe(200);
    const again = await request(a.app)
      .post('/auth/reset')
      .send({ token: traded.body.token, password: 'a fresh one 2' });
    expect(again.body.error.code).toBe('TOKEN_INVALID');
  });

  test('of 20 parallel trades of one code on A and B exactly one gets a token', async () => {
    const [a, b] = [await instance(), await instance()];
    const { code } = await requestCode(a, 'grace@example.com');
    const trades = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request((i % 2 ? a : b).app)
          .post('/auth/verify')
          .send({ email: 'grace@example.com', code }),
      ),
    );
    const won = trades.filter((r) => r.status === 200);
    process.stdout.write(`[code exchange] 20 parallel trades of one code: ${won.length} got a token\n`);
    expect(won).toHaveLength(1);
    expect(trades.filter((r) => r.status === 400 && r.body.error.code === 'TOKEN_INVALID')).toHaveLength(19);
    const reset = await request(b.app).post('/auth/reset').send({ token: won[0]!.body.token, password: 'fresh one 3' });
    expect(reset.status).toBe(200);
  });
});
