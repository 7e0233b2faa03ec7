/**
 * `413 PAYLOAD_TOO_LARGE` is answered as soon as the limit is passed, without reading the rest: an endless chunked
 * upload, a Content-Length over the limit and a gzip body whose decoded size passes it. Driven through a real
 * socket (node:http, not supertest's buffered send), so the answer is seen while the client is still writing.
 */
import { Agent, request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ADA, createApp, type TestApp } from './helpers/create-app';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The client gives up after this much: reaching it means the server kept reading. */
const CLIENT_CAP = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(16 * 1024, 'a');

interface UploadOutcome {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** What the client had written when the answer arrived; `undefined` when it came only after the client stopped. */
  writtenBeforeAnswer: number | undefined;
  /** What the server's socket read in all, counted when it closed. */
  serverBytesRead: number;
  msToAnswer: number;
}

/** Tracks the server's sockets, so that the bytes it read can be counted. */
function serverSockets(app: TestApp): Socket[] {
  const sockets: Socket[] = [];
  app.server.on('connection', (socket: Socket) => sockets.push(socket));
  return sockets;
}

/**
 * Starts a POST and keeps writing `next()`'s chunks (flowing with the socket's back-pressure) until an answer
 * arrives or `CLIENT_CAP` bytes went out. `next` returns what to send; `undefined` sends nothing more (the request
 * stays open).
 */
