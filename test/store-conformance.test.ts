/**
 * The `TokenStore` conformance suite (exported as `express-password-reset/testing`
 * for store authors) against both bundled stores: MemoryTokenStore, and
 * MongoTokenStore on a real MongoDB-wire server.
 */
import type { Connection } from 'mongoose';
import { MemoryTokenStore, MongoTokenStore } from '../lib';
import { tokenStoreConformance, type TokenStoreSubject } from '../lib/testing';
import { databaseName, describeMongo, dropAndClose, openConnection } from './support/mongo';

const RETENTION_MS = 3_600_000;

/** A store whose clock the case moves forward. */
function withClock<Store extends TokenStoreSubject['store']>(
  build: (now: () => number) => Store,
  purge: (store: Store) => Promise<void>,
): TokenStoreSubject {
  let offset = 0;
  const store = build(() => Date.now() + offset);
  const advance = (ms: number): void => {
    offset += ms;
  };
  return { store, advance, purge: () => purge(store) };
}

describe('TokenStore conformance: MemoryTokenStore', () => {
  const cases = tokenStoreConformance({
    expiredRetentionMs: RETENTION_MS,
    createSubject: async () =>
      withClock(
        (now) => new MemoryTokenStore({ now, expiredRetentionMs: RETENTION_MS }),
        async (store) => store.purge(),
      ),
  });
  for (const { name, run } of cases) test(name, run);
});

let connection: Connection | undefined;
let collections = 0;
describeMongo('TokenStore conformance: MongoTokenStore', () => {
  beforeAll(async () => {
    connection = await openConnection(databaseName('conformance'));
  });
  afterAll(() => dropAndClose(connection));
  const cases = tokenStoreConformance({
    expiredRetentionMs: RETENTION_MS,
    createSubject: async () => {
      collections += 1;
      // A collection per case keeps cases independent without cleanup between them.
      return withClock(
        (now) =>
          new MongoTokenStore({
            connection: connection!,
            collection: `tokens_${collections}`,
            expiredRetentionMs: RETENTION_MS,
            now,
            logger: false,
          }),
        (store) => store.purge(),
      );
    },
  });
  for (const { name, run } of cases) test(name, run);
});
