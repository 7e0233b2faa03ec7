/**
 * The forgot/verify/reset flow, free of HTTP: it receives plain values (an
 * address, an IP, an opaque context for hooks) and talks only to the
 * `TokenStore`, `UserAdapter` and `Mailer` seams. The JSON API and the hosted
 * pages both call it.
 */
import type { EmailKind, Mailer, TemplateData } from '../mail/mailer';
import type { EmailRenderer } from '../mail/email-templates';
import type { TokenRecord, TokenStore } from '../stores/token-store';
import { ipKeyGenerator } from 'express-rate-limit';
import type { BackgroundWork } from './background-work';
import type { DropLog } from './drop-log';
import { PasswordResetError, ServiceUnavailableError } from './errors';
import { mailboxKey, normalizeEmail } from './email-address';
import { toEventError, type EventSink } from './events';
import { findPasswordProblems, normalizePassword, type ResolvedPasswordPolicy } from './password-policy';
import { digestsEqual, generateCode, generateSalt, generateToken, hashCode, hashToken } from './tokens';
import type { User, UserAdapter } from './users';

/** A token, or an address and code: what `/verify` and `/reset` accept. */
export type Credential = { token: string } | { email: string; code: string };

/** Who asked, as the flow needs to know it. */
export interface Requester<Context> {
  /** The client's IP, for events. */
  ip: string | undefined;
  /** Handed to `onPasswordReset` unchanged (the router passes the Express request). */
  context: Context;
  /**
   * Values of the request that may show up in a dependency's error message and must be scrubbed from events.
   * A function: only a failure needs them, so the request path does not collect them.
   */
  secrets(): string[];
}

/** Everything the flow works with: the seams and the resolved settings. */
export interface FlowDependencies<Context> {
  users: UserAdapter;
  store: TokenStore;
  mailer: Mailer;
  renderer: EmailRenderer;
  events: EventSink;
  background: BackgroundWork;
  /** Where dropped `/forgot` requests are logged, besides their `error` event. */
  dropLog?: DropLog;
  buildLink: (token: string, user: User) => string;
  tokenTtlMs: number;
  policy: ResolvedPasswordPolicy;
  hashPassword: (password: string) => Promise<string>;
  code?: { digits: number; maxAttempts: number };
  sendChangedNotice: boolean;
  notifyUnknown: boolean;
  onPasswordReset?: (user: User, context: Context) => void | Promise<void>;
  /** Counts one `/forgot` for a subject (`email:`, `account:`, `mailbox:` keys); `true` when over the limit. */
  overPerEmailLimit?: (subject: string) => Promise<boolean>;
  now: () => Date;
}

type VerifyingEndpoint = 'verify' | 'reset';

interface Authenticated {
  record: TokenRecord;
  /** For the code flow: the attempt slot this request holds, to give back if the request turns out fine. */
  attempt?: { key: string; slot: number };
}

const TOKEN_INVALID = new PasswordResetError('TOKEN_INVALID');
const TOKEN_EXPIRED = new PasswordResetError('TOKEN_EXPIRED');

/** Awaits a dependency call; its failure becomes `SERVICE_UNAVAILABLE` (the cause is kept for the event). */
async function dependency<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ServiceUnavailableError(name, error);
  }
}

export class ResetFlow<Context> {
  private readonly events: EventSink;
  /** The last `/reset` in progress per credential, so parallel resets with one credential run one after another. */
  private readonly resetsInProgress = new Map<string, Promise<void>>();

  constructor(private readonly config: FlowDependencies<Context>) {
    this.events = config.events;
  }

  /**
   * `/forgot`: starts the work behind it, to run after the uniform answer was
   * written. A flood faster than the store or mailer would otherwise queue work
   * (and memory) without bound: past `background.limit` requests in progress, or
   * `background.perClient` of one client (an IPv6 client by its /56, as the per-IP
   * limiters count it), more are dropped with an `error` event and a log line.
   */
  startRequestReset(email: string, ip: string | undefined): void {
    const { background } = this.config;
    const result = background.startSoon(() => this.requestReset(email, ip), ip === undefined ? '' : ipKeyGenerator(ip));
    if (result === 'started') return;
    const message =
      result === 'client_full'
        ? `this client has ${background.perClient} reset requests in progress; this one was dropped`
        : `more than ${background.limit} reset requests in progress; this one was dropped`;
    this.events.emit({ type: 'error', stage: 'forgot', ip, error: { name: 'OverloadedError', message } });
    this.config.dropLog?.dropped(result);
  }

