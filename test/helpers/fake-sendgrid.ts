/**
 * A local HTTP server standing in for api.sendgrid.com: it records every
 * request (method, path, headers, parsed JSON body) and answers from a queue of
 * scripted replies, then with `fallback` (SendGrid's 202 with an empty body).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body as posted. */
  raw: string;
  /** The body parsed as JSON. */
  body: Record<string, unknown>;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  /** JSON-encoded when not a string. */
  body?: unknown;
  /** Hold the answer this long (for timeouts); `Infinity` holds it until `release()` or `close()`. */
  delayMs?: number;
}

export interface FakeSendGrid {
  /** Base URL for `sendgrid.baseUrl`. */
  url: string;
  requests: CapturedRequest[];
  /** Queue replies for the next requests, in order. */
  reply(...replies: FakeReply[]): void;
  /** The reply once the queue is empty. */
  fallback: FakeReply;
  /** Resolves when the server has received `count` requests in total. */
  received(count: number): Promise<void>;
  /** Answers every held request now. */
  release(): void;
  close(): Promise<void>;
}

/** SendGrid's answer to an accepted message. */
/**
 * A syntactically valid, fake SendGrid key (`SG.<id>.<secret>`), built at run time from a label so that no
 * key-shaped literal sits in the repository for secret scanners to flag.
 */
export function fakeSendGridKey(label: string): string {
  const part = (text: string): string => Buffer.from(text).toString('base64url');
  return ['SG', part(`${label}-id`), part(`${label}-secret-not-a-real-key-0000`)].join('.');
}

export const ACCEPTED: FakeReply = { status: 202, headers: { 'x-message-id': 'fake-message-id' } };

/** SendGrid's JSON error shape. */
export function sendGridErrors(
  status: number,
  ...messages: Array<string | { message: string; field: string }>
): FakeReply {
  return {
    status,
    body: {
      errors: messages.map((m) =>
        typeof m === 'string' ? { message: m, field: null, help: null } : { ...m, help: null },
      ),
    },
  };
}

export async function startFakeSendGrid(): Promise<FakeSendGrid> {
  const queue: FakeReply[] = [];
  const held = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const requests: CapturedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {},
      });
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const reply = queue.shift() ?? fake.fallback;
      const answer = (): void => {
        held.delete(answer);
        if (res.destroyed) return;
        const body =
          reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          ...(body && typeof reply.body !== 'string' ? { 'content-type': 'application/json' } : {}),
          ...reply.headers,
        });
        res.end(body);
      };
      if (reply.delayMs === undefined) return answer();
      held.add(answer);
      if (Number.isFinite(reply.delayMs)) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, reply.delayMs);
        timers.add(timer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeSendGrid = {
    url: `http://127.0.0.1:${port}`,
    requests,
    fallback: ACCEPTED,
    reply: (...replies) => {
      queue.push(...replies);
    },
    received: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    release: () => {
      for (const answer of [...held]) answer();
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
