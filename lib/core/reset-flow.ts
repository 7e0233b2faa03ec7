/**
 * The forgot/verify/reset flow, free of HTTP: it receives plain values (an
 * address, an IP, an opaque context for hooks) and talks only to the
 * `TokenStore`, `UserAdapter` and `Mailer` seams. The JSON API and the hosted
 * pages both call it.
 */
import type { KeyObject } from 'node:crypto';
import type { EmailKind, Mailer, TemplateData } from '../mail/mailer';
import type { EmailRenderer } from '../mail/email-templates';
import { kindOf, type TokenKind, type TokenRecord, type TokenStore } from '../stores/token-store';
import type { BackgroundWork } from './background-work';
import { withDeadline } from './deadline';
import type { DropLog } from './drop-log';
import { MAX_SETTLING, Settler, mayStillLand, type SettleTicket } from './settling';
import { PasswordResetError, ServiceUnavailableError } from './errors';
import { mailboxKey, normalizeEmail } from './email-address';
import { toEventError, type EventSink } from './events';
import { findPasswordProblems, normalizePassword, type ResolvedPasswordPolicy } from './password-policy';
import {
  codeMatches,
  generateCode,
  generateSalt,
  generateToken,
  hashCode,
  hashToken,
  unknownAddressKey,
} from './tokens';
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
  /**
   * The code flow, when on; `key` is the HMAC key of the codes (from `secret`). With `exchangeTtlMs` (`code.exchange`),
   * a right code on `/verify` is traded for a new token of that lifetime.
   */
  code?: { digits: number; maxAttempts: number; key: KeyObject; exchangeTtlMs?: number };
  sendChangedNotice: boolean;
  notifyUnknown: boolean;
  /** `secondFactor`, when set: asked on `/reset` after the credential, before the password policy. */
  secondFactor?: {
    required: (user: User) => boolean | Promise<boolean>;
    verify: (user: User, otp: string) => boolean | Promise<boolean>;
    maxAttempts: number;
  };
  onPasswordReset?: (user: User, context: Context) => void | Promise<void>;
  /** `hooks.beforeReset`: may refuse a reset (a thrown `PasswordResetError` is the answer) before the token is used. */
  beforeReset?: (user: User, context: Context) => void | Promise<void>;
  /** `hooks.allowReset`: `false` sends a known account nothing (e.g. it signs in only through an identity provider). */
  allowReset?: (user: User) => boolean | Promise<boolean>;
  /** Counts one `/forgot` for a subject (`email:` and `mailbox:` keys); `true` when over the limit. */
  overPerEmailLimit?: (subject: string) => Promise<boolean>;
  now: () => Date;
  /** Settles writes that failed and may still land; one per router. @default a Settler with the default delays */
  settler?: Settler;
}

type VerifyingEndpoint = 'verify' | 'reset';

/** What settling a failed `/reset` write needs to know. */
interface Settling<Context> {
  user: User;
  record: TokenRecord;
  passwordHash: string;
  attempt?: { key: string; slot: number };
  /** The code flow's attempt key, freed after a reset. */
  codeKey: string | undefined;
  requester: Requester<Context>;
}

/** What putting a consumed token back needs (a failed `/reset`, or a failed code exchange). */
interface PutBack {
  record: TokenRecord;
  /** The code attempt the request still holds, given back with the token. */
  attempt?: { key: string; slot: number };
  requester: { ip: string | undefined };
}

interface Authenticated {
  record: TokenRecord;
  /** For the code flow: the attempt slot this request holds, to give back if the request turns out fine. */
  attempt?: { key: string; slot: number };
}

/** The wrong-code attempt counter of a user's code flow. */
const codeAttemptKey = (userId: string): string => `code:${userId}`;

/** The wrong-otp attempt counter of one link: per link, so a new link (which needs the email) starts afresh. */
const secondFactorKey = (tokenHash: string): string => `otp:${tokenHash}`;

const TOKEN_INVALID = new PasswordResetError('TOKEN_INVALID');
const SECOND_FACTOR_REQUIRED = new PasswordResetError('SECOND_FACTOR_REQUIRED');
const SECOND_FACTOR_INVALID = new PasswordResetError('SECOND_FACTOR_INVALID');
const TOKEN_EXPIRED = new PasswordResetError('TOKEN_EXPIRED');