  /**
   * The work behind `/forgot`: whatever happens here (unknown address, limit,
   * store or mailer failure) reaches `onEvent` only.
   */
  private async requestReset(email: string, ip: string | undefined): Promise<void> {
    try {
      // Counted per spelling before the lookup (a flood for one address costs the user store nothing), and per
      // account after it: the user store may find one account under spellings that fold to different keys.
      if (await this.overPerEmailLimit(`email:${normalizeEmail(email)}`, email, ip)) return;
      const user = await this.config.users.findByEmail(email);
      if (!user) {
        this.events.emit({ type: 'reset.unknown_email', email, ip });
        // The notice goes to the address as typed, so sub-address and dot variants of one inbox share one count.
        if (this.config.notifyUnknown && !(await this.overPerEmailLimit(`mailbox:${mailboxKey(email)}`, email, ip)))
          await this.deliver('unknown', email, { email });
        return;
      }
      if (await this.overPerEmailLimit(`account:${user.id}`, email, ip)) return;
      const { store, tokenTtlMs, code: codeOptions } = this.config;
      const token = generateToken();
      const now = this.config.now();
      const record: TokenRecord = {
        tokenHash: hashToken(token),
        userId: user.id,
        email: user.email,
        expiresAt: new Date(now.getTime() + tokenTtlMs),
        createdAt: now,
      };
      let code: string | undefined;
      if (codeOptions) {
        code = generateCode(codeOptions.digits);
        record.codeSalt = generateSalt();
        record.codeHash = hashCode(code, record.codeSalt);
      }
      await store.save(record);
      this.events.emit({ type: 'reset.requested', userId: user.id, email: user.email, ip });
      await this.deliver(
        'reset',
        user.email,
        {
          email: user.email,
          name: user.name,
          locale: user.locale,
          resetUrl: this.config.buildLink(token, user),
          code,
          expiresInMinutes: Math.max(1, Math.round(tokenTtlMs / 60_000)),
        },
        user.id,
      );
    } catch (error) {
      this.events.emit({ type: 'error', stage: 'forgot', error: toEventError(error), ip });
    }
  }

  /** The per-email limit; an unreachable counter store counts nothing rather than stopping every reset email. */
  private async overPerEmailLimit(subject: string, email: string, ip: string | undefined): Promise<boolean> {
    const { overPerEmailLimit } = this.config;
    if (!overPerEmailLimit) return false;
    try {
      if (!(await overPerEmailLimit(subject))) return false;
      this.events.emit({ type: 'rate_limited', limiter: 'perEmail', email, ip });
      return true;
    } catch (error) {
      this.events.emit({ type: 'error', stage: 'perEmail', error: toEventError(error), ip });
      return false;
    }
  }

  /** `/verify`: checks a token or code without consuming it. */
  async verify(credential: Credential, ip: string | undefined): Promise<{ expiresAt: Date }> {
    const { record, attempt } = await this.authenticate(credential, 'verify', ip);
    // The same answer `/reset` would give: a link whose account changed its address is dead for both.
    await this.accountOf(record, 'verify', ip);
    if (attempt) await dependency('store', () => this.config.store.releaseAttempt(attempt.key, attempt.slot));
    return { expiresAt: record.expiresAt };
  }

  /** The account a token was issued for, found again by the address it was sent to; else the token is revoked. */
  private async accountOf(record: TokenRecord, endpoint: VerifyingEndpoint, ip: string | undefined): Promise<User> {
    const { store, users } = this.config;
    const user = await dependency('users', () => users.findByEmail(record.email));
    if (user && user.id === record.userId) return user;
    // The account's address changed (or it is gone) since the link was sent: the link dies with it.
    await dependency('store', () => store.revokeUser(record.userId));
    this.events.emit({ type: 'verify.failed', endpoint, reason: 'invalid', userId: record.userId, ip });
    throw TOKEN_INVALID;
  }

  /**
   * `/reset`: checks the credential and the password policy, then consumes the token and stores the new hash.
   * Parallel resets with one credential (in this process) run one after another: once one has changed the
   * password the others find the token gone before hashing, so N of them cost one bcrypt hash, not N.
   */
  async reset(credential: Credential, rawPassword: string, requester: Requester<Context>): Promise<void> {
    const key = 'token' in credential ? hashToken(credential.token) : `code:${normalizeEmail(credential.email)}`;
    const previous = this.resetsInProgress.get(key);
    const mine = (previous ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.resetOnce(credential, rawPassword, requester));
    this.resetsInProgress.set(key, mine);
    try {
      await mine;
    } finally {
      if (this.resetsInProgress.get(key) === mine) this.resetsInProgress.delete(key);
    }
  }

