/**
 * Replica sets: the writes that decide a race are acknowledged by a majority, and the reads that decide validity go
 * to the primary, whatever the app's connection defaults to. The write concern is proved with the driver's command
 * monitoring (what the server is sent). A read preference is not sent to a standalone server at all, so for reads the
 * proof is the option handed to the driver, which selects the server by it.
 */
import mongoose, { Schema, type Connection } from 'mongoose';
import { MongoTokenStore, mongooseUsers } from '../lib';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

interface SentCommand {
  name: string;
  collection: unknown;
  writeConcern?: unknown;
}

describeMongo('replica sets: deciding writes by majority, deciding reads from the primary', () => {
  let connection: Connection;
  const sent: SentCommand[] = [];
  /** The read preference of every find handed to the driver, per collection. */
  const reads: { collection: string; mode: unknown }[] = [];

  beforeAll(async () => {
    // An app whose defaults would weaken both: acknowledgement by one node, reads from secondaries.
    connection = await openConnection(databaseName('write_concern'), undefined, {
      monitorCommands: true,
      w: 1,
      readPreference: 'secondaryPreferred',
    });
    connection.getClient().on('commandStarted', (event) => {
      const command = event.command as Record<string, unknown>;
      sent.push({
        name: event.commandName,
        collection: command[event.commandName],
        writeConcern: command.writeConcern,
      });
    });
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await dropAndClose(connection);
  });

  beforeEach(() => {
    const { Collection } = mongoose.mongo;
    for (const method of ['find', 'findOne'] as const) {
      const original = Collection.prototype[method] as (...args: unknown[]) => unknown;
      jest.spyOn(Collection.prototype, method).mockImplementation(function (
        this: mongoose.mongo.Collection,
        ...args: unknown[]
      ) {
        const options = args[1] as { readPreference?: string | { mode: string } } | undefined;
        const preference = options?.readPreference;
        reads.push({
          collection: this.collectionName,
          mode: typeof preference === 'string' ? preference : preference?.mode,
        });
        return original.apply(this, args);
      } as never);
    }
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const readsOf = (...collections: string[]) =>
    reads.filter((read) => collections.includes(read.collection)).map((read) => read.mode);

  const commandsOn = (collection: string) => sent.filter((command) => command.collection === collection);

  test('the token store: claim, supersede, attempt slots by majority; finds from the primary', async () => {
    const store = new MongoTokenStore({ connection, collection: 'wc_tokens', logger: false });
    const record = {
      tokenHash: 'w'.repeat(43),
      userId: 'user-1',
      email: 'ada@example.com',
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    };
    sent.length = 0;
    reads.length = 0;
    await store.save(record);
    await store.markDelivered(record.tokenHash);
    await store.find(record.tokenHash);
    await store.findByUser('user-1');
    await store.takeAttempt('code:user-1', 3, new Date(Date.now() + 60_000));
    await store.releaseAttempt('code:user-1', 1);
    await store.claim(record.tokenHash);
    await store.revokeUser('user-1');
    await store.close();

    const writes = [...commandsOn('wc_tokens'), ...commandsOn('wc_tokens_attempts')].filter((command) =>
      ['insert', 'update', 'delete', 'findAndModify'].includes(command.name),
    );
    expect(writes.map((command) => command.name).sort()).toEqual(
      // markDelivered is one `update` command (mark, supersede the older, match the newer delivered).
      ['delete', 'delete', 'delete', 'insert', 'insert', 'update'].sort(),
    );
    for (const write of writes) expect(write).toMatchObject({ writeConcern: { w: 'majority' } });

    const modes = readsOf('wc_tokens', 'wc_tokens_attempts');
    // find, findByUser, the newer-delivered check of markDelivered, the held slots of takeAttempt (the driver's
    // findOne goes through find, so some count twice).
    expect(modes.length).toBeGreaterThanOrEqual(4);
    expect(new Set(modes)).toEqual(new Set(['primary']));
  });

  test('mongooseUsers: the password write by majority, the lookup from the primary', async () => {
    const User = connection.model('WcUser', new Schema({ email: String, passwordHash: String }), 'wc_users');
    const { _id } = await User.create({ email: 'ada@example.com', passwordHash: 'old' });
    const users = mongooseUsers(User, { emailField: 'email', passwordField: 'passwordHash', logger: false });
    sent.length = 0;
    reads.length = 0;
    await users.findByEmail('ada@example.com');
    await users.updatePassword(String(_id), 'new-hash');

    const [update] = commandsOn('wc_users').filter((command) => command.name === 'update');
    expect(update).toMatchObject({ writeConcern: { w: 'majority' } });
    expect(readsOf('wc_users').length).toBeGreaterThanOrEqual(1);
    expect(new Set(readsOf('wc_users'))).toEqual(new Set(['primary']));
  });
});
