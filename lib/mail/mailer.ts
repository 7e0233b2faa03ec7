/** The seam between the router and whatever delivers email. */
import { TOKEN_KINDS } from '../stores/token-store';

/**
 * The emails the package sends, the one list of them: one per token kind, carrying its link (`reset`: the link and
 * code; `invite`: an invitation to choose a first password), then `changed` (the notice after a reset) and `unknown`
 * (to an address with no account, when `emails.notifyUnknown` is on).
 */
export const EMAIL_KINDS = [...TOKEN_KINDS, 'changed', 'unknown'] as const;

/** One of {@link EMAIL_KINDS}. */
export type EmailKind = (typeof EMAIL_KINDS)[number];

/**
 * What a template is rendered from. `resetUrl` and `code` are secrets: they
 * belong in the email and nowhere else (never in logs or events).
 */
export interface TemplateData {
  /** `emails.appName`; absent when it is not set (the built-in texts are then worded without a name). */
  appName?: string;
  /** The user's name, when the user adapter returns one. */
  name?: string;
  /** The recipient address. */
  email: string;
  /** The link (kinds `reset` and `invite`). */
  resetUrl?: string;
  /** The numeric code (kind `reset` with the code flow on; invitations carry none). */
  code?: string;
  /** Lifetime of the link in minutes, rounded, at least 1 (kinds `reset` and `invite`). */
  expiresInMinutes?: number;
  /** Lifetime of the link in whole seconds (kinds `reset` and `invite`): 0 for a lifetime under a second. */
  expiresInSeconds?: number;
  /** The locale the email was rendered in, e.g. `en`. */
  locale: string;
}

/** One email, rendered and ready to deliver. */
export interface EmailMessage {
  /** Recipient address. */
  to: string;
  subject: string;
  /** Plain-text body. */
  text: string;
  /** HTML body; every piece of user data in it is escaped. */
  html: string;
  /** Which email this is. */
  kind: EmailKind;
  /** The data the message was rendered from, for mailers that render remotely (SendGrid dynamic templates). */
  data: TemplateData;
}

/** Delivers email. `send` rejects when delivery failed; the router reports that as an `email.failed` event. */
export interface Mailer {
  send(message: EmailMessage): Promise<void>;
  /** Optional: stop timers and connections on `router.close()`. */
  close?(): Promise<void>;
}
