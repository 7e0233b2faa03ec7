/**
 * The built-in emails (`reset`, `changed`, `unknown`) as HTML and text, per
 * locale, and the renderer that merges `emails.templates` overrides over them.
 * Everything is resolved once per router; rendering only fills in data.
 */
import { escapeHtml } from './html';
import type { EmailKind, EmailMessage, TemplateData } from './mailer';
import type { EmailTemplate, EmailTemplates } from './types';

/** The words of one locale. Functions get already-escaped values when they build HTML. */
interface Strings {
  greeting: (name?: string) => string;
  reset: {
    subject: (appName: string) => string;
    intro: (appName: string) => string;
    button: string;
    code: string;
    expires: (minutes: number) => string;
    ignore: string;
  };
  changed: { subject: (appName: string) => string; body: (appName: string) => string; notYou: string };
  unknown: { subject: (appName: string) => string; body: (appName: string, email: string) => string; ignore: string };
}

/** Built-in texts per locale. Add a locale by adding an entry; `en` is the fallback. */
export const BUILT_IN_STRINGS: Record<string, Strings> = {
  en: {
    greeting: (name) => (name ? `Hello ${name},` : 'Hello,'),
    reset: {
      subject: (app) => `Reset your ${app} password`,
      intro: (app) => `We received a request to reset the password of your ${app} account. Use the link below to choose a new password.`,
      button: 'Reset password',
      code: 'Or enter this code:',
      expires: (minutes) => `The link expires in ${minutes === 1 ? '1 minute' : `${minutes} minutes`} and can be used once.`,
      ignore: 'If you did not ask for this, you can ignore this email; your password stays the same.',
    },
    changed: {
      subject: (app) => `Your ${app} password was changed`,
      body: (app) => `The password of your ${app} account was just changed.`,
      notYou: 'If this was not you, reset your password now and contact support.',
    },
    unknown: {
      subject: (app) => `${app} password reset request`,
      body: (app, email) => `Someone asked to reset the password of the ${app} account for ${email}, but there is no account with this address.`,
      ignore: 'If you did not ask for this, you can ignore this email.',
    },
  },
  // Formal address ("Sie"), as German service emails usually use.
  de: {
    greeting: (name) => (name ? `Hallo ${name},` : 'Hallo,'),
    reset: {
      subject: (app) => `Passwort für ${app} zurücksetzen`,
      intro: (app) => `Wir haben eine Anfrage erhalten, das Passwort Ihres Kontos bei ${app} zurückzusetzen. Über den folgenden Link können Sie ein neues Passwort festlegen.`,
      button: 'Passwort zurücksetzen',
      code: 'Oder geben Sie diesen Code ein:',
      expires: (minutes) => `Der Link ist ${minutes === 1 ? 'eine Minute' : `${minutes} Minuten`} lang gültig und kann nur einmal verwendet werden.`,
      ignore: 'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren. Ihr Passwort bleibt unverändert.',
    },
    changed: {
      subject: (app) => `Ihr Passwort für ${app} wurde geändert`,
      body: (app) => `Das Passwort Ihres Kontos bei ${app} wurde soeben geändert.`,
      notYou: 'Falls Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück und wenden Sie sich an den Support.',
    },
    unknown: {
      subject: (app) => `Anfrage zum Zurücksetzen eines Passworts bei ${app}`,
      body: (app, email) => `Für ${email} wurde das Zurücksetzen des Passworts bei ${app} angefordert, es gibt dort jedoch kein Konto mit dieser Adresse.`,
      ignore: 'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren.',
    },
  },
  // "Vous", typographic apostrophes, and the no-break space French puts before ":" and ";".
  fr: {
    greeting: (name) => (name ? `Bonjour ${name},` : 'Bonjour,'),
    reset: {
      subject: (app) => `Réinitialisation de votre mot de passe ${app}`,
      intro: (app) => `Nous avons reçu une demande de réinitialisation du mot de passe de votre compte ${app}. Utilisez le lien ci-dessous pour choisir un nouveau mot de passe.`,
      button: 'Réinitialiser le mot de passe',
      code: 'Ou saisissez ce code\u00a0:',
      expires: (minutes) => `Le lien expire dans ${minutes} minute${minutes === 1 ? '' : 's'} et ne peut être utilisé qu’une seule fois.`,
      ignore: 'Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet e-mail\u00a0; votre mot de passe reste inchangé.',
    },
    changed: {
      subject: (app) => `Votre mot de passe ${app} a été modifié`,
      body: (app) => `Le mot de passe de votre compte ${app} vient d’être modifié.`,
      notYou: 'Si vous n’êtes pas à l’origine de ce changement, réinitialisez votre mot de passe dès maintenant et contactez le support.',
    },
    unknown: {
      subject: (app) => `Demande de réinitialisation du mot de passe ${app}`,
      body: (app, email) => `Quelqu’un a demandé à réinitialiser le mot de passe du compte ${app} associé à ${email}, mais aucun compte n’existe avec cette adresse.`,
      ignore: 'Si vous n’êtes pas à l’origine de cette demande, vous pouvez ignorer cet e-mail.',
    },
  },
};

