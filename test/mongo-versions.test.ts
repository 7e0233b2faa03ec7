/**
 * Each Mongo project loads the mongoose major it is named after: `integration` mongoose 8, `integration-mongoose9`
 * mongoose 9 through the `mongoose9` alias (jest.config.js maps `mongoose` for tests and lib alike). Without this,
 * a mapping that silently fell back to mongoose 8 would run the same suites twice and prove nothing.
 */
import mongoose from 'mongoose';
import { MongoTokenStore } from '../lib';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

/** Set per jest project (jest.config.js `globals`). */
declare const EXPECTED_MONGOOSE_MAJOR: number;

describeMongo('the mongoose major of this project', () => {
  test('mongoose.version is the major the project is named after', () => {
    expect(mongoose.version.split('.')[0]).toBe(String(EXPECTED_MONGOOSE_MAJOR));
  });

  test('the store works on a connection of that mongoose, whose driver is the one that major ships', async () => {
    const connection = await openConnection(databaseName('versions'));
    try {
      expect(connection.base.version).toBe(mongoose.version);
      const store = new MongoTokenStore({ connection, logger: false });
      const record = {
        tokenHash: 'versions-token',
        userId: 'u-1',
        email: 'ada@example.com',
        expiresAt: new Date(Date.now() + 60_000),
        createdAt: new Date(),
      };
      await store.save(record);
      await store.markDelivered(record.tokenHash);
      expect(await store.findByUser('u-1')).toEqual(record);
      await store.close();
    } finally {
      await dropAndClose(connection);
    }
  });
});