async function upload(
  app: TestApp,
  path: string,
  headers: OutgoingHttpHeaders,
  next: (() => Buffer | undefined) | undefined,
): Promise<UploadOutcome> {
  const sockets = serverSockets(app);
  const { port } = app.server.address() as AddressInfo;
  const started = process.hrtime.bigint();
  let written = 0;
  let answered = false;
  return new Promise<UploadOutcome>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `${app.mountPath}${path}`, headers });
    // The server closes the connection while the client writes: EPIPE / ECONNRESET on the request are expected.
    req.on('error', () => undefined);
    // Without an early answer nothing comes while the request is open: fail with that, not jest's timeout.
    const deadline = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 10 s while the request was still open'));
    }, 10_000);
    req.on('response', (res) => {
      answered = true;
      clearTimeout(deadline);
      const msToAnswer = Number(process.hrtime.bigint() - started) / 1e6;
      const writtenBeforeAnswer = req.writableEnded ? undefined : written;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => (body += text));
      res.on('end', () => {
        const socket = sockets[0];
        if (!socket) return reject(new Error('no server socket'));
        const done = (): void =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            writtenBeforeAnswer,
            serverBytesRead: socket.bytesRead,
            msToAnswer,
          });
        if (socket.destroyed) done();
        else socket.once('close', done);
      });
    });
    const pump = (): void => {
      while (!answered && !req.destroyed) {
        if (written >= CLIENT_CAP) return void req.end();
        const chunk = next?.();
        if (chunk === undefined) return;
        written += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    req.flushHeaders();
    pump();
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function expectEarly413(outcome: UploadOutcome): void {
  expect(outcome.status).toBe(413);
  expect(outcome.headers.connection).toBe('close');
  expect(outcome.headers['cache-control']).toBe('no-store');
  expect(outcome.headers['referrer-policy']).toBe('no-referrer');
  expect(outcome.headers['x-content-type-options']).toBe('nosniff');
  // Answered while the client was still writing, long before its cap...
  expect(outcome.writtenBeforeAnswer).toBeDefined();
  expect(outcome.writtenBeforeAnswer).toBeLessThan(CLIENT_CAP);
  // ...and the server read about the limit, not what the client sent after it.
  expect(outcome.serverBytesRead).toBeLessThan(1024 * 1024);
}

describe('SPEC 413: refused as soon as the limit is passed, without reading the rest', () => {
  test('an endless chunked JSON upload gets the 413 in the API shape while the client is still writing', async () => {
    t = await createApp();
    const prefix = Buffer.from(`{"email":"${ADA.email}","padding":"`);
    let first = true;
    const outcome = await upload(t, '/forgot', JSON_HEADERS, () => {
      if (!first) return CHUNK;
      first = false;
      return prefix;
    });
    expectEarly413(outcome);
    expect(JSON.parse(outcome.body)).toEqual({
      success: false,
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.' },
    });
    expect(t.events.filter((event) => event.type === 'error')).toEqual([]);
    console.log(
      `endless chunked JSON: 413 after ${outcome.msToAnswer.toFixed(1)} ms; server read ${outcome.serverBytesRead} ` +
        `bytes; client had written ${outcome.writtenBeforeAnswer}`,
    );
  });

  test('a Content-Length over the limit is answered at once, before any of the body is sent', async () => {
    t = await createApp();
    const outcome = await upload(t, '/reset', { ...JSON_HEADERS, 'content-length': 100_000_000 }, () => undefined);
    expectEarly413(outcome);
    expect(outcome.writtenBeforeAnswer).toBe(0);
    expect(JSON.parse(outcome.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    // Only the request head was read.
    expect(outcome.serverBytesRead).toBeLessThan(1024);
  });

  test('an endless gzip body whose decoded size passes the limit is refused, not read to its end', async () => {
    t = await createApp();
    // Concatenated gzip members are one gzip body; each 16 KiB of text is a few dozen bytes on the wire, so the body
    // passes the limit decoded long before it does as sent.
    const member = gzipSync(CHUNK);
    const outcome = await upload(t, '/forgot', { ...JSON_HEADERS, 'content-encoding': 'gzip' }, () => member);
    expectEarly413(outcome);
    expect(JSON.parse(outcome.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    console.log(
      `endless gzip: 413 after ${outcome.msToAnswer.toFixed(1)} ms; server read ${outcome.serverBytesRead} bytes`,
    );
  });

  test('a gzip body that decodes past the limit is refused at once, though under 1 KiB of it was sent', async () => {
    t = await createApp();
    const member = gzipSync(CHUNK);
    let sent = 0;
    // A few members, then nothing more: the request stays open, as a slow client's would.
    const outcome = await upload(t, '/verify', { ...JSON_HEADERS, 'content-encoding': 'gzip' }, () => {
      if (sent + member.length > 1024) return undefined;
      sent += member.length;
      return member;
    });
    expectEarly413(outcome);
    expect(outcome.writtenBeforeAnswer).toBeLessThanOrEqual(1024);
    expect(JSON.parse(outcome.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  test('an endless form post to a hosted page gets the 413 page while the client is still writing', async () => {
    t = await createApp({ options: { pages: true } });
    const outcome = await upload(t, '/forgot', { 'content-type': 'application/x-www-form-urlencoded' }, () => CHUNK);
    expectEarly413(outcome);
    expect(outcome.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(outcome.headers['content-security-policy']).toContain("default-src 'none'");
    expect(outcome.body).toContain('<!doctype html>');
  });

  test('bodies within the limit still share a keep-alive connection', async () => {
    t = await createApp();
    const sockets = serverSockets(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { port } = t.server.address() as AddressInfo;
    const post = (body: string): Promise<IncomingMessage> =>
      new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, agent, method: 'POST', path: `${t?.mountPath}/forgot`, headers: JSON_HEADERS },
          (res) => res.resume().on('end', () => resolve(res)),
        );
        req.on('error', reject);
        // Chunked, and near the limit: counted, not refused.
        req.write(body.slice(0, 10));
        req.end(body.slice(10));
      });
    const nearLimit = JSON.stringify({ email: ADA.email, padding: 'x'.repeat(7_000) });
    for (const body of [JSON.stringify({ email: ADA.email }), nearLimit]) {
      const res = await post(body);
      expect(res.headers.connection).toBe('keep-alive');
    }
    expect((await post(nearLimit)).statusCode).toBe(400);
    expect(sockets).toHaveLength(1);
    agent.destroy();
  });
});
