import {
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
  randomInt,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

/** 256 bits from the CSPRNG, base64url: 43 characters. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The only form of a token that is ever stored: SHA-256, base64url (43 characters, shorter than hex in every index).
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** A uniformly random numeric code of `digits` digits (leading zeros kept). */
export function generateCode(digits: number): string {
  return randomInt(0, 10 ** digits)
    .toString()
    .padStart(digits, '0');
}

export function generateSalt(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The key codes are hashed under, from the `secret` option, or 256 random bits for one process. A `KeyObject`, so
 * that `util.inspect` and `JSON.stringify` of anything holding it never show the secret.
 */
export function codeKey(secret?: string): KeyObject {
  return createSecretKey(secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8'));
}

/**
 * HMAC-SHA-256 of the salt and code under the server's key, hex. A 6-digit code has only a million values: without
 * the key, a copy of the database is not enough to try them all offline; the salt keeps equal codes apart.
 */
export function hashCode(key: KeyObject, code: string, salt: string): string {
  return createHmac('sha256', key).update(`${salt}:${code}`, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Compared when there is no stored code, so that case costs one HMAC and one comparison as well. */
const NO_SALT = '0'.repeat(32);
const NO_HASH = '0'.repeat(64);

/** Does `code` match the stored one? Costs the same whether or not there is a stored code. */
export function codeMatches(
  key: KeyObject,
  code: string,
  stored: { codeHash?: string; codeSalt?: string } | null,
): boolean {
  const salt = stored?.codeSalt;
  const hash = stored?.codeHash;
  const equal = digestsEqual(hash ?? NO_HASH, hashCode(key, code, salt ?? NO_SALT));
  return salt !== undefined && hash !== undefined && equal;
}

/** How many attempt counters addresses without an account share: a bound whatever the traffic. */
export const UNKNOWN_ADDRESS_BUCKETS = 4096;

/**
 * The attempt key that stands in for an address without an account: an HMAC of the normalised address under the
 * server's key (so the store holds no personal data), reduced to one of `UNKNOWN_ADDRESS_BUCKETS` so made-up
 * addresses cannot grow the store without bound. Never a user's key: those are `code:<user id>`.
 */
export function unknownAddressKey(key: KeyObject, email: string): string {
  const digest = createHmac('sha256', key)
    .update(`address:${email.normalize('NFKC').toLowerCase()}`, 'utf8')
    .digest();
  return `code-unknown:${digest.readUInt16BE(0) % UNKNOWN_ADDRESS_BUCKETS}`;
}
