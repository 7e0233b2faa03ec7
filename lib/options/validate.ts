/**
 * Every check of `passwordReset()`'s options object, run once at construction.
 * A mistake throws an `OptionsError` that names the option and says what is
 * allowed. The values of `sendgrid` are checked by `resolveSendGridOptions`, and
 * `tokenTtl` by `parseDuration`, where they are turned into values.
 */
import { OptionsError, describeValue } from '../core/errors';
import { EMAIL_KINDS } from '../mail/mailer';
import { BCRYPT_MAX_BYTES } from '../core/password-policy';
import { SENDGRID_OPTION_KEYS } from '../mail/sendgrid-options';
import { TOKEN_STORE_METHODS } from '../stores/token-store';
import { DEFAULTS, DEFAULT_FIELDS, DEFAULT_LIMITS, DEFAULT_ROUTES } from './defaults';
import { parseDuration } from './duration';
import {
  checkBoolean,
  checkFunction,
  checkHttpUrl,
  checkImplements,
  checkInteger,
  checkObject,
  checkString,
  invalidOption,
  isPlainObject,
  type PlainObject,
} from './checks';
import type { EndpointName, FieldName, PasswordResetOptions, RateLimitName } from './types';

/** Every top-level option, as a record so that the compiler refuses an option of the type missing here. */
const TOP_LEVEL_KEYS: Record<keyof PasswordResetOptions, true> = {
  users: true,
  resetUrl: true,
  store: true,
  mongoose: true,
  mailer: true,
  sendgrid: true,
  tokenTtl: true,
  secret: true,
  password: true,
  bcryptRounds: true,
  hashPassword: true,
  rateLimit: true,
  code: true,
  secondFactor: true,
  hooks: true,
  emails: true,
  pages: true,
  openapi: true,
  routes: true,
  fields: true,
  unknownFields: true,
  respond: true,
  logger: true,
  now: true,
};
const TOP_LEVEL = Object.keys(TOP_LEVEL_KEYS);

const RATE_LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as RateLimitName[];

function checkResetUrl(value: unknown): void {
  if (typeof value === 'function') return;
  if (typeof value !== 'string')
    invalidOption(
      'resetUrl',
      `must be an absolute http(s) URL or a function (token, user) => string, got ${describeValue(value)}`,
    );
  checkHttpUrl('resetUrl', value, 'https://app.example/reset-password');
}

function checkLimit(option: string, value: unknown): void {
  if (value === undefined || value === false) return;
  const limit = checkObject(option, value, ['windowMs', 'limit']);
  checkInteger(`${option}.windowMs`, limit.windowMs ?? 0, 1000, 86_400_000 * 7);
  checkInteger(`${option}.limit`, limit.limit ?? 0, 1, 1_000_000);
}

function checkRateLimit(value: unknown): void {
  if (value === undefined || value === false) return;
  const rateLimit = checkObject('rateLimit', value, [...RATE_LIMIT_NAMES, 'store']);
  for (const name of RATE_LIMIT_NAMES) checkLimit(`rateLimit.${name}`, rateLimit[name]);
  checkFunction('rateLimit.store', rateLimit.store);
}

function checkPasswordOptions(value: unknown, customHash: boolean): void {
  if (value === undefined) return;
  const password = checkObject('password', value, [
    'minLength',
    'maxLength',
    'minStrength',
    'blockCommon',
    'isBreached',
    'validate',
  ]);
  checkInteger('password.minLength', password.minLength, 1, 72);
  checkInteger('password.maxLength', password.maxLength, 1, 1024);
  const min = (password.minLength as number | undefined) ?? DEFAULTS.password.minLength;
  const max = (password.maxLength as number | undefined) ?? DEFAULTS.password.maxLength;
  // Refused rather than warned: a longer maxLength would promise passwords that bcrypt's limit turns away anyway.
  if (!customHash && max > BCRYPT_MAX_BYTES)
    invalidOption(
      'password.maxLength',
      `must be at most ${BCRYPT_MAX_BYTES} with bcrypt, which refuses passwords over ${BCRYPT_MAX_BYTES} UTF-8 bytes ` +
        `(got ${max}); for longer passwords bring your own "hashPassword" (up to 1024 characters)`,
    );
  if (min > max)
    throw new OptionsError(
      'ERR_EPR_OPTION_CONFLICT',
      'password.minLength',
      `(${min}) must not be greater than password.maxLength (${max})`,
    );
  checkInteger('password.minStrength', password.minStrength, 0, 4);
  checkBoolean('password.blockCommon', password.blockCommon);
  checkFunction('password.isBreached', password.isBreached);
  checkFunction('password.validate', password.validate);
}

/** Fewest characters of `secret`: 32 random base64 characters hold 192 bits. */
export const MIN_SECRET_LENGTH = 32;