  private async resetOnce(credential: Credential, rawPassword: string, requester: Requester<Context>): Promise<void> {
    const { store, users } = this.config;
    const { ip } = requester;
    const { record, attempt } = await this.authenticate(credential, 'reset', ip);
    const release = async (): Promise<void> => {
      if (attempt) await dependency('store', () => store.releaseAttempt(attempt.key, attempt.slot));
    };

    const user = await this.accountOf(record, 'reset', ip);

    const password = normalizePassword(rawPassword);
    const problems = await findPasswordProblems(this.config.policy, password, user).catch((error: unknown) => {
      throw new ServiceUnavailableError('password policy', error);
    });
    if (problems.length > 0) {
      await release();
      this.events.emit({
        type: 'password.rejected',
        userId: user.id,
        rules: problems.map((problem) => problem.rule ?? 'custom'),
        ip,
      });
      throw new PasswordResetError('PASSWORD_REJECTED', problems);
    }

    // Hash before claiming, so the window between consuming the token and storing the password stays short.
    const passwordHash = await dependency('hashPassword', () => this.config.hashPassword(password));
    if (!(await dependency('store', () => store.claim(record.tokenHash)))) {
      this.events.emit({ type: 'verify.failed', endpoint: 'reset', reason: 'invalid', userId: user.id, ip });
      throw TOKEN_INVALID;
    }
    await dependency('users', () => users.updatePassword(user.id, passwordHash));
    this.events.emit({ type: 'reset.completed', userId: user.id, ip });

    // The password is changed; what follows must not turn that into an error answer.
    await this.afterReset(user, attempt?.key, requester);
  }

  /** `router.revokeTokens(userId)`. */
  revokeTokens(userId: string): Promise<void> {
    return this.config.store.revokeUser(userId);
  }

  private async afterReset(user: User, attemptKey: string | undefined, requester: Requester<Context>): Promise<void> {
    const attempt = async <T>(stage: string, call: () => T | Promise<T>): Promise<void> => {
      try {
        await call();
      } catch (error) {
        this.events.emit({ type: 'error', stage, error: toEventError(error, requester.secrets()), ip: requester.ip });
      }
    };
    await attempt('revoke', () => this.config.store.revokeUser(user.id));
    if (attemptKey) await attempt('clearAttempts', () => this.config.store.clearAttempts(attemptKey));
    const hook = this.config.onPasswordReset;
    if (hook) await attempt('onPasswordReset', () => hook(user, requester.context));
    if (this.config.sendChangedNotice) {
      this.config.background.track(
        this.deliver('changed', user.email, { email: user.email, name: user.name, locale: user.locale }, user.id),
      );
    }
  }

  /** Finds the token behind a credential, counting wrong codes. Throws `TOKEN_INVALID` / `TOKEN_EXPIRED`. */
  private async authenticate(
    credential: Credential,
    endpoint: VerifyingEndpoint,
    ip: string | undefined,
  ): Promise<Authenticated> {
    const { store } = this.config;
    const failed = (reason: 'invalid' | 'expired' | 'wrong_code' | 'locked', userId?: string): void => {
      this.events.emit({ type: 'verify.failed', endpoint, reason, ip, ...(userId ? { userId } : {}) });
    };

    if ('token' in credential) {
      const record = await dependency('store', () => store.find(hashToken(credential.token)));
      if (!record) {
        failed('invalid');
        throw TOKEN_INVALID;
      }
      if (record.expiresAt.getTime() <= this.config.now().getTime()) {
        failed('expired', record.userId);
        throw TOKEN_EXPIRED;
      }
      return { record };
    }

    const codeOptions = this.config.code!;
    const user = await dependency('users', () => this.config.users.findByEmail(credential.email));
    if (!user) {
      failed('invalid');
      throw TOKEN_INVALID;
    }
    const key = `code:${user.id}`;
    // Take the attempt slot before comparing, so N parallel guesses get at most maxAttempts comparisons.
    const slot = await dependency('store', () =>
      store.takeAttempt(key, codeOptions.maxAttempts, new Date(this.config.now().getTime() + this.config.tokenTtlMs)),
    );
    if (slot === null) {
      failed('locked', user.id);
      throw TOKEN_INVALID;
    }
    const record = await dependency('store', () => store.findByUser(user.id));
    if (
      !record?.codeHash ||
      !record.codeSalt ||
      !digestsEqual(record.codeHash, hashCode(credential.code, record.codeSalt))
    ) {
      failed('wrong_code', user.id);
      if (slot === codeOptions.maxAttempts) this.events.emit({ type: 'code.locked', userId: user.id, ip });
      throw TOKEN_INVALID;
    }
    if (record.expiresAt.getTime() <= this.config.now().getTime()) {
      await dependency('store', () => store.releaseAttempt(key, slot));
      failed('expired', user.id);
      throw TOKEN_EXPIRED;
    }
    return { record, attempt: { key, slot } };
  }

  /** Renders and sends one email; the outcome is an event, never an exception. */
  private async deliver(
    kind: EmailKind,
    to: string,
    data: Omit<TemplateData, 'appName' | 'locale'> & { locale?: string },
    userId?: string,
  ): Promise<void> {
    const message = this.config.renderer.render(kind, to, data);
    try {
      await this.config.mailer.send(message);
      this.events.emit({ type: 'email.sent', kind, to, ...(userId ? { userId } : {}) });
    } catch (error) {
      this.events.emit({
        type: 'email.failed',
        kind,
        to,
        ...(userId ? { userId } : {}),
        error: toEventError(error, [data.resetUrl, data.code]),
      });
    }
  }
}
