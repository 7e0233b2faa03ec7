/**
 * `app.listen()` for the examples, failing loudly. Express 5 hands a listen
 * error (a port already taken) to the callback instead of throwing, so a
 * callback that only logs would print the URL of a server that never started
 * and exit 0.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';

/** A listen failure, with a message meant for the person who started the example. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** Resolves with the listening server, or rejects with a `ListenError` that says what to do. */
export function listen(app: Express, port: number, example: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, (error?: Error) => {
      if (!error) return resolve(server);
      const code = (error as NodeJS.ErrnoException).code;
      reject(
        new ListenError(
          code === 'EADDRINUSE'
            ? `${example}: port ${port} is already in use. Stop what is using it, or pick another one with PORT=<port>.`
            : `${example}: cannot listen on port ${port}: ${error.message}`,
        ),
      );
    });
  });
}

/** The examples' last resort: a `ListenError` as its one line, anything else with its stack; exit code 1. */
export function exitWith(error: unknown): never {
  console.error(error instanceof ListenError ? error.message : error);
  process.exit(1);
}