export const DEFAULT_LOCALE = 'en';

type Render = (data: TemplateData) => string;
interface CompiledTemplate {
  subject: Render;
  html: Render;
  text: Render;
}

function layout(lang: string, appName: string, body: string): string {
  return `<!doctype html><html lang="${lang}"><body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222;max-width:560px;margin:0 auto;padding:24px">` +
    `<h1 style="font-size:20px">${escapeHtml(appName)}</h1>${body}</body></html>`;
}

function builtIn(kind: EmailKind, s: Strings, lang: string): CompiledTemplate {
  const greet = (d: TemplateData): string => s.greeting(d.name);
  const greetHtml = (d: TemplateData): string => `<p>${escapeHtml(greet(d))}</p>`;
  switch (kind) {
    case 'reset':
      return {
        subject: (d) => s.reset.subject(d.appName),
        text: (d) => [
          greet(d), '', s.reset.intro(d.appName), '', d.resetUrl ?? '',
          ...(d.code ? ['', s.reset.code, d.code] : []),
          '', s.reset.expires(d.expiresInMinutes ?? 0), '', s.reset.ignore,
        ].join('\n'),
        html: (d) => layout(lang, d.appName, greetHtml(d) +
          `<p>${escapeHtml(s.reset.intro(d.appName))}</p>` +
          `<p><a href="${escapeHtml(d.resetUrl ?? '')}" style="display:inline-block;padding:10px 18px;background:#1d4ed8;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(s.reset.button)}</a></p>` +
          `<p style="font-size:13px;word-break:break-all">${escapeHtml(d.resetUrl ?? '')}</p>` +
          (d.code ? `<p>${escapeHtml(s.reset.code)} <strong style="font-size:20px;letter-spacing:3px">${escapeHtml(d.code)}</strong></p>` : '') +
          `<p>${escapeHtml(s.reset.expires(d.expiresInMinutes ?? 0))}</p><p style="color:#666">${escapeHtml(s.reset.ignore)}</p>`),
      };
    case 'changed':
      return {
        subject: (d) => s.changed.subject(d.appName),
        text: (d) => [greet(d), '', s.changed.body(d.appName), '', s.changed.notYou].join('\n'),
        html: (d) => layout(lang, d.appName, greetHtml(d) + `<p>${escapeHtml(s.changed.body(d.appName))}</p><p>${escapeHtml(s.changed.notYou)}</p>`),
      };
    case 'unknown':
      return {
        subject: (d) => s.unknown.subject(d.appName),
        text: (d) => [s.greeting(), '', s.unknown.body(d.appName, d.email), '', s.unknown.ignore].join('\n'),
        html: (d) => layout(lang, d.appName, `<p>${escapeHtml(s.greeting())}</p><p>${escapeHtml(s.unknown.body(d.appName, d.email))}</p><p style="color:#666">${escapeHtml(s.unknown.ignore)}</p>`),
      };
  }
}

const KINDS: EmailKind[] = ['reset', 'changed', 'unknown'];

function isTemplate(value: EmailTemplate | Record<string, EmailTemplate>): value is EmailTemplate {
  return ['subject', 'html', 'text'].some((part) => part in value);
}

function overlay(base: CompiledTemplate, override: EmailTemplate | undefined): CompiledTemplate {
  if (!override) return base;
  const { subject } = override;
  return {
    subject: typeof subject === 'string' ? () => subject : subject ?? base.subject,
    html: override.html ?? base.html,
    text: override.text ?? base.text,
  };
}

/** Renders emails of every kind in every built-in or overridden locale. */
export class EmailRenderer {
  private readonly compiled = new Map<string, CompiledTemplate>();

  constructor(private readonly appName: string, overrides: EmailTemplates = {}) {
    const locales = new Set(Object.keys(BUILT_IN_STRINGS));
    for (const kind of KINDS) {
      const override = overrides[kind];
      // Lower-cased, as resolveLocale() looks them up: `{ 'de-CH': ... }` must match a user's `de-ch` too.
      if (override && !isTemplate(override)) Object.keys(override).forEach((locale) => locales.add(locale.toLowerCase()));
    }
    for (const kind of KINDS) {
      const override = overrides[kind];
      for (const locale of locales) {
        // A locale that only overrides exist for is built on the English texts (and says so in <html lang>).
        const lang = BUILT_IN_STRINGS[locale] ? locale : DEFAULT_LOCALE;
        const base = builtIn(kind, BUILT_IN_STRINGS[lang]!, lang);
        // A flat override applies to every locale; a keyed one only to its own.
        const own = override === undefined ? undefined : isTemplate(override) ? override
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

  render(kind: EmailKind, to: string, data: Omit<TemplateData, 'appName' | 'locale'> & { locale?: string }): EmailMessage {
    const locale = this.resolveLocale(data.locale);
    const full: TemplateData = { ...data, appName: this.appName, locale };
    const template = this.compiled.get(`${kind}:${locale}`)!;
    return { to, kind, subject: template.subject(full), text: template.text(full), html: template.html(full), data: full };
  }
}
