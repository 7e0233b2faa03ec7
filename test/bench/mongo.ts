/** The MongoDB-wire server for the Mongo rows: MONGODB_URI if set, else FerretDB as the tests build and start it. */
import { ensureFerretDb, startFerretDb } from '../support/ferretdb';

export interface BenchMongo {
  uri: string;
  kind: string;
  stop(): Promise<void>;
}

export async function startMongoForBench(): Promise<BenchMongo | undefined> {
  if (process.env.MONGODB_URI) {
    const uri = new URL(process.env.MONGODB_URI);
    uri.pathname = '/epr-bench';
    return { uri: uri.toString(), kind: 'MongoDB (MONGODB_URI)', stop: async () => undefined };
  }
  try {
    const server = await startFerretDb(await ensureFerretDb());
    const uri = new URL(server.uri);
    uri.pathname = '/epr-bench';
    return { uri: uri.toString(), kind: 'FerretDB 1.24, SQLite', stop: () => server.dispose() };
  } catch (error) {
    console.error(`Mongo rows skipped: ${(error as Error).message}`);
    return undefined;
  }
}
