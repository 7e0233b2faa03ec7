/**
 * mongooseUsers with a real user model on a real MongoDB-wire server, alone and
 * inside the whole flow with the bundled Mongo token store.
 */
import bcrypt from 'bcrypt';
import express from 'express';
import { Schema, type Connection, type Model } from 'mongoose';
import request from 'supertest';
import { OptionsError, OutboxMailer, mongooseUsers, passwordReset, type UserAdapter } from '../lib';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

interface UserFields {
  email: string;
  passwordHash: string;
  name?: string;
  locale?: string;
}

const userSchema = new Schema<UserFields>({
  email: { type: String, required: true, lowercase: true, trim: true, unique: true },
  passwordHash: { type: String, required: true },
  name: String,
  locale: String,
});

describeMongo('mongooseUsers', () => {
  let connection: Connection;
  let User: Model<UserFields>;
  let users: UserAdapter;
  const warnings: string[] = [];
  const logger = { warn: (message: string) => warnings.push(message), info: () => undefined };

  beforeAll(async () => {
    connection = await openConnection(databaseName('users'));
    User = connection.model<UserFields>('User', userSchema);
    await User.create([
      { email: 'Ada@Example.com', passwordHash: 'old-hash', name: 'Ada', locale: 'de' },
      { email: 'grace@example.com', passwordHash: 'old-hash' },
      { email: 'abc@example.com', passwordHash: 'old-hash' },
    ]);
    users = mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash', logger });
  });
  afterAll(() => dropAndClose(connection));

  test('finds a user by address in any case, with id, email, name and locale (lowercase: true, so no warning on any server)', async () => {
    const ada = await User.findOne({ email: 'ada@example.com' }).lean();
    for (const typed of ['ada@example.com', 'ADA@EXAMPLE.COM', 'Ada@Example.com']) {
      expect(await users.findByEmail(typed)).toEqual({
        id: String(ada!._id),
        email: 'ada@example.com',
        name: 'Ada',
        locale: 'de',
      });
    }
    expect(await users.findByEmail('Grace@Example.com')).toEqual({
      id: expect.any(String),
      email: 'grace@example.com',
    });
    expect(warnings).toEqual([]);
  });

  test('addresses stored as typed: found in any case under a collation; where the server has none, as typed only, with one warning', async () => {
    const Mixed = connection.model('MixedCaseUser', new Schema({ mail: String, hash: String }));
    const mixed = await Mixed.create({ mail: 'Mixed.Case@Example.com', hash: 'x' });
    const mixedUsers = mongooseUsers(Mixed, { emailField: 'mail', passwordField: 'hash', logger });
    expect((await mixedUsers.findByEmail('Mixed.Case@Example.com'))?.id).toBe(String(mixed._id));
    const otherCase = await mixedUsers.findByEmail('mixed.case@example.com');
    await mixedUsers.findByEmail('MIXED.CASE@EXAMPLE.COM');
    if (warnings.length === 0) {
      // MongoDB: collation strength 2.
      expect(otherCase?.id).toBe(String(mixed._id));
    } else {
      // FerretDB 1.x: no collations; the app is told, once, to store addresses lowercased.
      expect(otherCase).toBeNull();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/does not support collations.*store "mail" lowercased \(lowercase: true\)/);
    }
  });

  test('unknown addresses and regular-expression look-alikes find nobody', async () => {
    expect(await users.findByEmail('nobody@example.com')).toBeNull();
    expect(await users.findByEmail('a.c@example.com')).toBeNull();
    expect(await users.findByEmail('.*@example.com')).toBeNull();
    expect(await users.findByEmail('^abc@example.com$')).toBeNull();
  });

  test('a non-string address is refused, never turned into a query', async () => {
    await expect(users.findByEmail({ $gt: '' } as unknown as string)).rejects.toThrow(TypeError);
  });

  test('updatePassword writes the configured field of that user only', async () => {
    const grace = await users.findByEmail('grace@example.com');
    await users.updatePassword(grace!.id, 'new-hash');
    expect((await User.findById(grace!.id).lean())?.passwordHash).toBe('new-hash');
    expect((await User.findOne({ email: 'abc@example.com' }).lean())?.passwordHash).toBe('old-hash');
    await expect(users.updatePassword('0123456789abcdef01234567', 'x')).rejects.toThrow(/no User with this id/);
  });

  test('refuses fields the schema does not have, naming the option', () => {
    expect(() => mongooseUsers(User, { emailField: 'mail', passwordField: 'passwordHash' })).toThrow(OptionsError);
    expect(() => mongooseUsers(User, { emailField: 'email', passwordField: 'password' })).toThrow(
      /mongooseUsers.passwordField.*"password"/,
    );
    expect(() =>
      mongooseUsers({} as Model<UserFields>, { emailField: 'email', passwordField: 'passwordHash' }),
    ).toThrow(/Mongoose model/);
  });

  test('the whole flow on MongoDB: forgot, verify, reset writes a bcrypt hash, the link then dies', async () => {
    const mailer = new OutboxMailer({ logger: false });
    const router = passwordReset({
      users: mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash', logger: false }),
      mongoose: { connection, collection: 'flow_tokens' },
      mailer,
      resetUrl: 'https://app.example/reset',
      bcryptRounds: 4,
      logger: false,
    });
    const app = express().use('/auth', router);
    try {
      expect((await request(app).post('/auth/forgot').send({ email: 'ADA@example.com' })).status).toBe(202);
      for (let i = 0; i < 100 && mailer.messages.length === 0; i += 1)
        await new Promise((wake) => setTimeout(wake, 20));
      const message = mailer.last('ada@example.com');
      expect(message?.data).toMatchObject({ name: 'Ada' });
      const token = new URL(/https:\/\/app\.example\/reset\?token=[\w-]+/.exec(message!.text)![0]).searchParams.get(
        'token',
      )!;

      expect((await request(app).post('/auth/verify').send({ token })).body).toMatchObject({
        success: true,
        valid: true,
      });
      expect((await request(app).post('/auth/reset').send({ token, password: 'a fresh passphrase' })).body).toEqual({
        success: true,
      });
      const stored = await User.findOne({ email: 'ada@example.com' }).lean();
      expect(await bcrypt.compare('a fresh passphrase', stored!.passwordHash)).toBe(true);
      const again = await request(app).post('/auth/reset').send({ token, password: 'another passphrase' });
      expect(again.status).toBe(400);
      expect(again.body.error.code).toBe('TOKEN_INVALID');
    } finally {
      await router.close();
    }
  });
});

