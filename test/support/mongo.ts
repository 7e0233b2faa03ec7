/**
 * What the Mongo suites share: the server the global setup provided, one
 * database per test file (suites run in parallel on one server), and a
 * server of their own for tests that stop and restart it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import mongoose, { Schema, type Connection } from 'mongoose';
import { startFerretDb } from './ferretdb';
import { freePort } from './server-process';

/** The shared server's URI, or undefined when the global setup found none (then the suites are skipped, loudly). */
export const mongoUri: string | undefined = process.env.TEST_MONGODB_URI;

/** `describe` for suites that need MongoDB. Skipping only happens outside CI, and the global setup says why. */
export const describeMongo: jest.Describe = mongoUri ? describe : describe.skip;

/** A fresh database name, unique per call, within the 63-character limit of database names. */
export function databaseName(label: string): string {
  return `epr_${label.replace(/[^A-Za-z0-9]/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

/**
 * A new Mongoose connection to `database` on `uri`, as an app would open it.
 * Server selection is kept short so a test against a dead server fails in seconds, not 30.
 */
export async function openConnection(
  database: string,
  uri: string = requireUri(),
  options: mongoose.ConnectOptions = {},
): Promise<Connection> {
  const connection = mongoose.createConnection(uri, { dbName: database, serverSelectionTimeoutMS: 5000, ...options });
  await connection.asPromise();
  return connection;
}

/** Drops the connection's database and closes it. */
export async function dropAndClose(connection: Connection | undefined): Promise<void> {
  if (!connection) return;
  try {
    await connection.dropDatabase();
  } finally {
    await connection.close();
  }
}

function requireUri(): string {
  if (!mongoUri) throw new Error('no MongoDB server: the suite should have been skipped');
  return mongoUri;
}

/** A database server a test may stop and start without disturbing the suites that share the main one. */
export interface RestartableServer {
  uri: string;
  /** The server goes away: new connections are refused, open ones are cut. */
  stop(): Promise<void>;
  /** It comes back, with its data. */
  start(): Promise<void>;
  /** It stalls: what is sent waits unanswered (SIGSTOP for FerretDB, held bytes for the proxy). */
  pause(): void;
  /** It works through what was sent while it stalled. */
  resume(): void;
  dispose(): Promise<void>;
}

/**
 * Its own FerretDB process when a binary is at hand (the default). Against an
 * external `MONGODB_URI` without FerretDB, a TCP proxy in front of that server
 * whose stop() refuses and cuts connections, which the driver sees as a server outage.
 */
export async function startRestartableServer(): Promise<RestartableServer> {
  const binary = process.env.TEST_FERRETDB_BIN;
  if (binary) return startFerretDb(binary);
  return startOutageProxy(requireUri());
}

async function startOutageProxy(target: string): Promise<RestartableServer> {
  const url = new URL(target);
  if (url.protocol !== 'mongodb:' || url.host.includes(',')) {
    throw new Error('the outage test needs FerretDB (install Go) or a single-host mongodb:// MONGODB_URI');
  }
  const upstreamHost = url.hostname;
  const upstreamPort = Number(url.port || 27017);
  const port = await freePort();
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  let server: Server | undefined;
  let paused = false;

  const start = (): Promise<void> =>
    new Promise((listening, reject) => {
      if (server) return listening();
      const proxy = createServer((client) => {
        clients.add(client);
        client.on('close', () => clients.delete(client));
        if (paused) client.pause();
        const upstream = connect(upstreamPort, upstreamHost);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      proxy.once('error', reject);
      proxy.listen(port, '127.0.0.1', () => {
        server = proxy;
        listening();
      });
    });
  const stop = async (): Promise<void> => {
    const proxy = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (proxy) await new Promise<void>((closed) => proxy.close(() => closed()));
  };

  await start();
  const proxied = new URL(target);
  proxied.host = `127.0.0.1:${port}`;
  proxied.searchParams.set('directConnection', 'true');
  const pause = (): void => {
    paused = true;
    for (const client of clients) client.pause();
  };
  const resume = (): void => {
    paused = false;
    for (const client of clients) client.resume();
  };
  return { uri: proxied.toString(), start, stop, pause, resume, dispose: stop };
}

/** The users of the suites that run whole apps on Mongo: an address (unique, lowercased) and a bcrypt hash. */
export interface UserFields {
  email: string;
  passwordHash: string;
}

export const userSchema = new Schema<UserFields>({
  email: { type: String, lowercase: true, unique: true },
  passwordHash: String,
});
