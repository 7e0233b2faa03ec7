import type { EmailMessage, Mailer } from './mailer';
import type { Logger } from '../core/events';

/** Options of {@link OutboxMailer}. */
export interface OutboxMailerOptions {
  /** Most messages kept; older ones are dropped first. @default 100 */
  limit?: number;
  /**
   * Told that a message was kept and how to read it (kind and address only: never the link or code). `false` for
   * silence. @default console
   */
  logger?: Logger | false;
  /** How the log line names this outbox, e.g. `'router.outbox'` in `router.outbox.last('ada@example.com')`. */
  name?: string;
}

/**
 * The development mailer: keeps messages in memory instead of sending them, so
 * a demo page or a test can read them. Not for production.
 */
export class OutboxMailer implements Mailer {
  /** Messages in the order they were sent, oldest first. */
  readonly messages: EmailMessage[] = [];
  private readonly limit: number;
  private readonly logger: Logger | false;
  private readonly name: string;

  constructor(options: OutboxMailerOptions = {}) {
    this.limit = options.limit ?? 100;
    this.logger = options.logger ?? console;
    this.name = options.name ?? 'outbox';
  }

  async send(message: EmailMessage): Promise<void> {
    this.messages.push(message);
    if (this.messages.length > this.limit) this.messages.shift();
    if (this.logger)
      this.logger.info(
        `[express-password-reset] outbox: kept a "${message.kind}" email to ${message.to} (development mailer; ` +
          `nothing was delivered): read it with ${this.name}.last('${message.to}')`,
      );
  }

  /** The newest message, optionally the newest to one address. */
  last(to?: string): EmailMessage | undefined {
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      const message = this.messages[i]!;
      if (to === undefined || message.to.toLowerCase() === to.toLowerCase()) return message;
    }
    return undefined;
  }

  clear(): void {
    this.messages.length = 0;
  }
}
