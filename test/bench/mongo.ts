/** The MongoDB-wire server for the Mongo rows: MONGODB_URI if set, else the tests' FerretDB. */
export interface BenchMongo {
  uri: string;
  kind: string;
  stop(): Promise<void>;
}

export async function startMongoForBench(): Promise<BenchMongo | undefined> {
  if (process.env.MONGODB_URI) return { uri: process.env.MONGODB_URI, kind: 'MONGODB_URI', stop: async () => undefined };
  return undefined;
}
