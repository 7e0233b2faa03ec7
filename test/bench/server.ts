/**
 * A benchmark target, run in its own process so the load generator never
 * shares its event loop. Scenario from argv[2]; answers the parent over IPC.
 */
import express from 'express';
import bcrypt from 'bcrypt';
import mongoose from 'mongoose';
import type { AddressInfo } from 'node:net';
import {
  MemoryTokenStore,
  MongoTokenStore,
  passwordReset,
  type PasswordResetOptions,
  type TokenStore,
  type UserAdapter,
} from '../../lib';
import { generateToken, hashToken } from '../../lib/core/tokens';
import { KNOWN_EMAIL, type ChildMessage, type ParentMessage, type Scenario } from './protocol';

const BENCH_USER = { id: 'u-known', email: KNOWN_EMAIL, name: 'Bench' };
const NUMBERED = /^user-(\d+)@bench\.example$/;

/** The known address, plus `user-<n>@bench.example` so that pre-issued tokens belong to distinct users. */
const users: UserAdapter = {
  findByEmail: async (email) => {
    const lower = email.toLowerCase();
    if (lower === KNOWN_EMAIL) return BENCH_USER;
    const match = NUMBERED.exec(lower);
    return match ? { id: `u-${match[1]}`, email: lower } : null;
  },
  updatePassword: async () => undefined,
};

/** A mailer that takes as long as a real provider round trip. */
const slowMailer = { send: () => new Promise<void>((resolve) => setTimeout(resolve, 200)) };

async function main(): Promise<void> {
  const scenario = process.argv[2] as Scenario;
  const send = (message: ChildMessage): void => void process.send?.(message);
  const app = express();
  let store: TokenStore | undefined;
  let commands = 0;
  const base: PasswordResetOptions = {
    users,
    resetUrl: 'https://bench.example/reset',
    mailer: slowMailer,
    logger: false,
    rateLimit: false,
  };

  if (scenario === 'floor') {
    app.use(express.json());
    app.post('/forgot', (_req, res) => void res.status(202).json({ success: true, message: 'ok' }));
  } else if (scenario === 'forgot' || scenario === 'forgot-limited') {
    app.use(passwordReset({ ...base, ...(scenario === 'forgot-limited' ? { rateLimit: {} } : {}) }));
  } else if (scenario === 'tokens') {
    store = new MemoryTokenStore({ maxTokens: 1_000_000 });
    app.use(passwordReset({ ...base, store, emails: { sendChangedNotice: false } }));
  } else {
    const uri = process.env.BENCH_MONGODB_URI;
    if (!uri) throw new Error('BENCH_MONGODB_URI is not set');
    await mongoose.connect(uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
    mongoose.connection.getClient().on('commandStarted', () => {
      commands += 1;
    });
    // The bundled store on the app's connection, as `mongoose: { connection }` builds it; kept here to pre-issue
    // tokens.
    store = new MongoTokenStore({ connection: mongoose.connection });
    app.use(passwordReset({ ...base, store, emails: { sendChangedNotice: false } }));
  }

  process.on('message', (message: ParentMessage) => {
    (async () => {
      if (message.type === 'commands') return send({ type: 'commands', count: commands });
      if (message.type === 'cpu') {
        const { user, system } = process.cpuUsage();
        return send({ type: 'cpu', us: user + system });
      }
      if (message.type === 'bcrypt') {
        const started = performance.now();
        for (let i = 0; i < message.count; i += 1) await bcrypt.hash(`bench password ${i}`, 12);
        return send({ type: 'bcrypt', msPerOp: (performance.now() - started) / message.count });
      }
      // Pre-issued tokens, one per request, written straight into the store the router reads.
      const tokens: string[] = [];
      const now = Date.now();
      for (let i = 0; i < message.count; i += 1) {
        const token = generateToken();
        tokens.push(token);
        await store?.save({
          tokenHash: hashToken(token),
          userId: `u-${i}`,
          email: `user-${i}@bench.example`,
          expiresAt: new Date(now + 3_600_000),
          createdAt: new Date(now),
        });
      }
      return send({ type: 'issued', tokens });
    })().catch((error: unknown) => {
      console.error(`bench target: ${(error as Error).message}`);
      process.exit(1);
    });
  });

  // For profiling by hand: `BENCH_PORT=4000 node --cpu-prof --import tsx test/bench/server.ts forgot`, then Ctrl-C.
  process.once('SIGINT', () => process.exit(0));
  const server = app.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () =>
    send({ type: 'ready', port: (server.address() as AddressInfo).port }),
  );
}

void main();
