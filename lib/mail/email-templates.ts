/**
 * The built-in emails, one template per `EmailKind`, rendered in every locale
 * from `locales/`, and the renderer that lays `emails.templates` overrides over
 * them. Everything is compiled once per router; rendering only fills in data.
 */
import { escapeHtml } from '../core/escape-html';
import { DEFAULT_LOCALE, LOCALES, LOCALE_CODES, isLocale, type EmailTexts } from '../locales';
import type { EmailTemplate, EmailTemplates } from '../options/types';
import { EMAIL_KINDS, type EmailKind, type EmailMessage, type TemplateData } from './mailer';

type Render = (data: TemplateData) => string;
interface CompiledTemplate {
  subject: Render;
  html: Render;
  text: Render;
}

const BUTTON_STYLE =
  'display:inline-block;padding:10px 18px;background:#1d4ed8;color:#fff;text-decoration:none;border-radius:6px';

function greetingHtml(s: EmailTexts, d: TemplateData): string {
  return `<p>${escapeHtml(s.greeting(d.name))}</p>`;
}

function layout(lang: string, appName: string | undefined, body: string): string {
  const heading = appName === undefined ? '' : `<h1 style="font-size:20px">${escapeHtml(appName)}</h1>`;
  return (
    `<!doctype html><html lang="${lang}"><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222;max-width:560px;margin:0 auto;padding:24px">` +
    `${heading}${body}</body></html>`
  );
}

/** Seconds the link lives; templates rendered from data of older callers may only have the minutes. */
function lifetimeSeconds(d: TemplateData): number {
  return d.expiresInSeconds ?? (d.expiresInMinutes ?? 0) * 60;
}

/** The texts of an email that carries a link: `code` only where the email may carry a code too. */
type LinkTexts = Omit<EmailTexts['invite'], 'button'> & { button: string; code?: string };

/** A reset or invitation email: the link as a button and in full, the code when there is one, its lifetime. */
function linkEmail(s: EmailTexts, texts: LinkTexts, lang: string): CompiledTemplate {
  const code = (d: TemplateData): string | undefined => (texts.code === undefined ? undefined : d.code);
  return {
    subject: (d) => texts.subject(d.appName),
    text: (d) => {
      const shown = code(d);
      return [
        s.greeting(d.name),
        '',
        texts.intro(d.appName),
        '',
        d.resetUrl ?? '',
        ...(shown ? ['', texts.code ?? '', shown] : []),
        '',
        texts.expires(lifetimeSeconds(d)),
        '',
        texts.ignore,
      ].join('\n');
    },
    html: (d) => {
      const shown = code(d);
      const url = escapeHtml(d.resetUrl ?? '');
      return layout(
        lang,
        d.appName,
        greetingHtml(s, d) +
          `<p>${escapeHtml(texts.intro(d.appName))}</p>` +
          `<p><a href="${url}" style="${BUTTON_STYLE}">${escapeHtml(texts.button)}</a></p>` +
          `<p style="font-size:13px;word-break:break-all">${url}</p>` +
          (shown
            ? `<p>${escapeHtml(texts.code ?? '')} ` +
              `<strong style="font-size:20px;letter-spacing:3px">${escapeHtml(shown)}</strong></p>`
            : '') +
          `<p>${escapeHtml(texts.expires(lifetimeSeconds(d)))}</p>` +
          `<p style="color:#666">${escapeHtml(texts.ignore)}</p>`,
      );
    },
  };
}