/**
 * How long `secondFactor.required` / `verify` may take: an authenticator that never answers is a failed dependency
 * (503, its attempt slot given back), not a request (and the resets queued behind it in this process) hanging for ever.
 */
export const SECOND_FACTOR_TIMEOUT_MS = 10_000;

/** `call`'s result, or a `TimeoutError` naming the dependency once `ms` passed without one. */
function within<T>(name: string, ms: number, call: () => T | Promise<T>): Promise<T> {
  return withDeadline(Promise.resolve().then(call), ms, () => {
    const error = new Error(`${name} did not answer within ${ms} ms`);
    error.name = 'TimeoutError';
    return error;
  });
}

/** Awaits a dependency call; its failure becomes `SERVICE_UNAVAILABLE` (the cause is kept for the event). */
async function dependency<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ServiceUnavailableError(name, error);
  }
}

/**
 * The cause of a user-store failure, with the password hash the flow handed it scrubbed from its message (an adapter
 * error may quote its SQL). The original is not kept: it would carry the hash to whatever logs the error.
 */
function withoutSecrets(error: unknown, secrets: string[]): Error {
  const { name, message } = toEventError(error, secrets);
  const scrubbed = new Error(message);
  scrubbed.name = name;
  return scrubbed;
}

export class ResetFlow<Context> {
  private readonly events: EventSink;
  /** The last `/reset` in progress per credential, so parallel resets with one credential run one after another. */
  private readonly resetsInProgress = new Map<string, Promise<unknown>>();
  private readonly settler: Settler;

  constructor(private readonly config: FlowDependencies<Context>) {
    this.events = config.events;
    this.settler = config.settler ?? new Settler();
  }