interface LifecycleFields {
  email: string;
  passwordHash: string;
  passwordChangedAt?: Date;
  emailVerified?: boolean;
}

describeMongo(
  'mongooseUsers passwordChangedAtField and emailVerifiedField (guarantee: a reset is recorded on the user)',
  () => {
    let connection: Connection;
    let User: Model<LifecycleFields>;
    /** Every `update` command sent on the users collection, as the server received it. */
    const updates: { updates: unknown; writeConcern: unknown }[] = [];
    const options = {
      emailField: 'email',
      passwordField: 'passwordHash',
      passwordChangedAtField: 'passwordChangedAt',
      emailVerifiedField: 'emailVerified',
      logger: false,
    } as const;

    beforeAll(async () => {
      // An app whose default would acknowledge by one node: the writes must ask for a majority anyway.
      connection = await openConnection(databaseName('users_lifecycle'), undefined, { monitorCommands: true, w: 1 });
      connection.getClient().on('commandStarted', (event) => {
        const command = event.command as Record<string, unknown>;
        if (event.commandName === 'update' && command.update === 'lifecycle_users')
          updates.push({ updates: command.updates, writeConcern: command.writeConcern });
      });
      User = connection.model<LifecycleFields>(
        'LifecycleUser',
        new Schema<LifecycleFields>({
          email: { type: String, required: true, lowercase: true },
          passwordHash: { type: String, required: true },
          passwordChangedAt: Date,
          emailVerified: { type: Boolean, default: false },
        }),
        'lifecycle_users',
      );
    });
    afterAll(() => dropAndClose(connection));

    test('updatePassword sets passwordChangedAt to the time of the reset in the same majority write as the hash', async () => {
      const { _id } = await User.create({ email: 'ada@example.com', passwordHash: 'old-hash' });
      const users = mongooseUsers(User, options);
      updates.length = 0;
      const before = Date.now();
      await users.updatePassword(String(_id), 'new-hash');
      const stored = await User.findById(_id).lean();
      expect(stored?.passwordHash).toBe('new-hash');
      expect(stored?.passwordChangedAt).toBeInstanceOf(Date);
      expect(stored!.passwordChangedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(stored!.passwordChangedAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      expect(stored?.emailVerified).toBe(false);
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({
        updates: [{ u: { $set: { passwordHash: 'new-hash', passwordChangedAt: expect.any(Date) } } }],
        writeConcern: { w: 'majority' },
      });

      const first = stored!.passwordChangedAt!.getTime();
      await new Promise((wake) => setTimeout(wake, 5));
      await users.updatePassword(String(_id), 'newer-hash');
      expect((await User.findById(_id).lean())!.passwordChangedAt!.getTime()).toBeGreaterThan(first);
    });

    test('markEmailVerified sets emailVerified to true by majority, and only with emailVerifiedField', async () => {
      const { _id } = await User.create({ email: 'grace@example.com', passwordHash: 'old-hash' });
      const users = mongooseUsers(User, options);
      updates.length = 0;
      await users.markEmailVerified!(String(_id));
      expect((await User.findById(_id).lean())?.emailVerified).toBe(true);
      expect(updates).toEqual([
        expect.objectContaining({ updates: [expect.objectContaining({ u: { $set: { emailVerified: true } } })] }),
      ]);
      expect(updates[0]!.writeConcern).toMatchObject({ w: 'majority' });
      await expect(users.markEmailVerified!('0123456789abcdef01234567')).rejects.toThrow(/no LifecycleUser/);
      expect(mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash' }).markEmailVerified).toBe(
        undefined,
      );
    });

    test('refuses a passwordChangedAtField or emailVerifiedField the schema does not have, naming the option', () => {
      expect(() => mongooseUsers(User, { ...options, passwordChangedAtField: 'changedAt' })).toThrow(
        /"mongooseUsers\.passwordChangedAtField" names "changedAt", which is not a path of the LifecycleUser schema/,
      );
      expect(() => mongooseUsers(User, { ...options, emailVerifiedField: 'verified' })).toThrow(
        /"mongooseUsers\.emailVerifiedField" names "verified"/,
      );
      expect(() => mongooseUsers(User, { ...options, emailVerifiedField: '' })).toThrow(OptionsError);
    });

    test('a reset through the router records both on the user', async () => {
      const { _id } = await User.create({ email: 'linus@example.com', passwordHash: 'old-hash' });
      const mailer = new OutboxMailer({ logger: false });
      const router = passwordReset({
        users: mongooseUsers(User, options),
        mongoose: { connection, collection: 'lifecycle_tokens' },
        mailer,
        resetUrl: 'https://app.example/reset',
        bcryptRounds: 4,
        logger: false,
      });
      const app = express().use('/auth', router);
      try {
        expect((await request(app).post('/auth/forgot').send({ email: 'linus@example.com' })).status).toBe(202);
        for (let i = 0; i < 100 && mailer.messages.length === 0; i += 1)
          await new Promise((wake) => setTimeout(wake, 20));
        const token = new URL(mailer.last('linus@example.com')!.data.resetUrl!).searchParams.get('token')!;
        const reset = await request(app).post('/auth/reset').send({ token, password: 'a fresh passphrase' });
        expect(reset.status).toBe(200);
        const stored = await User.findById(_id).lean();
        expect(await bcrypt.compare('a fresh passphrase', stored!.passwordHash)).toBe(true);
        expect(stored?.passwordChangedAt).toBeInstanceOf(Date);
        expect(stored?.emailVerified).toBe(true);
      } finally {
        await router.close();
      }
    });
  },
);