function checkSecret(o: PlainObject): void {
  const { secret } = o;
  // Never the secret itself in a message: describeValue shows a string's length only.
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH)) {
    invalidOption(
      'secret',
      `must be a string of at least ${MIN_SECRET_LENGTH} characters, got ${describeValue(secret)}`,
    );
  }
  const codeOn = isPlainObject(o.code) && o.code.enabled === true;
  if (secret === undefined && codeOn && (o.store !== undefined || o.mongoose !== undefined)) {
    throw new OptionsError(
      'ERR_EPR_OPTION_REQUIRED',
      'secret',
      `is required with the code flow on a store you set ("store" or "mongoose"), the same on every instance: ` +
        `a string of at least ${MIN_SECRET_LENGTH} characters, e.g. from \`openssl rand -base64 32\``,
    );
  }
}

function checkCode(value: unknown, store: unknown): void {
  if (value === undefined) return;
  const code = checkObject('code', value, ['enabled', 'digits', 'maxAttempts', 'exchange', 'exchangeTtl']);
  if (typeof code.enabled !== 'boolean')
    invalidOption('code.enabled', `must be true or false, got ${describeValue(code.enabled)}`);
  checkInteger('code.digits', code.digits, 4, 10);
  checkInteger('code.maxAttempts', code.maxAttempts, 1, 20);
  checkBoolean('code.exchange', code.exchange);
  if (code.exchangeTtl !== undefined) parseDuration('code.exchangeTtl', code.exchangeTtl);
  if (code.exchange === true && !code.enabled)
    throw new OptionsError('ERR_EPR_OPTION_CONFLICT', 'code.exchange', 'has no effect without code.enabled: true');
  if (code.exchangeTtl !== undefined && code.exchange !== true)
    throw new OptionsError('ERR_EPR_OPTION_CONFLICT', 'code.exchangeTtl', 'has no effect without code.exchange: true');
  // A 0.1 store supersedes on save: a traded token whose save failed and landed late would kill the user's link.
  if (code.exchange === true && isPlainObject(store) && typeof store.markDelivered !== 'function')
    throw new OptionsError(
      'ERR_EPR_OPTION_CONFLICT',
      'code.exchange',
      'needs a store with a markDelivered() method (see TokenStore); the bundled stores have one',
    );
}

/** C0 controls and DEL: nothing a name shown in a subject line may hold. */
function isControlCharacter(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f;
}

function checkEmails(value: unknown): void {
  if (value === undefined) return;
  const emails = checkObject('emails', value, ['appName', 'templates', 'sendChangedNotice', 'notifyUnknown']);
  checkString('emails.appName', emails.appName);
  // It goes into every subject line: a CR or LF there could start a header of its own.
  if (typeof emails.appName === 'string' && [...emails.appName].some(isControlCharacter)) {
    invalidOption('emails.appName', 'must be one line of text, without line breaks or other control characters');
  }
  checkBoolean('emails.sendChangedNotice', emails.sendChangedNotice);
  checkBoolean('emails.notifyUnknown', emails.notifyUnknown);
  if (emails.templates === undefined) return;
  const templates = checkObject('emails.templates', emails.templates, EMAIL_KINDS);
  for (const [kind, template] of Object.entries(templates)) {
    if (!isPlainObject(template))
      invalidOption(
        `emails.templates.${kind}`,
        `must be { subject?, html?, text? } or an object of those keyed by locale`,
      );
    const flat = ['subject', 'html', 'text'].some((part) => part in template);
    const perLocale = flat ? { '': template } : template;
    for (const [locale, parts] of Object.entries(perLocale)) {
      const path = `emails.templates.${kind}${locale ? `.${locale}` : ''}`;
      const checked = checkObject(path, parts, ['subject', 'html', 'text']);
      if (
        checked.subject !== undefined &&
        typeof checked.subject !== 'string' &&
        typeof checked.subject !== 'function'
      ) {
        invalidOption(
          `${path}.subject`,
          `must be a string or a function (data) => string, got ${describeValue(checked.subject)}`,
        );
      }
      checkFunction(`${path}.html`, checked.html);
      checkFunction(`${path}.text`, checked.text);
    }
  }
}

function checkSecondFactor(value: unknown): void {
  if (value === undefined) return;
  const secondFactor = checkObject('secondFactor', value, ['required', 'verify', 'maxAttempts']);
  for (const name of ['required', 'verify'] as const) {
    if (typeof secondFactor[name] !== 'function')
      invalidOption(
        `secondFactor.${name}`,
        `must be a function (${name === 'required' ? 'user' : 'user, otp'}) => boolean | Promise<boolean>, got ` +
          describeValue(secondFactor[name]),
      );
  }
  checkInteger('secondFactor.maxAttempts', secondFactor.maxAttempts, 1, 20);
}

