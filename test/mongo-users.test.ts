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
