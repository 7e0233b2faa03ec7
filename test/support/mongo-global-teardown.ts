/** jest globalTeardown: stops the FerretDB server the global setup started and deletes its data. */
import type { FerretDbServer } from './ferretdb';

export default async function mongoGlobalTeardown(): Promise<void> {
  const shared = globalThis as { __EPR_FERRETDB__?: FerretDbServer };
  const server = shared.__EPR_FERRETDB__;
  shared.__EPR_FERRETDB__ = undefined;
  await server?.dispose();
}