function checkHooks(value: unknown): void {
  if (value === undefined) return;
  const hooks = checkObject('hooks', value, ['onPasswordReset', 'onEvent', 'beforeReset', 'allowReset']);
  checkFunction('hooks.onPasswordReset', hooks.onPasswordReset);
  checkFunction('hooks.onEvent', hooks.onEvent);
  checkFunction('hooks.beforeReset', hooks.beforeReset);
  checkFunction('hooks.allowReset', hooks.allowReset);
}

function checkPages(value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return;
  const pages = checkObject('pages', value, ['title', 'css', 'locale', 'successRedirect', 'signInUrl', 'logoUrl']);
  checkString('pages.title', pages.title);
  checkString('pages.css', pages.css);
  checkString('pages.locale', pages.locale);
  for (const name of ['successRedirect', 'signInUrl', 'logoUrl'] as const) {
    const option = `pages.${name}`;
    checkString(option, pages[name]);
    const target = pages[name] as string | undefined;
    if (target !== undefined && !isPageTarget(target))
      invalidOption(option, `must be a path starting with "/" or an absolute http(s) URL, got "${target}"`);
  }
}

/**
 * A path on this site, or an absolute http(s) URL: nothing a browser would run (`javascript:`, `data:`) or resolve
 * oddly (`//host`, a relative path that means something else on every page).
 */
