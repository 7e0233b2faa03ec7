/**
 * Guarantee 9: answers say what happened, also when the database stalls mid-request. The server is frozen
 * (SIGSTOP) right before one chosen call, so the call is sent but not answered; the router gives up on it after its
 * time limit and answers; the server then resumes (SIGCONT) and runs the call late. Each test checks that the router
 * settled what landed: a late password gets every after-reset step, a late claim gives the token back, a late token
 * insert supersedes nothing, and a late rate-limit hit is what the log line said it might be.
 */
import bcrypt from 'bcrypt';
import express from 'express';
import { Schema, type Connection, type Model } from 'mongoose';
import request from 'supertest';
import {
  MongoRateLimitStore,
  MongoTokenStore,
  OutboxMailer,
  mongooseUsers,
  passwordReset,
  type PasswordResetEvent,
  type PasswordResetOptions,
  type TokenStore,
  type UserAdapter,
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

/** The stores' and adapter's time limit here: short, so the router gives up well within the pause. */
const TIMEOUT_MS = 1000;
/** How long the server stays frozen: past the time limit, so the router answers while the call is still pending. */
const PAUSE_MS = 3000;
const SECRET = 'a test secret of at least thirty-two characters';
const NEW_PASSWORD = 'a fresh passphrase for ada';

describeMongo('guarantee 9: writes that land after the router gave up on them are settled', () => {
  let server: RestartableServer;
  let connection: Connection;
  let User: Model<UserFields>;
  let adaId: string;
  /** Freezes the server now and resumes it after PAUSE_MS; resolves when it runs again. */
  let resumed: Promise<void> = Promise.resolve();
  const stall = (): void => {
    server.pause();
    resumed = new Promise((done) =>
      setTimeout(() => {
        server.resume();
        done();
      }, PAUSE_MS),
    );
  };

  beforeAll(async () => {
    server = await startRestartableServer();
    connection = await openConnection(databaseName('late_writes'), server.uri);
    User = connection.model<UserFields>(
      'User',
      new Schema<UserFields>({ email: { type: String, lowercase: true }, passwordHash: String }),
    );
  });

  afterAll(async () => {
    server?.resume();
    await dropAndClose(connection).catch(() => undefined);
    await server?.dispose();
  });

  beforeEach(async () => {
    await User.deleteMany({});
    await connection.collection('password_reset_tokens').deleteMany({});
    adaId = String((await User.create({ email: 'ada@example.com', passwordHash: 'old-hash' }))._id);
  });

  afterEach(async () => {
    server.resume();
    await resumed;
  });

  /** A token store whose next call of `method` freezes the server first. */
  function stallingStore(inner: TokenStore): { store: TokenStore; stallBefore(method: keyof TokenStore): void } {
    let armed: keyof TokenStore | undefined;
    const store = new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (property === armed) {
            armed = undefined;
            stall();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    return { store, stallBefore: (method) => (armed = method) };
  }

  function setup(extra: Partial<PasswordResetOptions> = {}) {
    const events: PasswordResetEvent[] = [];
    const mailer = new OutboxMailer({ logger: false });
    const tokens = new MongoTokenStore({ connection, timeoutMs: TIMEOUT_MS, logger: false });
    const stalling = stallingStore(tokens);
    const baseUsers = mongooseUsers(User, {
      emailField: 'email',
      passwordField: 'passwordHash',
      timeoutMs: TIMEOUT_MS,
      logger: false,
    });
    let stallPassword = false;
    const users: UserAdapter = {
      findByEmail: (email) => baseUsers.findByEmail(email),
      updatePassword: (id, hash) => {
        if (stallPassword) {
          stallPassword = false;
          stall();
        }
        return baseUsers.updatePassword(id, hash);
      },
    };
    const resets: string[] = [];
    const router = passwordReset({
      users,
      store: stalling.store,
      mailer,
      secret: SECRET,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      rateLimit: false,
      logger: false,
      ...extra,
      hooks: {
        onEvent: (event) => {
          events.push(event);
        },
        onPasswordReset: (user) => {
          resets.push(user.id);
        },
      },
    });
    const app = express().use('/auth', router);
    const forgot = async (): Promise<{ token: string; code?: string }> => {
      const before = mailer.messages.length;
      await request(app).post('/auth/forgot').send({ email: 'ada@example.com' }).expect(202);
      for (let i = 0; i < 200 && mailer.messages.length === before; i += 1) await sleep(10);
      const message = mailer.messages.at(-1)!;
      return { token: /token=([\w-]+)/.exec(message.text)![1]!, code: message.data.code };
    };
    return {
      app,
      router,
      events,
      mailer,
      tokens,
      resets,
      forgot,
      stallBefore: stalling.stallBefore,
      stallPasswordWrite: () => (stallPassword = true),
    };
  }

  const storedHash = async (): Promise<string | undefined> => (await User.findById(adaId).lean().exec())?.passwordHash;

  test('a password that changed late gets every after-reset step, and the 503 does not say nothing changed', async () => {
    const t = setup();
    const { token } = await t.forgot();
    // A link still pending delivery elsewhere: a finished reset must take it down too.
    const pending = { tokenHash: 'p'.repeat(43), userId: adaId, email: 'ada@example.com' };
    await t.tokens.save({ ...pending, createdAt: new Date(), expiresAt: new Date(Date.now() + 60_000) });

    t.stallPasswordWrite();
    const answer = await request(app(t)).post('/auth/reset').send({ token, password: NEW_PASSWORD });
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(answer.body.error.message).toMatch(/may still take effect/);
    expect(t.resets).toEqual([]);

    await resumed;
    await t.router.close();
    expect(await bcrypt.compare(NEW_PASSWORD, (await storedHash())!)).toBe(true);
    expect(t.resets).toEqual([adaId]);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'reset.completed', userId: adaId, late: true }));
    expect(t.mailer.messages.map((message) => message.kind)).toEqual(['reset', 'changed']);
    expect(await t.tokens.find(pending.tokenHash)).toBeNull();
    expect(JSON.stringify(t.events)).not.toContain(token);
  });

  test('a claim that landed without a password change gives the token back', async () => {
    const t = setup();
    const { token } = await t.forgot();

    t.stallBefore('claim');
    const answer = await request(app(t)).post('/auth/reset').send({ token, password: NEW_PASSWORD });
    expect(answer.status).toBe(503);
    await resumed;
    await t.router.close();

    expect(t.events).toContainEqual(expect.objectContaining({ type: 'token.restored', userId: adaId }));
    expect(await storedHash()).toBe('old-hash');
    const again = setup();
    expect((await request(app(again)).post('/auth/verify').send({ token })).body).toMatchObject({ valid: true });
    expect((await request(app(again)).post('/auth/reset').send({ token, password: NEW_PASSWORD })).status).toBe(200);
    expect(await bcrypt.compare(NEW_PASSWORD, (await storedHash())!)).toBe(true);
    await again.router.close();
  });

  test('a token whose insert landed late supersedes nothing: the code and link the user has keep working', async () => {
    const t = setup({ code: { enabled: true } });
    const first = await t.forgot();

    t.stallBefore('save');
    await request(app(t)).post('/auth/forgot').send({ email: 'ada@example.com' }).expect(202);
    await resumed;
    await t.router.close();

    expect(t.events).toContainEqual(expect.objectContaining({ type: 'error', stage: 'forgot' }));
    expect(t.mailer.messages).toHaveLength(1);
    // The late insert did land: two tokens of Ada are stored, the newer one never delivered.
    const storedTokens = () => connection.collection('password_reset_tokens').find({ userId: adaId }).toArray();
    let stored = await storedTokens();
    // The frozen server runs the insert once it resumes, beside the calls made after it.
    for (let i = 0; i < 50 && stored.length < 2; i += 1) stored = await sleep(100).then(storedTokens);
    expect(stored.map((doc) => doc.delivered)).toEqual(expect.arrayContaining([true, false]));

    const again = setup({ code: { enabled: true } });
    const byCode = await request(app(again)).post('/auth/verify').send({ email: 'ada@example.com', code: first.code });
    expect(byCode.body).toMatchObject({ success: true, valid: true });
    expect((await request(app(again)).post('/auth/verify').send({ token: first.token })).status).toBe(200);
    await again.router.close();
  });

  test('a rate-limit hit sent while the server stalled: the request goes on, the log says it may still count, and it does', async () => {
    const warnings: string[] = [];
    const limited = passwordReset({
      users: { findByEmail: async () => null, updatePassword: async () => undefined },
      resetUrl: 'https://app.example/reset',
      mailer: new OutboxMailer({ logger: false }),
      rateLimit: {
        forgot: { windowMs: 60_000, limit: 3 },
        verify: false,
        reset: false,
        perEmail: false,
        store: (name) =>
          new MongoRateLimitStore({ connection, prefix: `stalled-${name}:`, timeoutMs: TIMEOUT_MS, logger: false }),
      },
      logger: { info: () => undefined, warn: (line: string) => warnings.push(line) },
    });
    const limitedApp = express().set('trust proxy', false).use('/auth', limited);
    await request(limitedApp).post('/auth/forgot').send({ email: 'nobody@example.com' }).expect(202);

    stall();
    const started = Date.now();
    const answer = await request(limitedApp).post('/auth/forgot').send({ email: 'nobody@example.com' });
    expect(answer.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(PAUSE_MS);
    expect(warnings.join('\n')).toMatch(/let through, and its hit may still be counted/);
    await resumed;
    await sleep(500);

    // Counted in the collection itself: the key (how supertest's address reads) and the window (a minute may turn
    // during the stall) are not what this test is about.
    const counted = await connection
      .collection('password_reset_rate_limits')
      .countDocuments({ prefix: 'stalled-forgot:' });
    // The hit before the stall, and the stalled one if its write landed: never a hit that was not a request.
    expect(counted === 1 || counted === 2).toBe(true);
    await limited.close();
  });

  function app(t: { app: express.Express }): express.Express {
    return t.app;
  }
});

function sleep(ms: number): Promise<void> {
  return new Promise((wake) => setTimeout(wake, ms));
}
