/**
 * How the router compares addresses. A user store may find one account under many spellings (MongoDB's
 * collations ignore case, width and invisible characters), so every count the router keeps by address uses one
 * folded form, never the spelling a client sent.
 */
import { domainToASCII } from 'node:url';

/**
 * Characters no one types on purpose into an address and no one can see: controls, format characters (soft hyphen,
 * zero-width characters, bidi controls, BOM), default-ignorable code points (variation selectors, Hangul fillers),
 * line and paragraph separators, spaces, private-use, surrogate and unassigned code points.
 */
export const INVISIBLE_CHARACTER = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Z}\p{Co}\p{Cs}\p{Cn}]/u;

/**
 * NFKC, then case-folded: fullwidth and other compatibility forms become their plain letters, and case goes.
 * Upper- then lower-casing also folds what `toLowerCase` alone keeps apart (`ß` and `ss`, `ς` and `σ`); a pair it
 * merges that full case folding would not (Turkish dotless i) only makes a limit count two spellings as one.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

// Providers that deliver one mailbox under two domains.
const SAME_MAILBOX_DOMAINS: Readonly<Record<string, string>> = { 'googlemail.com': 'gmail.com' };

/**
 * A key shared by every spelling that may land in one inbox: folded as {@link normalizeEmail}, the local part cut at
 * a sub-address separator (`+`, and `-` or `=` that some providers use) and stripped of everything but letters and
 * digits (dots, which Gmail ignores, among them), the domain in its ASCII (punycode) form. It merges more than any
 * provider does; for what it is used for (how many notices one inbox gets) merging too much only sends fewer.
 */
export function mailboxKey(email: string): string {
  const folded = normalizeEmail(email);
  const at = folded.lastIndexOf('@');
  const local = folded
    .slice(0, at)
    .split(/[+=-]/u, 1)[0]!
    .replace(/[^\p{L}\p{N}]/gu, '');
  const rawDomain = folded.slice(at + 1).replace(/\.$/u, '');
  const domain = domainToASCII(rawDomain) || rawDomain;
  return `${local}@${SAME_MAILBOX_DOMAINS[domain] ?? domain}`;
}