function isPageTarget(target: string): boolean {
  return /^\/(?![/\\])/.test(target) || (/^https?:\/\/[^/?#]+/i.test(target) && URL.canParse(target));
}

const ENDPOINT_NAMES = Object.keys(DEFAULT_ROUTES) as EndpointName[];
const FIELD_NAMES = Object.keys(DEFAULT_FIELDS) as FieldName[];

/** A path segment of letters, digits and `-._~`; no parameters (`:id`), wildcards or other Express syntax. */
const ROUTE_PATH = /^(\/[A-Za-z0-9\-._~]+)+$/;

/** `routes`: each a plain path starting with `/`, or `false`; no two endpoints on one path. */
export function checkRoutes(value: unknown, option = 'routes'): void {
  if (value === undefined) return;
  const routes = checkObject(option, value, ENDPOINT_NAMES);
  const taken = new Map<string, string>();
  for (const name of ENDPOINT_NAMES) {
    // An endpoint left at its default path still holds it.
    const path = routes[name] === undefined ? DEFAULT_ROUTES[name] : routes[name];
    if (path === false) continue;
    if (typeof path !== 'string' || !ROUTE_PATH.test(path) || path.includes('/.')) {
      const got = typeof path === 'string' ? `"${path}"` : describeValue(path);
      invalidOption(
        `${option}.${name}`,
        `must be a path starting with "/" (letters, digits, "-", ".", "_", "~" between slashes), e.g. ` +
          `'/reset-password', or false to leave the endpoint out; got ${got}`,
      );
    }
    // Express matches paths case-insensitively: '/Reset' and '/reset' would be one route.
    const key = path.toLowerCase();
    const other = taken.get(key);
    if (other !== undefined)
      throw new OptionsError(
        'ERR_EPR_OPTION_CONFLICT',
        `${option}.${name}`,
        `("${path}") is the path of ${option}.${other} too: two endpoints cannot share a path`,
      );
    taken.set(key, name);
  }
}

/** `fields`: each a non-empty array of non-empty strings; no name accepted for two fields. */
export function checkFields(value: unknown, option = 'fields'): void {
  if (value === undefined) return;
  const fields = checkObject(option, value, FIELD_NAMES);
  const owner = new Map<string, FieldName>();
  for (const field of FIELD_NAMES) {
    const names = fields[field] ?? DEFAULT_FIELDS[field];
    const path = `${option}.${field}`;
    if (!Array.isArray(names) || names.length === 0)
      invalidOption(
        path,
        `must be a non-empty array of the names accepted, e.g. ['${field}'], got ${describeValue(names)}`,
      );
    names.forEach((name: unknown, index) => {
      // `__proto__` is never read from a JSON body (as Joi does), so it could never be sent.
      if (typeof name !== 'string' || !/^[^\s"]{1,100}$/.test(name) || name === '__proto__')
        invalidOption(
          `${path}[${index}]`,
          `must be a field name (1 to 100 characters, no spaces or quotes), got ${describeValue(name)}`,
        );
      // A name's own text is fine to show: field names are not secrets.
      const other = owner.get(name);
      if (other !== undefined && other !== field)
        throw new OptionsError(
          'ERR_EPR_OPTION_CONFLICT',
          `${path}`,
          `names "${name}", which is a name of ${option}.${other} too: one name cannot stand for two fields`,
        );
      if (other === field) invalidOption(path, `lists "${name}" twice`);
      owner.set(name, field);
    });
  }
}

/** `GET /openapi.json` is served beside the endpoints: none of them may take its path. */
function checkOpenApiRoute(o: PlainObject): void {
  if (o.openapi !== true || !isPlainObject(o.routes)) return;
  for (const name of ENDPOINT_NAMES) {
    const path = o.routes[name];
    if (typeof path === 'string' && path.toLowerCase() === '/openapi.json')
      throw new OptionsError(
        'ERR_EPR_OPTION_CONFLICT',
        `routes.${name}`,
        'cannot be "/openapi.json" with "openapi" on: the document is served there',
      );
  }
}

/** The hosted pages link to each other: both of their endpoints must be served. */
function checkPagesRoutes(o: PlainObject): void {
  if (!o.pages || !isPlainObject(o.routes)) return;
  for (const name of ['forgot', 'reset'] as const) {
    if (o.routes[name] === false)
      throw new OptionsError(
        'ERR_EPR_OPTION_CONFLICT',
        `routes.${name}`,
        `cannot be false with "pages" on: the hosted pages are served at the forgot and reset routes`,
      );
  }
}

/** Throws an `OptionsError` for the first mistake in `options`. */
export function validateOptions(options: unknown): asserts options is PasswordResetOptions {
  const o = checkObject('options', options, TOP_LEVEL);
  if (o.users === undefined)
    throw new OptionsError(
      'ERR_EPR_OPTION_REQUIRED',
      'users',
      'is required: { findByEmail(email), updatePassword(id, hash) }, or mongooseUsers(Model, fields)',
    );
  checkImplements('users', o.users, ['findByEmail', 'updatePassword']);
  if (o.resetUrl === undefined)
    throw new OptionsError(
      'ERR_EPR_OPTION_REQUIRED',
      'resetUrl',
      "is required: the page your emails link to, e.g. 'https://app.example/reset-password'",
    );
  checkResetUrl(o.resetUrl);
  checkImplements('store', o.store, TOKEN_STORE_METHODS);
  if (o.store !== undefined && o.mongoose !== undefined)
    throw new OptionsError(
      'ERR_EPR_OPTION_CONFLICT',
      'store',
      'and "mongoose" cannot both be set: pick one token store',
    );
  if (o.mongoose !== undefined) {
    const mongoose = checkObject('mongoose', o.mongoose, ['connection', 'collection']);
    if (
      typeof mongoose.connection !== 'object' ||
      mongoose.connection === null ||
      typeof (mongoose.connection as PlainObject).model !== 'function'
    ) {
      invalidOption('mongoose.connection', 'must be a Mongoose connection, e.g. mongoose.connection');
    }
    checkString('mongoose.collection', mongoose.collection);
  }
  checkImplements('mailer', o.mailer, ['send']);
  if (o.mailer !== undefined && o.sendgrid !== undefined)
    throw new OptionsError('ERR_EPR_OPTION_CONFLICT', 'mailer', 'and "sendgrid" cannot both be set: pick one mailer');
  // Only the shape here, at its place in the order of checks; `resolveSendGridOptions` checks each value.
  if (o.sendgrid !== undefined) checkObject('sendgrid', o.sendgrid, SENDGRID_OPTION_KEYS);
  checkPasswordOptions(o.password, o.hashPassword !== undefined);
  // bcrypt's own range; costs under 10 are for tests and draw a warning under NODE_ENV=production (resolve.ts).
  checkInteger('bcryptRounds', o.bcryptRounds, 4, 31);
  checkFunction('hashPassword', o.hashPassword);
  if (o.bcryptRounds !== undefined && o.hashPassword !== undefined)
    throw new OptionsError(
      'ERR_EPR_OPTION_CONFLICT',
      'bcryptRounds',
      'has no effect with "hashPassword": set one of them',
    );
  checkRateLimit(o.rateLimit);
  checkCode(o.code, o.store);
  checkSecret(o);
  checkSecondFactor(o.secondFactor);
  checkHooks(o.hooks);
  checkEmails(o.emails);
  checkPages(o.pages);
  checkBoolean('openapi', o.openapi);
  checkRoutes(o.routes);
  checkPagesRoutes(o);
  checkOpenApiRoute(o);
  checkFields(o.fields);
  if (o.unknownFields !== undefined && o.unknownFields !== 'reject' && o.unknownFields !== 'ignore')
    invalidOption('unknownFields', `must be 'reject' or 'ignore', got ${describeValue(o.unknownFields)}`);
  checkFunction('respond', o.respond);
  if (o.logger !== undefined && o.logger !== false) {
    checkImplements('logger', o.logger, ['warn', 'info']);
    checkFunction('logger.error', (o.logger as PlainObject).error);
  }
  checkFunction('now', o.now);
}
