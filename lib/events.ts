import type { EventError, Logger, PasswordResetEvent } from './types';

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** An event before the emitter stamps it with `at`. */
export type EventInput = Without<PasswordResetEvent, 'at'>;

// Tokens are 43 base64url characters; bcrypt hashes start with $2a$/$2b$/$2y$. Neither may leave through an error message.
const SECRET_PATTERNS = [/\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}/g, /[A-Za-z0-9_-]{43,}/g];

/**
 * An error reduced to what an event may carry: name, a scrubbed message and an HTTP status.
 * `secrets` are values the caller knows are in play (a link, a code): short ones no pattern can catch.
 */
export function toEventError(error: unknown, secrets: (string | undefined)[] = []): EventError {
  const source = error instanceof Error ? error : new Error(String(error));
  let message = source.message;
  for (const secret of secrets) if (secret) message = message.split(secret).join('[redacted]');
  for (const pattern of SECRET_PATTERNS) message = message.replace(pattern, '[redacted]');
  const { status: rawStatus, code } = source as { code?: unknown; status?: unknown };
  const status = rawStatus ?? code;
  return {
    name: source.name,
    message,
    ...(typeof status === 'number' ? { status } : {}),
    // Node's and the drivers' string codes (ETIMEDOUT, ECONNREFUSED) tell a timeout from a refusal without parsing messages.
    ...(typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? { code } : {}),
  };
}

/** The secrets a request body may carry (token, code, password as typed and as NFKC), to scrub from error messages. */
export function secretsOfBody(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const fields = body as Record<string, unknown>;
  const values = ['token', 'code', 'password', 'newPassword'].map((key) => fields[key]).filter((value): value is string => typeof value === 'string');
  return [...values, ...values.map((value) => value.normalize('NFKC'))];
}

/** Delivers events to `hooks.onEvent`; a throwing hook is logged and never breaks the flow. */
export class EventSink {
  constructor(
    private readonly onEvent: ((event: PasswordResetEvent) => void | Promise<void>) | undefined,
    private readonly logger: Logger | false,
  ) {}

  emit(input: EventInput): void {
    if (!this.onEvent) return;
    const event = { ...input, at: new Date() } as PasswordResetEvent;
    try {
      const result = this.onEvent(event);
      if (result && typeof result.then === 'function') result.then(undefined, (error: unknown) => this.hookFailed(error));
    } catch (error) {
      this.hookFailed(error);
    }
  }

  private hookFailed(error: unknown): void {
    if (this.logger) this.logger.warn(`[express-password-reset] hooks.onEvent threw: ${toEventError(error).message}`);
  }
}
