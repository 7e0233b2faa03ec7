/**
 * The router's own body parsing: JSON for the API, urlencoded forms for the
 * hosted pages. It works whether or not the app mounted `express.json()` or
 * `express.urlencoded()` (what they parsed is used), and every parse problem is
 * answered in the API's error shape instead of Express's HTML error page.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Socket } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { PasswordResetError } from '../core/errors';

/** Bodies of this API are a few short strings: 8 KiB as sent, and 8 KiB once decoded (body-parser's `limit`). */
export const BODY_LIMIT_BYTES = 8 * 1024;

const TOO_LARGE = new PasswordResetError('PAYLOAD_TOO_LARGE');

const BODY_PARSER_ERRORS: Record<string, PasswordResetError> = {
  'entity.too.large': new PasswordResetError('PAYLOAD_TOO_LARGE'),
  'entity.parse.failed': new PasswordResetError('MALFORMED_JSON'),
  'encoding.unsupported': new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'),
  'charset.unsupported': new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'),
};

export function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** Maps a body-parser error to the API's; other errors pass unchanged. */
export function toBodyError(error: unknown): unknown {
  const { type, code } = (error ?? {}) as { type?: unknown; code?: unknown };
  if (typeof type === 'string') return BODY_PARSER_ERRORS[type] ?? new PasswordResetError('MALFORMED_JSON');
  // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR): a body that does not decode in its Content-Encoding is bad input.
  if (typeof code === 'string' && /^Z_[A-Z_]+$/.test(code)) return new PasswordResetError('MALFORMED_JSON');
  return error;
}

/** How long a refused upload's connection stays open, unread, after the 413, so that the client can read it. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Closes in stages (RFC 9112, 9.6): the 413 and a FIN go out, nothing more is read, and the socket is destroyed
 * when the client closes or after `CLOSE_GRACE_MS`. Node's own close for `Connection: close` (`destroySoon`)
 * destroys the socket as soon as the FIN is written; with the client's upload still arriving that is a TCP reset,
 * which can reach the client before it has read the 413 (Node's client then reports only EPIPE).
 */
function closeAfterAnswer(req: Request, socket: Socket): void {
  // The request too: flowing (body-parser's drain resumed it), it would resume its socket to read on.
  req.pause();
  socket.pause();
  // Node's HTTP parser resumes the socket asynchronously (its 'resume' comes a tick late): stopped again each time.
  const stayPaused = (): void => void socket.pause();
  socket.on('resume', stayPaused);
  // Node's `destroySoon` waits for 'finish' to destroy; without that listener the socket stays half-closed.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the very function Node registered, to take it off.
  socket.removeListener('finish', socket.destroy);
  const destroy = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(destroy, CLOSE_GRACE_MS);
  timer.unref();
  socket.once('end', destroy);
  socket.once('error', destroy);
  socket.once('close', () => clearTimeout(timer));
}

/**
 * The 413 goes to the error handler at once. `Connection: close` tells the client that this connection ends with
 * that answer; after it, nothing more of the body is read.
 */
function refuseTooLarge(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Connection', 'close');
  const socket = req.socket;
  // After Node's own 'finish' listener, which has just half-closed the socket.
  res.once('finish', () => closeAfterAnswer(req, socket));
  next(TOO_LARGE);
}

/**
 * Decoders for the encodings body-parser inflates, to count the decoded size beside it (zstd, where Node has it, is
 * held to the limit on the bytes sent only).
 */
const DECODERS: Readonly<Record<string, (() => Transform) | undefined>> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * Runs body-parser's `parse`, but answers 413 the moment the limit is passed. body-parser reports a body over its
 * limit only after it has read the rest of the request (its `dump`, so that the connection can be reused): an
 * endless chunked upload would be read for as long as the client sends, and an oversized Content-Length to its end.
 * So the declared length is checked before reading, and the body is counted as it arrives: the bytes sent (the
 * limit holds for them whatever the `Content-Encoding`) and, for an encoded body, the bytes it decodes to.
 */
function parseWithinLimit(parse: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (Number(req.headers['content-length']) > BODY_LIMIT_BYTES) return refuseTooLarge(req, res, next);
    const encoding = req.headers['content-encoding']?.toLowerCase();
    // A declared length within the limit, neither chunked nor encoded (the usual request): Node's parser delivers no
    // more than the declared bytes, so there is nothing to count, and no listener or closures to allocate per request.
    if (encoding === undefined && req.headers['transfer-encoding'] === undefined && req.headers['content-length'])
      return parse(req, res, (error?: unknown) => next(error ? toBodyError(error) : undefined));
    // Decoding twice costs at most the limit: both decoders stop there.
    const decoder = encoding === undefined ? undefined : DECODERS[encoding]?.();
    let received = 0;
    let decoded = 0;
    let refused = false;
    const stop = (): void => {
      req.off('data', count);
      decoder?.destroy();
    };
    const refuse = (): void => {
      if (refused) return;
      refused = true;
      stop();
      refuseTooLarge(req, res, next);
    };
    function count(chunk: Buffer): void {
      received += chunk.length;
      if (received > BODY_LIMIT_BYTES) return refuse();
      decoder?.write(chunk);
    }
    decoder?.on('data', (out: Buffer) => {
      decoded += out.length;
      if (decoded > BODY_LIMIT_BYTES) refuse();
    });
    // A body that does not decode is body-parser's to report (400).
    decoder?.on('error', () => undefined);
    // Added before body-parser's own listener, in the same tick, so both see every chunk.
    req.on('data', count);
    parse(req, res, (error?: unknown) => {
      stop();
      // Already answered: body-parser only now finished draining or saw the socket close.
      if (!refused) next(error ? toBodyError(error) : undefined);
    });
  };
}

/** True once a body parser (the app's or ours) has read this request's body. */
function alreadyParsed(req: Request): boolean {
  return (req as Request & { _body?: boolean })._body === true;
}

export function jsonBody(): RequestHandler {
  const parse = parseWithinLimit(express.json({ limit: BODY_LIMIT_BYTES, strict: true, type: () => true }));
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hasBody(req)) {
      req.body = {};
      return next();
    }
    if (!req.is('application/json')) return next(new PasswordResetError('UNSUPPORTED_MEDIA_TYPE'));
    // The app's own express.json() got here first: use what it parsed.
    if (alreadyParsed(req)) return next();
    parse(req, res, next);
  };
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** True for a request whose body is a plain HTML form post. */
export function isFormPost(req: Request): boolean {
  return req.is(FORM_TYPE) === FORM_TYPE;
}

export function formBody(): RequestHandler {
  // `extended: false`: flat string fields only; a repeated field becomes an array, which validation refuses.
  const parse = parseWithinLimit(
    express.urlencoded({ extended: false, limit: BODY_LIMIT_BYTES, parameterLimit: 20, type: () => true }),
  );
  return (req: Request, res: Response, next: NextFunction) => {
    if (alreadyParsed(req)) return next();
    parse(req, res, next);
  };
}
