import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { Mailer } from '../lib';

/** A `Mailer` that sends through SMTP with nodemailer: `from` is e.g. `'Acme <no-reply@acme.example>'`. */
export function smtpMailer(smtp: SMTPTransport.Options, from: string): Mailer {
  const transport = nodemailer.createTransport({
    // One connection reused for many emails, not a handshake per email.
    pool: true,
    // nodemailer waits minutes by default; an SMTP server that hangs would hold /forgot's background work that long.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    ...smtp,
  });
  return {
    // A rejection (refused recipient, unreachable server) becomes an `email.failed` event.
    send: async ({ to, subject, text, html }) => {
      await transport.sendMail({ from, to, subject, text, html });
    },
    close: async () => transport.close(),
  };
}
