/**
 * The seam between the router and wherever reset tokens live.
 *
 * Every method that decides a race (`claim`, `takeAttempt`) is specified so that
 * it can be built on operations that are atomic on MongoDB and on MongoDB-wire
 * servers without transactions: deleting one document (exactly one deleter sees
 * `deletedCount === 1`) and inserting on a unique key (exactly one inserter wins).
 */

/**
 * How long stores keep a token past its expiry by default, so that using it answers
 * `TOKEN_EXPIRED` rather than `TOKEN_INVALID`.
 */
export const DEFAULT_EXPIRED_RETENTION_MS = 3_600_000;

/**
 * What a token is for, the one list of them: `reset` (a forgotten password) and `invite` (an account the app created,
 * whose owner chooses a first password). Each kind is also the kind of the email that carries it.
 */
export const TOKEN_KINDS = ['reset', 'invite'] as const;

/** One of {@link TOKEN_KINDS}. */
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** A record's kind: tokens stored by 0.1, and by stores that drop fields they do not know, are resets. */
export function kindOf(record: Pick<TokenRecord, 'kind'>): TokenKind {
  return record.kind ?? 'reset';
}

/** A stored reset token. Only hashes are stored, never the token or code themselves. */
export interface TokenRecord {
  /** SHA-256 of the token, base64url. Unique. */
  tokenHash: string;
  /** The user the token resets, as returned by `users.findByEmail`. */
  userId: string;
  /** The address the token was sent to, used to find the user again at reset time. */
  email: string;
  /** HMAC-SHA-256 of `codeSalt` and the code under the `secret` option, hex, when the code flow is on. */
  codeHash?: string;
  /** Random salt of `codeHash`, hex. */
  codeSalt?: string;
  /** When the token stops working. */
  expiresAt: Date;
  /** When the token was issued; orders tokens of one user (newest wins). */
  createdAt: Date;
  /** What the token is for; absent: `'reset'` (tokens stored by 0.1). */
  kind?: TokenKind;
}

/** Storage of reset tokens and of wrong-code attempt counters. */
export interface TokenStore {
  /**
   * Stores a token, not yet delivered: until {@link TokenStore.markDelivered} it supersedes nothing and `findByUser`
   * does not return it, so a token whose email never went out (or whose insert landed after the router gave up on it)
   * cannot take the place of the link the user did receive.
   */
  save(record: TokenRecord): Promise<void>;

  /**
   * The email carrying the token was handed to the mailer: the token becomes the user's newest link and every token
   * of the user issued before it is removed (a newer request supersedes older links). If a newer delivered token of
   * the user exists already, this one is removed instead. Idempotent.
   *
   * Optional for stores written for 0.1: without it, `save` is expected to supersede as it did then (and the
   * guarantee that an undelivered token supersedes nothing is the store's to give).
   *
   * `saved` is the `userId` and `createdAt` of the record saved under this hash, which the router passes so that a
   * store can supersede without reading the token first; a store must also work when it is left out.
   */
  markDelivered?(tokenHash: string, saved?: Pick<TokenRecord, 'userId' | 'createdAt'>): Promise<void>;

  /**
   * Returns the token with this hash without consuming it, or `null`. May
   * return a record past `expiresAt` (so the caller can answer "expired" rather
   * than "invalid") until the store purges it.
   */
  find(tokenHash: string): Promise<TokenRecord | null>;

  /**
   * The newest delivered token of a user, or `null` (used by the code flow). Also called with ids that are no user's
   * (the stand-in for an address without an account, `code-unknown:<n>`): those must resolve `null`, not fail, since
   * a failure only for unknown addresses would tell which addresses have accounts.
   */
  findByUser(userId: string): Promise<TokenRecord | null>;

  /**
   * Removes the token. Resolves `true` for exactly one caller among any number
   * of concurrent claims of one token, `false` for the others and for unknown tokens.
   */
  claim(tokenHash: string): Promise<boolean>;

  /** Removes every token of a user. */
  revokeUser(userId: string): Promise<void>;

  /**
   * Takes one of `limit` attempt slots of `key` (for example one wrong-code
   * guess) and resolves the slot number (1-based), or `null` when all `limit`
   * slots are taken. Of N concurrent callers at most `limit` get a slot. Slots
   * live until `expiresAt`; issuing a new token does not free them.
   */
  takeAttempt(key: string, limit: number, expiresAt: Date): Promise<number | null>;

  /** Gives back one slot taken by `takeAttempt` (the guess turned out right). */
  releaseAttempt(key: string, slot: number): Promise<void>;

  /** Frees every slot of `key` (after a successful reset). */
  clearAttempts(key: string): Promise<void>;

  /** Stops timers and background work. The store is not used afterwards. */
  close(): Promise<void>;
}

/** The methods every `TokenStore` has, for the check of the `store` option. */
export const TOKEN_STORE_METHODS = [
  'save',
  'find',
  'findByUser',
  'claim',
  'revokeUser',
  'takeAttempt',
  'releaseAttempt',
  'clearAttempts',
  'close',
] as const satisfies readonly (keyof TokenStore)[];