  /**
   * `/forgot`: starts the work behind it, to run after the uniform answer was
   * written. A flood faster than the store or mailer would otherwise queue work
   * (and memory) without bound: past `background.limit` requests in progress, or
   * `background.perClient` of one client (`client`: the caller's key for who asked, e.g. the IP), more are dropped
   * with an `error` event and a log line.
   */
  startRequestReset(email: string, ip: string | undefined, client: string): void {
    const { background } = this.config;
    const result = background.startSoon(() => this.requestReset(email, ip), client);
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
      const spelling = `email:${normalizeEmail(email)}`;
      if (await this.overPerEmailLimit(spelling, email, ip)) return;
      const user = await this.config.users.findByEmail(email);
      if (!user) {
        this.events.emit({ type: 'reset.unknown_email', email, ip });
        // The notice goes to the address as typed, so sub-address and dot variants of one inbox share one count.
        if (this.config.notifyUnknown && !(await this.overPerEmailLimit(`mailbox:${mailboxKey(email)}`, email, ip)))
          await this.deliver('unknown', email, { email });
        return;
      }
      // The account counts under its own address, so an address typed as stored was counted above, in one write.
      const account = `email:${normalizeEmail(user.email)}`;
      if (account !== spelling && (await this.overPerEmailLimit(account, email, ip))) return;
      if (!(await this.allowed(user, ip))) return;
      const { token, record, code } = this.newToken(user, this.config.tokenTtlMs);
      await this.config.store.save(record);
      this.events.emit({ type: 'reset.requested', userId: user.id, email: user.email, kind: 'reset', ip });
      const sent = await this.deliver('reset', user.email, this.resetEmail(user, token, code, record), user.id);
      if (sent) await this.markDelivered(record, ip);
    } catch (error) {
      this.events.emit({ type: 'error', stage: 'forgot', error: toEventError(error), ip });
    }
  }

  /**
   * A new token of `kind` for `user`, valid `ttlMs` (and not past `notAfter`), with a code when the code flow is on,
   * `withCode`, and the token is a reset's: the secret parts and what is stored.
   */
  private newToken(
    user: Pick<User, 'id' | 'email'>,
    ttlMs: number,
    { withCode = true, notAfter, kind = 'reset' }: { withCode?: boolean; notAfter?: Date; kind?: TokenKind } = {},
  ): { token: string; record: TokenRecord; code?: string } {
    const token = generateToken();
    const now = this.config.now();
    const expiresAt = now.getTime() + ttlMs;
    const record: TokenRecord = {
      tokenHash: hashToken(token),
      userId: user.id,
      email: user.email,
      expiresAt: new Date(notAfter ? Math.min(expiresAt, notAfter.getTime()) : expiresAt),
      createdAt: now,
      kind,
    };
    const codeOptions = this.config.code;
    // An invitation lives for days: a short code would have that long to be guessed, a little each attempt window.
    if (!codeOptions || !withCode || kind === 'invite') return { token, record };
    const code = generateCode(codeOptions.digits);
    record.codeSalt = generateSalt();
    record.codeHash = hashCode(codeOptions.key, code, record.codeSalt);
    return { token, record, code };
  }

  /** The template data of the email carrying `token` (a reset or an invitation). */
  private resetEmail(user: User, token: string, code: string | undefined, record: TokenRecord): TemplateData {
    const ttlMs = record.expiresAt.getTime() - record.createdAt.getTime();
    return {
      email: user.email,
      name: user.name,
      locale: user.locale,
      resetUrl: this.config.buildLink(token, user),
      code,
      expiresInMinutes: Math.max(1, Math.round(ttlMs / 60_000)),
      expiresInSeconds: Math.floor(ttlMs / 1000),
    } as TemplateData;
  }

  /**
   * `router.sendResetLink` / `router.createResetLink`: a link for the account with this address, issued by the app
   * (an admin, a support tool): awaited, without limits, and failing loudly. With `send`, the email is sent and the
   * promise resolves once the mailer accepted it; without, the link is handed to the app to deliver. Either way the
   * new link supersedes the older ones only once it is out, as `/forgot`'s do, whatever their kind.
   */
  async issueLink(
    email: string,
    ttlMs: number,
    send: boolean,
    kind: TokenKind = 'reset',
  ): Promise<{ url: string; userId: string; expiresAt: Date }> {
    const user = await this.config.users.findByEmail(email);
    if (!user) throw new PasswordResetError('ACCOUNT_NOT_FOUND');
    const { token, record, code } = this.newToken(user, ttlMs, { kind });
    await this.config.store.save(record);
    const data = this.resetEmail(user, token, code, record);
    if (send) await this.sendEmail(kind, user.email, data, user.id);
    // After the email went out a failure here must not reject (the link works, by its hash): an event, retried.
    await this.markDelivered(record, undefined);
    this.events.emit({ type: 'reset.requested', userId: user.id, email: user.email, kind, issuedBy: 'app' });
    return { url: data.resetUrl!, userId: user.id, expiresAt: record.expiresAt };
  }

  /**
   * Only a token whose email went out supersedes older links and is the one the code flow checks: a token whose
   * insert failed (and perhaps landed later), or whose email failed, takes nothing away from the user.
   * A failure here leaves the new link working (it is found by its hash) but the older ones too: it is retried.
   */
  private async markDelivered(record: TokenRecord, ip: string | undefined): Promise<void> {
    const { store } = this.config;
    if (!store.markDelivered) return;
    const mark = (): Promise<void> => store.markDelivered!(record.tokenHash, record);
    try {
      await mark();
    } catch (error) {
      this.events.emit({ type: 'error', stage: 'store', error: toEventError(error), ip });
      // A refusal is final; only a call that may still land is worth repeating.
      if (!mayStillLand(error)) return;
      this.settle(
        this.settler.open(record.userId),
        async () => {
          const marked = await this.settler.persist(mark);
          if (!marked.ok) this.reportUnsettled('store', marked, ip);
        },
        ip,
      );
    }
  }

  /**
   * Runs settling work in the background under `ticket` (opened before the write, so a reset that goes through
   * meanwhile cancels it), tracked so `close()` and `settled()` wait for it. Past {@link MAX_SETTLING} pieces at once,
   * the failure is reported and left as it is.
   */
  private settle(ticket: SettleTicket, work: (ticket: SettleTicket) => Promise<void>, ip?: string): void {
    if (this.settler.size > MAX_SETTLING) {
      this.settler.close(ticket);
      const message = `more than ${MAX_SETTLING} failed writes are being settled; this one is left as it is`;
      this.events.emit({ type: 'error', stage: 'settle', ip, error: { name: 'OverloadedError', message } });
      return;
    }
    this.config.background.track(
      this.settler.run(ticket, work).catch((error: unknown) => {
        this.events.emit({ type: 'error', stage: 'settle', error: toEventError(error), ip });
      }),
    );
  }

  /** `hooks.allowReset`; a throwing hook sends nothing: it may be what keeps an SSO-only account from getting links. */
  private async allowed(user: User, ip: string | undefined): Promise<boolean> {
    const { allowReset } = this.config;
    if (!allowReset) return true;
    try {
      if ((await allowReset(user)) !== false) return true;
      this.events.emit({ type: 'reset.skipped', userId: user.id, ip });
    } catch (error) {
      this.events.emit({ type: 'error', stage: 'allowReset', error: toEventError(error), ip });
    }
    return false;
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

  /**
   * `/verify`: checks a token or code without consuming it (with `code.exchange`, a right code is traded for `token`
   * instead). `email` is the account's address, for the hosted page that names the account a link resets; the JSON
   * answer leaves it out. `kind`: what the link is for (an invitation's page is worded for a first password).
   */
  async verify(
    credential: Credential,
    ip: string | undefined,
  ): Promise<{ expiresAt: Date; email: string; kind: TokenKind; token?: string; secondFactor?: true }> {
    const { record, attempt } = await this.authenticate(credential, 'verify', ip);
    // The same answer `/reset` would give: a link whose account changed its address is dead for both.
    const release = async (): Promise<void> => {
      if (attempt) await dependency('store', () => this.config.store.releaseAttempt(attempt.key, attempt.slot));
    };
    // A right code answered 503 (the user store failed) costs no guess.
    const user = await this.accountOf(record, 'verify', ip).catch(async (error: unknown) => {
      await release().catch(() => undefined);
      throw error;
    });
    await release();
    // Asked before a code is traded: a failing `required` must not cost the user the code.
    const secondFactor = (await this.secondFactorRequired(user)) ? { secondFactor: true as const } : {};
    const exchangeTtlMs = this.config.code?.exchangeTtlMs;
    if (attempt && exchangeTtlMs !== undefined)
      return {
        ...(await this.exchange(record, user, exchangeTtlMs, ip, 'secondFactor' in secondFactor)),
        ...secondFactor,
      };
    return { expiresAt: record.expiresAt, email: user.email, kind: kindOf(record), ...secondFactor };
  }

  /** `secondFactor.required`; a throw is a failed dependency (503), never "not required". */
  private async secondFactorRequired(user: User): Promise<boolean> {
    const secondFactor = this.config.secondFactor;
    if (!secondFactor) return false;
    return Boolean(
      await dependency('secondFactor.required', () =>
        within('secondFactor.required', SECOND_FACTOR_TIMEOUT_MS, () => secondFactor.required(user)),
      ),
    );
  }

  /**
   * The second factor of a `/reset` whose credential was right. A wrong `otp` takes one of `maxAttempts` slots of the
   * link before `verify` is called (so N parallel guesses, on any number of instances, get at most `maxAttempts`
   * calls), and a right one gives its slot back. The guess that takes the last slot removes the link.
   */
  private async checkSecondFactor(
    user: User,
    record: TokenRecord,
    otp: string | undefined,
    ip?: string,
  ): Promise<void> {
    const { secondFactor, store } = this.config;
    if (!secondFactor || !(await this.secondFactorRequired(user))) return;
    const failed = (reason: 'otp_missing' | 'otp_wrong' | 'locked'): void =>
      this.events.emit({ type: 'verify.failed', endpoint: 'reset', reason, userId: user.id, ip });
    if (otp === undefined) {
      failed('otp_missing');
      throw SECOND_FACTOR_REQUIRED;
    }
    const key = secondFactorKey(record.tokenHash);
    const { maxAttempts } = secondFactor;
    const slot = await dependency('store', () => store.takeAttempt(key, maxAttempts, record.expiresAt));
    if (slot === null) {
      // Every try is spent (by parallel guesses, or a removal that failed): the link goes now.
      failed('locked');
      await this.lockLink(record, ip);
      throw TOKEN_INVALID;
    }
    let right: boolean;
    try {
      right =
        (await within('secondFactor.verify', SECOND_FACTOR_TIMEOUT_MS, () => secondFactor.verify(user, otp))) === true;
    } catch (error) {
      // The authenticator could not answer: that costs the user no try.
      await dependency('store', () => store.releaseAttempt(key, slot));
      throw new ServiceUnavailableError('secondFactor.verify', error);
    }
    if (right) return dependency('store', () => store.releaseAttempt(key, slot));
    failed('otp_wrong');
    if (slot === maxAttempts) await this.lockLink(record, ip);
    throw SECOND_FACTOR_INVALID;
  }

  /** Removes a link whose second-factor tries are spent; of parallel removals, one emits the event. */
  private async lockLink(record: TokenRecord, ip: string | undefined): Promise<void> {
    const claimed = await dependency('store', () => this.config.store.claim(record.tokenHash));
    if (claimed) this.events.emit({ type: 'second_factor.locked', userId: record.userId, ip });
  }

  /**
   * `code.exchange`: trades the token behind a right code for a new one without a code. The new token is saved
   * undelivered first (it supersedes nothing, so a save that fails, and perhaps lands later, leaves the code and
   * link as they were); the claim of the old one then decides the trade, so of parallel trades and resets by the
   * link exactly one wins, and at no moment do both tokens, or neither, work for a client that holds one.
   */
  private async exchange(
    record: TokenRecord,
    user: User,
    ttlMs: number,
    ip: string | undefined,
    /** The account has a second factor: the wrong otps of the traded link carry over. */
    withSecondFactor = false,
  ): Promise<{ expiresAt: Date; email: string; kind: TokenKind; token: string }> {
    const { store } = this.config;
    const owner = { id: record.userId, email: record.email };
    const kind = kindOf(record);
    const { token, record: traded } = this.newToken(owner, ttlMs, {
      withCode: false,
      notAfter: record.expiresAt,
      kind,
    });
    await dependency('store', () => store.save(traded));
    const ticket = this.settler.open(user.id);
    let claimed: boolean;
    try {
      claimed = await store.claim(record.tokenHash);
    } catch (error) {
      // A claim that lands late would leave the user with neither the code (and link) nor the token: put it back.
      if (mayStillLand(error))
        this.settle(ticket, () => this.restoreIfClaimed({ record, requester: { ip } }, ticket), ip);
      else this.settler.close(ticket);
      throw new ServiceUnavailableError('store', error);
    }
    this.settler.close(ticket);
    if (!claimed) {
      // Used, traded or superseded meanwhile. The new token stays undelivered, known to no one, until it expires.
      this.events.emit({ type: 'verify.failed', endpoint: 'verify', reason: 'invalid', userId: user.id, ip });
      throw TOKEN_INVALID;
    }
    if (withSecondFactor) await this.carrySecondFactorAttempts(record, traded, ip);
    // It works by its hash already; marking it makes it the user's newest link (a newer email supersedes it), and a
    // failure here is retried in the background rather than answered: the code is spent, the token must go out.
    await this.markDelivered(traded, ip);
    this.events.emit({ type: 'code.exchanged', userId: user.id, ip });
    return { expiresAt: traded.expiresAt, email: user.email, kind, token };
  }

  /**
   * The wrong `otp`s spent on a traded link count for the token it was traded for: both come from one email, so a
   * trade must not hand a guesser a fresh `secondFactor.maxAttempts`. Runs after the old link was claimed (filling its
   * dead counter to read it is harmless); a store failure is reported, not answered (the code is spent already).
   */
  private async carrySecondFactorAttempts(from: TokenRecord, to: TokenRecord, ip: string | undefined): Promise<void> {
    const { secondFactor, store } = this.config;
    if (!secondFactor) return;
    const { maxAttempts } = secondFactor;
    try {
      // Slots may have gaps (a right otp gives its slot back), so the free ones are counted by taking them.
      let free = 0;
      while (
        free < maxAttempts &&
        (await store.takeAttempt(secondFactorKey(from.tokenHash), maxAttempts, from.expiresAt))
      )
        free += 1;
      for (let spent = maxAttempts - free; spent > 0; spent -= 1)
        await store.takeAttempt(secondFactorKey(to.tokenHash), maxAttempts, to.expiresAt);
    } catch (error) {
      this.events.emit({ type: 'error', stage: 'store', error: toEventError(error), ip });
    }
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
   * `/reset`: checks the credential, the second factor and the password policy, then consumes the token and stores
   * the new hash. Parallel resets with one credential (in this process) run one after another: once one has changed
   * the password the others find the token gone before hashing, so N of them cost one bcrypt hash, not N. Resolves
   * the kind of the link that was used.
   */
  async reset(
    credential: Credential,
    rawPassword: string,
    requester: Requester<Context>,
    otp?: string,
  ): Promise<TokenKind> {
    const key = 'token' in credential ? hashToken(credential.token) : `code:${normalizeEmail(credential.email)}`;
    const previous = this.resetsInProgress.get(key);
    const mine = (previous ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.resetOnce(credential, rawPassword, requester, otp));
    this.resetsInProgress.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.resetsInProgress.get(key) === mine) this.resetsInProgress.delete(key);
    }
  }

  private async resetOnce(
    credential: Credential,
    rawPassword: string,
    requester: Requester<Context>,
    otp: string | undefined,
  ): Promise<TokenKind> {
    const { store, users } = this.config;
    const { ip } = requester;
    const { record, attempt } = await this.authenticate(credential, 'reset', ip);
    const release = async (): Promise<void> => {
      if (attempt) await dependency('store', () => store.releaseAttempt(attempt.key, attempt.slot));
    };

    // A dependency that fails after a right code (the user store, the password check, the hash) costs no guess.
    const failed = async (error: unknown): Promise<never> => {
      await release().catch(() => undefined);
      throw error;
    };
    const user = await this.accountOf(record, 'reset', ip).catch(failed);
    // SPEC's order: credential, second factor, password policy, beforeReset, then the claim. A refusal here gives
    // back the code attempt: the code was right.
    await this.checkSecondFactor(user, record, otp, ip).catch(async (error: unknown) => {
      await release();
      throw error;
    });

    const password = normalizePassword(rawPassword);
    const problems = await findPasswordProblems(this.config.policy, password, user).catch((error: unknown) =>
      failed(new ServiceUnavailableError('password policy', error)),
    );
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

    await this.beforeReset(user, requester, release);

    // Hash before claiming, so the window between consuming the token and storing the password stays short.
    const passwordHash = await dependency('hashPassword', () => this.config.hashPassword(password)).catch(failed);
    const codeKey = attempt?.key ?? (this.config.code ? codeAttemptKey(user.id) : undefined);
    const settling: Settling<Context> = { user, record, passwordHash, attempt, codeKey, requester };
    // Opened before the writes: a reset that goes through while one of them is in flight cancels its settling.
    const ticket = this.settler.open(user.id);
    let claimed: boolean;
    try {
      claimed = await store.claim(record.tokenHash);
    } catch (error) {
      // The claim may still land: then the link would be burnt with the password unchanged.
      if (mayStillLand(error)) this.settle(ticket, () => this.restoreIfClaimed(settling, ticket), ip);
      else this.settler.close(ticket);
      throw new ServiceUnavailableError('store', error);
    }
    if (!claimed) {
      this.settler.close(ticket);
      this.events.emit({ type: 'verify.failed', endpoint: 'reset', reason: 'invalid', userId: user.id, ip });
      throw TOKEN_INVALID;
    }
    try {
      await users.updatePassword(user.id, passwordHash);
    } catch (error) {
      if (mayStillLand(error)) {
        // The write may still land. Rather than guess, finish it: the same hash written again is harmless.
        this.settle(ticket, () => this.finishLateReset(settling, ticket), ip);
        throw new ServiceUnavailableError('users', withoutSecrets(error, [passwordHash]), true);
      }
      // The user store refused: the password is unchanged, so the link must work for another try.
      this.settle(ticket, () => this.restore(settling, ticket), ip);
      throw new ServiceUnavailableError('users', withoutSecrets(error, [passwordHash]));
    }
    this.settler.close(ticket);
    const kind = kindOf(record);
    this.events.emit({ type: 'reset.completed', userId: user.id, kind, ip });

    // The password is changed; what follows must not turn that into an error answer.
    // A reset by link frees a code flow that someone locked by spending its attempts, as a reset by code does.
    await this.afterReset(user, codeKey, requester, kind);
    return kind;
  }

  /**
   * `hooks.beforeReset`, after the checks and before hashing (a refused reset costs no bcrypt hash) and the claim (a
   * refused reset leaves the link usable and gives back the code attempt it held). A `PasswordResetError` is the
   * answer; anything else is a failed dependency, answered 503.
   */
  private async beforeReset(user: User, requester: Requester<Context>, release: () => Promise<void>): Promise<void> {
    const hook = this.config.beforeReset;
    if (!hook) return;
    try {
      await hook(user, requester.context);
    } catch (error) {
      await release();
      if (error instanceof PasswordResetError) throw error;
      throw new ServiceUnavailableError('beforeReset', error);
    }
  }

  /**
   * After a claim that failed: once the store answers again (and a stale delete had time to land), a token that is
   * gone was consumed by this request without a password change, so it is put back, unless a reset went through
   * meanwhile in this process. A reset on another instance is not seen here (see the README).
   */
  private async restoreIfClaimed(settling: PutBack, ticket: SettleTicket): Promise<void> {
    const { store } = this.config;
    const { record, requester } = settling;
    const answered = await this.settler.persist(() => store.find(record.tokenHash), ticket);
    if (!answered.ok) return this.reportUnsettled('restore', answered, requester.ip);
    await this.settler.grace();
    const found = await this.settler.persist(() => store.find(record.tokenHash), ticket);
    if (!found.ok) return this.reportUnsettled('restore', found, requester.ip);
    if (found.value || ticket.cancelled) return this.releaseAttempt(settling);
    await this.restore(settling, ticket);
  }

  /**
   * After a password write that may still land: the same write is repeated until the user store takes it, and the
   * reset then gets every after-reset step an on-time one gets. When every try failed, the token is put back only
   * if the last failure was a refusal; a write that may still land leaves the link consumed (reported).
   */
  private async finishLateReset(settling: Settling<Context>, ticket: SettleTicket): Promise<void> {
    const { user, passwordHash, requester, codeKey, record } = settling;
    const written = await this.settler.persist(() => this.config.users.updatePassword(user.id, passwordHash), ticket);
    if (!written.ok) {
      this.reportUnsettled('users', written, requester.ip, [...requester.secrets(), passwordHash]);
      if (!written.cancelled && !mayStillLand(written.error)) await this.restore(settling, ticket);
      return;
    }
    if (ticket.cancelled) return;
    const kind = kindOf(record);
    this.events.emit({ type: 'reset.completed', userId: user.id, kind, ip: requester.ip, late: true });
    await this.afterReset(user, codeKey, requester, kind);
  }

  /**
   * Puts a consumed token back as it was: it supersedes older links again, or dies at once if a newer one was sent,
   * and gives back the code attempt this request held. A reset that goes through meanwhile revokes it again.
   */
  private async restore(settling: PutBack, ticket: SettleTicket): Promise<void> {
    const { store } = this.config;
    const { record, requester } = settling;
    const { tokenHash, userId } = record;
    if (!store.markDelivered) {
      // A 0.1 store supersedes on save: putting an older token back would kill a newer link the user received.
      const newest = await store.findByUser(userId).catch(() => null);
      if (newest && newest.tokenHash !== tokenHash) return;
    }
    let sent = false;
    const saved = await this.settler.persist(async () => {
      // A put-back whose save landed on an earlier try is there already.
      if (!(await store.find(tokenHash))) {
        sent = true;
        await store.save(record);
      }
      if (!ticket.cancelled) await store.markDelivered?.(tokenHash, record);
    }, ticket);
    if (ticket.cancelled) {
      // A save sent before the cancel may still land after the reset's revoke.
      if (sent) await this.settler.grace().then(() => this.settler.persist(() => store.revokeUser(userId)));
      return;
    }
    if (!saved.ok) return this.reportUnsettled('restore', saved, requester.ip);
    await this.releaseAttempt(settling);
    // markDelivered removes a put-back token when a newer link was delivered meanwhile: then nothing was restored.
    if (await store.find(tokenHash).catch(() => null)) {
      this.events.emit({ type: 'token.restored', userId, ip: requester.ip });
    }
  }

  /** Gives back the code attempt a failed `/reset` by code held: a database hiccup must not cost a guess. */
  private async releaseAttempt({ attempt, requester }: PutBack): Promise<void> {
    if (!attempt) return;
    const released = await this.settler.persist(() => this.config.store.releaseAttempt(attempt.key, attempt.slot));
    if (!released.ok) this.reportUnsettled('releaseAttempt', released, requester.ip);
  }

  private reportUnsettled(
    stage: string,
    outcome: { cancelled: true } | { cancelled: false; error: unknown },
    ip: string | undefined,
    secrets: string[] = [],
  ): void {
    if (outcome.cancelled) return;
    this.events.emit({ type: 'error', stage: `settle.${stage}`, error: toEventError(outcome.error, secrets), ip });
  }

  /** `router.revokeTokens(userId)`. */
  revokeTokens(userId: string): Promise<void> {
    this.settler.revoked(userId);
    return this.config.store.revokeUser(userId);
  }

  private async afterReset(
    user: User,
    attemptKey: string | undefined,
    requester: Requester<Context>,
    kind: TokenKind,
  ): Promise<void> {
    const attempt = async <T>(stage: string, call: () => T | Promise<T>): Promise<void> => {
      try {
        await call();
      } catch (error) {
        this.events.emit({ type: 'error', stage, error: toEventError(error, requester.secrets()), ip: requester.ip });
      }
    };
    this.settler.revoked(user.id);
    const revoke = (): Promise<void> => this.config.store.revokeUser(user.id);
    await revoke().catch((error: unknown) => {
      // Other links must die with the old password: keep trying in the background.
      this.events.emit({ type: 'error', stage: 'revoke', error: toEventError(error), ip: requester.ip });
      this.settle(
        this.settler.open(user.id),
        async () => {
          const revoked = await this.settler.persist(revoke);
          if (!revoked.ok) this.reportUnsettled('revoke', revoked, requester.ip);
        },
        requester.ip,
      );
    });
    if (attemptKey) await attempt('clearAttempts', () => this.config.store.clearAttempts(attemptKey));
    // The link reached the address and was used: that proves control of it. Before onPasswordReset, which may read it.
    const { users } = this.config;
    if (users.markEmailVerified) await attempt('markEmailVerified', () => users.markEmailVerified!(user.id));
    const hook = this.config.onPasswordReset;
    if (hook) await attempt('onPasswordReset', () => hook(user, requester.context));
    // An invitation set the first password: "your password was changed" would alarm a user who just chose it.
    if (this.config.sendChangedNotice && kind !== 'invite') {
      this.config.background.track(
        this.deliver('changed', user.email, { email: user.email, name: user.name, locale: user.locale }, user.id).then(
          () => undefined,
        ),
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
    // Every case (no account, locked, no live code, wrong code) does the same work, so neither the answer nor its
    // timing tells whether an account exists: an unknown address takes a slot and reads under a stand-in key (whose
    // HMAC is computed for known addresses too).
    const standIn = unknownAddressKey(codeOptions.key, credential.email);
    const key = user ? codeAttemptKey(user.id) : standIn;
    // Take the attempt slot before comparing, so N parallel guesses get at most maxAttempts comparisons that count.
    const slot = await dependency('store', () =>
      store.takeAttempt(key, codeOptions.maxAttempts, new Date(this.config.now().getTime() + this.config.tokenTtlMs)),
    );
    const record = await dependency('store', () => store.findByUser(user ? user.id : key));
    const matches = codeMatches(codeOptions.key, credential.code, record);
    if (!user) {
      failed('invalid');
      throw TOKEN_INVALID;
    }
    if (slot === null) {
      failed('locked', user.id);
      throw TOKEN_INVALID;
    }
    if (!record || !matches) {
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

  /** Renders and sends one email; the outcome is an event (and whether it was sent), never an exception. */
  private async deliver(
    kind: EmailKind,
    to: string,
    data: Omit<TemplateData, 'appName' | 'locale'> & { locale?: string },
    userId?: string,
  ): Promise<boolean> {
    return this.sendEmail(kind, to, data, userId).then(
      () => true,
      () => false,
    );
  }

  /** Renders and sends one email, with its `email.sent` / `email.failed` event; rejects with the mailer's error. */
  private async sendEmail(
    kind: EmailKind,
    to: string,
    data: Omit<TemplateData, 'appName' | 'locale'> & { locale?: string },
    userId?: string,
  ): Promise<void> {
    try {
      // Inside the try: a custom template that throws is a failed email, not an unhandled rejection.
      const message = this.config.renderer.render(kind, to, data);
      await this.config.mailer.send(message);
    } catch (error) {
      this.events.emit({
        type: 'email.failed',
        kind,
        to,
        ...(userId ? { userId } : {}),
        error: toEventError(error, [data.resetUrl, data.code]),
      });
      throw error;
    }
    this.events.emit({ type: 'email.sent', kind, to, ...(userId ? { userId } : {}) });
  }
}
