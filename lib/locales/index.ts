/**
 * The languages of the built-in emails and hosted pages: the one list. Adding a
 * language is a file beside this one and a line here.
 */
import { de } from './de';
import { en } from './en';
import { fr } from './fr';
import type { LocaleTexts } from './locale-texts';

export type { EmailTexts, LocaleTexts, PageTexts } from './locale-texts';

/** Every shipped locale, in order of preference when a browser accepts several equally. */
export const LOCALES = { en, de, fr } as const satisfies Record<string, LocaleTexts>;

/** A shipped locale's code. */
export type Locale = keyof typeof LOCALES;

/** The codes of the shipped locales, in the order of {@link LOCALES}. */
export const LOCALE_CODES = Object.keys(LOCALES) as Locale[];

/** What every locale falls back to. */
export const DEFAULT_LOCALE: Locale = 'en';

/** True for the code of a shipped locale. */
export function isLocale(code: string): code is Locale {
  return Object.hasOwn(LOCALES, code);
}

/** The shipped locale closest to `requested` (`de-CH` → `de`), or `undefined`. */
export function closestLocale(requested: string): Locale | undefined {
  const lower = requested.toLowerCase();
  if (isLocale(lower)) return lower;
  const language = lower.split(/[-_]/)[0] ?? '';
  return isLocale(language) ? language : undefined;
}
