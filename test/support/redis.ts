/**
 * A real `redis-server` (the Debian package; `.ci/run` installs it) for the Redis suites, started by the test
 * itself on a free port with persistence off, and stopped after. Without the binary the suite is skipped with a
 * loud message, except in CI, where that is an error.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { inCi } from './ci';
import { freePort, killServer, spawnServer } from './server-process';

/** `REDIS_SERVER_BIN`, else `redis-server` on the PATH; undefined when neither runs. */
function findRedisServer(): string | undefined {
  const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? binary : undefined;
}

export const redisServerBinary: string | undefined = findRedisServer();

if (!redisServerBinary) {
  const reason = 'redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER_BIN)';
  if (inCi()) throw new Error(`No Redis server for the tests (CI=${process.env.CI}): ${reason}`);
  process.stderr.write(`\n!! REDIS SUITE SKIPPED: ${reason}\n\n`);
}

/** `describe` for suites that need Redis: skipped only outside CI (in CI a missing binary fails the suite above). */
export const describeRedis: jest.Describe = redisServerBinary ? describe : describe.skip;

/** A running redis-server. `stop()` then `start()` is a restart on the same port (the data is gone: no persistence). */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** SIGKILL: an abrupt outage, as a crash or a lost host would be. Open connections are cut. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and what is sent waits unanswered. */
  pause(): void;
  resume(): void;
  dispose(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  if (!redisServerBinary) throw new Error('no redis-server: the suite should have been skipped');
  const binary = redisServerBinary;
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    // No config file, no persistence, loopback only: nothing outlives the test.
    child = await spawnServer({
      name: 'redis-server',
      binary,
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'],
      port,
      timeoutMs: 10_000,
    });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    await killServer(proc);
  };

  await start();
  // Should jest exit without running afterAll, the server must not outlive it.
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    dispose: async () => {
      child?.kill('SIGCONT');
      await stop();
    },
  };
}
