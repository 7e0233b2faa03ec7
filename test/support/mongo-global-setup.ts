/**
 * jest globalSetup: gives the MongoDB suites a real server over TCP.
 *
 * In this order: `MONGODB_URI` when set (any MongoDB 5+ or MongoDB-wire server);
 * otherwise FerretDB, built from its Go module on first use and started on a
 * free port with a fresh data directory. When neither is possible the Mongo
 * suites are skipped with a loud message, except in CI, where that is an error.
 *
 * Tests read the outcome from the environment (see `test/support/mongo.ts`):
 * `TEST_MONGODB_URI`, `TEST_FERRETDB_BIN` (for tests that run their own server)
 * and `TEST_MONGODB_SKIP` (the reason, when skipped).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inCi } from './ci';
import { ensureFerretDb, FERRETDB_CACHE_DIR, startFerretDb, type FerretDbServer } from './ferretdb';

/** Shared with the teardown, which jest runs in the same process. */
const shared = globalThis as { __EPR_FERRETDB__?: FerretDbServer };

function shout(lines: string[]): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((line) => `!! ${line}`).join('\n')}\n${bar}\n\n`);
}

export default async function mongoGlobalSetup(): Promise<void> {
  const cached = join(FERRETDB_CACHE_DIR, 'ferretdb');
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    // The outage test runs its own FerretDB when a binary is at hand, else it cuts a TCP proxy in front of MONGODB_URI.
    if (existsSync(cached)) process.env.TEST_FERRETDB_BIN = cached;
    return;
  }
  try {
    const binary = await ensureFerretDb();
    const server = await startFerretDb(binary);
    shared.__EPR_FERRETDB__ = server;
    // Should jest exit without running the teardown, the server must not outlive it.
    process.once('exit', () => {
      if (server.pid !== undefined) process.kill(server.pid, 'SIGKILL');
    });
    process.env.TEST_MONGODB_URI = server.uri;
    process.env.TEST_FERRETDB_BIN = binary;
  } catch (error) {
    const reason = (error as Error).message;
    if (inCi()) throw new Error(`No MongoDB server for the tests (CI=${process.env.CI}): ${reason}`, { cause: error });
    process.env.TEST_MONGODB_SKIP = reason;
    shout([
      'MongoDB SUITES SKIPPED: no MongoDB server available.',
      `Reason: ${reason.split('\n')[0]}`,
      'Install Go (FerretDB is then built and started automatically) or run',
      'MONGODB_URI=mongodb://127.0.0.1:27017 npm test. In CI (CI=true) this is an error.',
    ]);
  }
}
