/**
 * FerretDB 1.24 (a MongoDB-wire server written in Go, SQLite backend) as the
 * test database: built from its Go module on first use, cached under
 * node_modules/.cache/ferretdb, started on a free port with a fresh data directory.
 *
 * Why FerretDB: no MongoDB binary can be downloaded on every machine that runs
 * these tests, but the Go module proxy is reachable wherever Go is installed.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort, killServer, spawnServer } from './server-process';

const run = promisify(execFile);

export const FERRETDB_VERSION = 'v1.24.0';
const MODULE = `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`;

/**
 * Where the built binary is kept between runs (removed with node_modules).
 * `EPR_FERRETDB_CACHE_DIR` points elsewhere, e.g. an empty directory to try the build.
 */
export const FERRETDB_CACHE_DIR =
  process.env.EPR_FERRETDB_CACHE_DIR ??
  resolve(__dirname, '..', '..', 'node_modules', '.cache', 'ferretdb', FERRETDB_VERSION);

function log(message: string): void {
  process.stderr.write(`[ferretdb] ${message}\n`);
}

/** Makes a copied module tree writable (the Go module cache is read-only). */
function makeWritable(path: string): void {
  chmodSync(path, statSync(path).mode | 0o200);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) makeWritable(join(path, entry));
}

/**
 * Returns the path of the FerretDB binary, building it from the Go module when
 * the cache is empty (about two minutes the first time). Throws when Go is
 * missing or the build fails.
 */
export async function ensureFerretDb(cacheDir: string = FERRETDB_CACHE_DIR): Promise<string> {
  const binary = join(cacheDir, 'ferretdb');
  if (existsSync(binary)) return binary;

  try {
    await run('go', ['version']);
  } catch {
    throw new Error('Go is not installed (needed once to build FerretDB for the MongoDB tests; or set MONGODB_URI)');
  }
  log(`building FerretDB ${FERRETDB_VERSION} from its Go module (first run only, about 2 minutes)...`);
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'epr-ferretdb-build-'));
  try {
    // `go install ...@version` fails where the proxy refuses its deprecation lookup, so build the downloaded module in
    // place.
    const { stdout } = await run('go', ['mod', 'download', '-json', MODULE], {
      cwd: work,
      maxBuffer: 16 * 1024 * 1024,
    });
    const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!moduleDir) throw new Error(`go mod download did not report a directory for ${MODULE}`);
    const source = join(work, 'src');
    cpSync(moduleDir, source, { recursive: true });
    makeWritable(source);
    // Release builds get version.txt from FerretDB's build tooling; without it the binary panics at start.
    writeFileSync(join(source, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    const built = join(work, 'ferretdb');
    await run('go', ['build', '-buildvcs=false', '-o', built, './cmd/ferretdb'], {
      cwd: source,
      maxBuffer: 64 * 1024 * 1024,
    });
    mkdirSync(cacheDir, { recursive: true });
    // Rename last, so a concurrent run never sees a half-written binary.
    const staged = join(cacheDir, `ferretdb.${process.pid}.tmp`);
    cpSync(built, staged);
    chmodSync(staged, 0o755);
    renameSync(staged, binary);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    throw new Error(
      `building FerretDB failed: ${(error as Error).message}${stderr ? `\n${stderr.slice(-2000)}` : ''}`,
      {
        cause: error,
      },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`built in ${Math.round((Date.now() - started) / 1000)} s, cached at ${binary}`);
  return binary;
}

/** A running FerretDB process. `stop()` and `start()` keep the port and the data, like a server restart. */
export interface FerretDbServer {
  readonly uri: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** Stops the process (SIGKILL: an abrupt outage, as a crash or a lost host would be). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, requests wait unanswered, as on a stalled host. */
  pause(): void;
  /** Lets it run again (SIGCONT): it then works through what was sent while it was frozen. */
  resume(): void;
  /** Stops it and deletes its data directory. */
  dispose(): Promise<void>;
}

/** Starts FerretDB on a free port with a fresh data directory and resolves once it accepts connections. */
export async function startFerretDb(binary: string, options: { port?: number } = {}): Promise<FerretDbServer> {
  const port = options.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'epr-ferretdb-data-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = await spawnServer({
      name: 'FerretDB',
      binary,
      args: [
        '--handler=sqlite',
        `--sqlite-url=file:${dataDir}/`,
        `--state-dir=${dataDir}`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=error',
      ],
      port,
      timeoutMs: 20_000,
    });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    await killServer(proc);
  };

  await launch();
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    dataDir,
    get pid() {
      return child?.pid;
    },
    stop,
    start: launch,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    dispose: async () => {
      child?.kill('SIGCONT');
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
