import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { createClient } from 'redis';
import type { RateLimitOptions } from '../lib';

/** One Redis connection for every limiter of every router in this process. */
export function createRedisClient(url: string) {
  const client = createClient({
    url,
    // While the connection is down, a command fails at once and the limiter lets the request through. Queued
    // instead (the default), every request would wait out the command timeout (5 s) first.
    disableOfflineQueue: true,
    // Commands a stalled Redis has not answered stay here until it answers or the connection drops: bound them.
    commandsQueueMaxLength: 1000,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000) },
  });
  // The client reports each failed reconnection as an 'error' event; with no listener that ends the process.
  client.on('error', (error: Error) => console.warn(`redis: ${error.message}`));
  return client;
}

/**
 * Rejects when Redis has not answered within `ms` (a paused or overloaded server, a dead peer behind a proxy):
 * node-redis's own command timeout stops counting once the command is written.
 */
function answerWithin<T>(reply: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    reply.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** `rateLimit.store` on that connection: one key prefix per limiter (`forgot`, `verify`, `reset`, `perEmail`). */
export function redisRateLimitStore(
  client: ReturnType<typeof createRedisClient>,
  timeoutMs = 500,
): RateLimitOptions['store'] {
  return (name) =>
    new RedisStore({
      prefix: `password-reset:${name}:`,
      sendCommand: (...args: string[]) => answerWithin(client.sendCommand<RedisReply>(args), timeoutMs),
    });
}
