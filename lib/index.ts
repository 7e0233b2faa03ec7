export { passwordReset, FORGOT_RESPONSE, type PasswordResetRouter } from './router';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './memory-store';
export { OutboxMailer, type OutboxMailerOptions } from './outbox-mailer';
export { PasswordResetError, ServiceUnavailableError, OptionsError } from './errors';
export type { ErrorCode, ErrorDetail, OptionsErrorCode } from './errors';
export { escapeHtml } from './html';
export type { TokenStore, TokenRecord } from './token-store';
export type { Mailer, EmailMessage, EmailKind, TemplateData } from './mailer';
export type * from './types';
