/**
 * The process side of the servers the suites start themselves (FerretDB, redis-server): a free port, a spawn that
 * resolves once the server accepts connections (or fails with what it printed), and a kill that waits for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (the OS picks it; the short window before the server binds it is fine in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface ServerCommand {
  /** Named in errors: `FerretDB`, `redis-server`. */
  name: string;
  binary: string;
  args: string[];
  port: number;
  /** How long the server may take to accept its first connection. */
  timeoutMs: number;
}

/** Spawns the server and resolves once it accepts connections on its port; its last output is in every error. */
export async function spawnServer({ name, binary, args, port, timeoutMs }: ServerCommand): Promise<ChildProcess> {
  let output = '';
  let exited: string | undefined;
  const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  const deadline = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (exited) throw new Error(`${name} ${exited} before accepting connections on port ${port}: ${output}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} did not accept connections on port ${port} within ${timeoutMs / 1000} s: ${output}`);
    }
    await new Promise((wake) => setTimeout(wake, 20));
  }
  return proc;
}

/** SIGKILL (an abrupt outage), resolved once the process is gone; nothing to do for one that already ended. */
export async function killServer(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((done) => {
    proc.once('exit', () => done());
    proc.kill('SIGKILL');
  });
}
