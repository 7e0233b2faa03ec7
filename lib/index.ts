/** The package's public API. Everything else under `lib/` is internal. */
export { passwordReset, FORGOT_RESPONSE, type PasswordResetRouter, type ResetLinkOptions } from './password-reset';
export { openApiDocument, type OpenApiDocument, type OpenApiOptions, type JsonObject } from './http/openapi';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory-token-store';
export type { TokenStore, TokenRecord, TokenKind } from './stores/token-store';
export { MongoTokenStore, type MongoTokenStoreOptions } from './mongo/mongo-token-store';
export { MongoRateLimitStore, type MongoRateLimitStoreOptions } from './mongo/mongo-rate-limit-store';
export { mongooseUsers, type MongooseUsersOptions } from './mongo/mongoose-users';
export type { MongooseConnection, MongooseModel } from './mongo/mongoose-types';
export { OutboxMailer, type OutboxMailerOptions } from './mail/outbox-mailer';
export {
  SendGridMailer,
  SendGridError,
  type SendGridMailerOptions,
  type SendGridErrorDetail,
} from './mail/sendgrid-mailer';
export type { Mailer, EmailMessage, EmailKind, TemplateData } from './mail/mailer';
export { PasswordResetError, ServiceUnavailableError, OptionsError } from './core/errors';
export type { ErrorCode, ErrorDetail, OptionsErrorCode } from './core/errors';
export type { User, UserAdapter } from './core/users';
export type { Logger, PasswordResetEvent, PasswordResetEventType, EventError } from './core/events';
export { escapeHtml } from './core/escape-html';
export {
  rejectSessionsBefore,
  SESSION_REVOKED,
  type RejectSessionsBeforeOptions,
  type SignedIn,
} from './sessions/reject-sessions-before';
export {
  pwnedPasswords,
  PwnedPasswordsError,
  type PwnedPasswordsOptions,
  type PwnedPasswordsErrorCode,
} from './core/pwned-passwords';
export type * from './options/types';