/** Builds one kind's template from a locale's email texts; a kind missing here (or in the texts) does not compile. */
const BUILT_IN: { [K in EmailKind]: (s: EmailTexts, lang: string) => CompiledTemplate } = {
  reset: (s, lang) => linkEmail(s, s.reset, lang),
  // No code, whatever the code flow: a short code that lives for days is a guess away (see the README).
  invite: (s, lang) => linkEmail(s, s.invite, lang),
  changed: (s, lang) => ({
    subject: (d) => s.changed.subject(d.appName),
    text: (d) => [s.greeting(d.name), '', s.changed.body(d.appName), '', s.changed.notYou].join('\n'),
    html: (d) =>
      layout(
        lang,
        d.appName,
        greetingHtml(s, d) + `<p>${escapeHtml(s.changed.body(d.appName))}</p><p>${escapeHtml(s.changed.notYou)}</p>`,
      ),
  }),
  // No name: the address has no account, so there is nobody to greet.
  unknown: (s, lang) => ({
    subject: (d) => s.unknown.subject(d.appName),
    text: (d) => [s.greeting(), '', s.unknown.body(d.appName, d.email), '', s.unknown.ignore].join('\n'),
    html: (d) =>
      layout(
        lang,
        d.appName,
        `<p>${escapeHtml(s.greeting())}</p>` +
          `<p>${escapeHtml(s.unknown.body(d.appName, d.email))}</p><p style="color:#666">${escapeHtml(s.unknown.ignore)}</p>`,
      ),
  }),
};

function isTemplate(value: EmailTemplate | Record<string, EmailTemplate>): value is EmailTemplate {
  return ['subject', 'html', 'text'].some((part) => part in value);
}

function overlay(base: CompiledTemplate, override: EmailTemplate | undefined): CompiledTemplate {
  if (!override) return base;
  const { subject } = override;
  return {
    subject: typeof subject === 'string' ? () => subject : (subject ?? base.subject),
    html: override.html ?? base.html,
    text: override.text ?? base.text,
  };
}

/** Renders emails of every kind in every built-in or overridden locale. */
export class EmailRenderer {
  private readonly compiled = new Map<string, CompiledTemplate>();

  constructor(
    private readonly appName: string | undefined,
    overrides: EmailTemplates = {},
  ) {
    const locales = new Set<string>(LOCALE_CODES);
    for (const kind of EMAIL_KINDS) {
      const override = overrides[kind];
      // Lower-cased, as resolveLocale() looks them up: `{ 'de-CH': ... }` must match a user's `de-ch` too.
      if (override && !isTemplate(override))
        Object.keys(override).forEach((locale) => locales.add(locale.toLowerCase()));
    }
    for (const kind of EMAIL_KINDS) {
      const override = overrides[kind];
      for (const locale of locales) {
        // A locale that only overrides exist for is built on the English texts (and says so in <html lang>).
        const lang = isLocale(locale) ? locale : DEFAULT_LOCALE;
        const base = BUILT_IN[kind](LOCALES[lang].emails, lang);
        // A flat override applies to every locale; a keyed one only to its own.
        const own =
          override === undefined
            ? undefined
            : isTemplate(override)
              ? override
              : Object.entries(override).find(([key]) => key.toLowerCase() === locale)?.[1];
        this.compiled.set(`${kind}:${locale}`, overlay(base, own));
      }
    }
  }

  /** The supported locale closest to `requested` (`de-CH` → `de`), else English. */
  resolveLocale(requested: string | undefined): string {
    if (!requested) return DEFAULT_LOCALE;
    const lower = requested.toLowerCase();
    if (this.compiled.has(`reset:${lower}`)) return lower;
    const language = lower.split(/[-_]/)[0] ?? '';
    return this.compiled.has(`reset:${language}`) ? language : DEFAULT_LOCALE;
  }

  render(
    kind: EmailKind,
    to: string,
    data: Omit<TemplateData, 'appName' | 'locale'> & { locale?: string },
  ): EmailMessage {
    const locale = this.resolveLocale(data.locale);
    const full: TemplateData = { ...data, ...(this.appName === undefined ? {} : { appName: this.appName }), locale };
    const template = this.compiled.get(`${kind}:${locale}`)!;
    return {
      to,
      kind,
      subject: template.subject(full),
      text: template.text(full),
      html: template.html(full),
      data: full,
    };
  }
}
