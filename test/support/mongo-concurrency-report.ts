/**
 * Measures the races the Mongo stores decide, 10 trials each, and prints the
 * outcomes (the jest suites assert them once; this shows the spread):
 *
 *   npx tsx test/support/mongo-concurrency-report.ts      (FerretDB, or MONGODB_URI when set)
 *
 * Beside the stores' own operations it measures the obvious alternatives on
 * the same server, which is why the stores do not use them.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import mongoose, { Schema } from 'mongoose';
import request from 'supertest';
import { MongoRateLimitStore, MongoTokenStore, OutboxMailer, passwordReset, type PasswordResetEvent } from '../../lib';
import { ensureFerretDb, startFerretDb, type FerretDbServer } from './ferretdb';

const TRIALS = 10;

async function trials(label: string, run: (trial: number) => Promise<number>): Promise<void> {
  const results: number[] = [];
  const started = Date.now();
  for (let trial = 0; trial < TRIALS; trial += 1) results.push(await run(trial));
  const perTrial = Math.round((Date.now() - started) / TRIALS);
  process.stdout.write(`${label.padEnd(76)} ${results.join(' ').padEnd(40)} (${perTrial} ms per trial)\n`);
}

async function main(): Promise<void> {
  let server: FerretDbServer | undefined;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    server = await startFerretDb(await ensureFerretDb());
    uri = server.uri;
  }
  const connection = await mongoose
    .createConnection(uri, { dbName: `epr_concurrency_report_${randomBytes(4).toString('hex')}` })
    .asPromise();
  const hello = await connection.db!.admin().command({ buildInfo: 1 });
  process.stdout.write(
    `server: ${server ? `FerretDB ${String(hello.ferretdbVersion ?? hello.version)} (SQLite)` : `MONGODB_URI (version ${String(hello.version)})`}; ${TRIALS} trials each\n\n`,
  );
  const store = new MongoTokenStore({ connection, logger: false });
  const future = (): Date => new Date(Date.now() + 600_000);

  try {
    await trials('MongoTokenStore.claim: winners of 50 parallel claims of one token', async (trial) => {
      await store.save({
        tokenHash: `claim-${trial}`,
        userId: `claim-user-${trial}`,
        email: 'a@example.com',
        createdAt: new Date(),
        expiresAt: future(),
      });
      const won = await Promise.all(Array.from({ length: 50 }, () => store.claim(`claim-${trial}`)));
      return won.filter(Boolean).length;
    });

    await trials('MongoTokenStore.takeAttempt: slots of 50 parallel takes, limit 5', async (trial) => {
      const slots = await Promise.all(
        Array.from({ length: 50 }, () => store.takeAttempt(`code:take-${trial}`, 5, future())),
      );
      return slots.filter((slot) => slot !== null).length;
    });

    const User = connection.model('ReportUser', new Schema({ email: String, passwordHash: String }));
    const mailer = new OutboxMailer({ logger: false });
    const events: PasswordResetEvent[] = [];
    const users = await User.create(
      Array.from({ length: TRIALS }, (_, i) => ({ email: `user${i}@example.com`, passwordHash: 'x' })),
    );
    const router = passwordReset({
      users: {
        findByEmail: async (email) => {
          const found = users.find((user) => user.email === email.toLowerCase());
          return found ? { id: String(found._id), email: found.email! } : null;
        },
        updatePassword: async () => undefined,
      },
      mongoose: { connection, collection: 'report_tokens' },
      mailer,
      code: { enabled: true, maxAttempts: 5 },
      secret: 'concurrency-report-secret-0123456789abcdef',
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      rateLimit: false,
      logger: false,
      hooks: {
        onEvent: (event) => {
          events.push(event);
        },
      },
    });
    const app = express().use('/auth', router);
    await trials('router: wrong codes counted of 50 parallel /verify, maxAttempts 5', async (trial) => {
      const email = `user${trial}@example.com`;
      await request(app).post('/auth/forgot').send({ email });
      for (let i = 0; i < 200 && !mailer.last(email); i += 1) await new Promise((wake) => setTimeout(wake, 10));
      const wrong = mailer.last(email)!.data.code === '000000' ? '111111' : '000000';
      events.length = 0;
      await Promise.all(
        Array.from({ length: 50 }, () => request(app).post('/auth/verify').send({ email, code: wrong })),
      );
      return events.filter((event) => event.type === 'verify.failed' && event.reason === 'wrong_code').length;
    });
    await router.close();

    const hits = new MongoRateLimitStore({ connection, collection: 'report_hits', logger: false });
    hits.init({ windowMs: 600_000 } as never);
    await trials('MongoRateLimitStore.increment: hits counted of 100 parallel increments', async (trial) => {
      await Promise.all(Array.from({ length: 100 }, () => hits.increment(`ip-${trial}`)));
      const counted = (await hits.get(`ip-${trial}`))?.totalHits ?? 0;
      // Counting scans on FerretDB/SQLite (only _id lookups are indexed there): keep the collection small between
      // trials.
      await hits.resetKey(`ip-${trial}`);
      return counted;
    });
    const limited = new MongoRateLimitStore({
      connection,
      collection: 'report_hits',
      prefix: 'limited:',
      logger: false,
    });
    limited.init({ windowMs: 600_000, limit: 5 } as never);
    await trials('MongoRateLimitStore.increment, limit 5: of 50 parallel hits within the limit', async (trial) => {
      const results = await Promise.all(Array.from({ length: 50 }, () => limited.increment(`ip-${trial}`)));
      await limited.resetKey(`ip-${trial}`);
      return results.filter((result) => result.totalHits <= 5).length;
    });
    await Promise.all([hits.shutdown(), limited.shutdown()]);

    process.stdout.write('\nalternatives not used, same server:\n');
    const naive = connection.collection('report_naive');
    await trials('findOneAndDelete: winners of 50 parallel', async (trial) => {
      await naive.insertOne({ k: `fod-${trial}` });
      const won = await Promise.all(Array.from({ length: 50 }, () => naive.findOneAndDelete({ k: `fod-${trial}` })));
      return won.filter((doc) => doc !== null).length;
    });
    await trials('updateOne {n < 5} $inc: winners of 50 parallel (a capped counter, should be 5)', async (trial) => {
      await naive.insertOne({ k: `cap-${trial}`, n: 0 });
      const won = await Promise.all(
        Array.from({ length: 50 }, () => naive.updateOne({ k: `cap-${trial}`, n: { $lt: 5 } }, { $inc: { n: 1 } })),
      );
      return won.filter((result) => result.modifiedCount === 1).length;
    });
    await trials('$inc upsert: count after 100 parallel increments', async (trial) => {
      await Promise.all(
        Array.from({ length: 100 }, () => naive.updateOne({ k: `inc-${trial}` }, { $inc: { n: 1 } }, { upsert: true })),
      );
      const docs = await naive.find({ k: `inc-${trial}` }).toArray();
      return docs.reduce((sum, doc) => sum + (doc.n as number), 0);
    });
  } finally {
    await store.close();
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
    await server?.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
