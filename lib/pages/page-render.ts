/**
 * The HTML of the hosted pages: one layout, forms built from field lists.
 * Pages are plain, semantic HTML that reads in order without CSS and works
 * without JavaScript (there is none). Every inserted value is escaped.
 */
import { escapeHtml } from '../core/escape-html';
import type { PageTexts } from '../locales';

/** The built-in look: one small stylesheet, inlined and allowed by its hash in the CSP. */
export const PAGE_CSS = `
:root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#1f2937;--muted:#4b5563;--line:#6b7280;--accent:#1d4ed8;--accent-text:#fff;--error:#b91c1c;--focus:#b45309}
@media (prefers-color-scheme:dark){:root{--bg:#111827;--card:#1f2937;--text:#f3f4f6;--muted:#d1d5db;--line:#9ca3af;--accent:#60a5fa;--accent-text:#111827;--error:#fca5a5;--focus:#f59e0b}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:28rem;margin:0 auto;padding:2.5rem 1rem}
.card{background:var(--card);border-radius:12px;padding:2rem 1.75rem;box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06)}
.site{margin:0 0 1.5rem;font-weight:600;color:var(--muted);text-align:center}
.logo{display:block;margin:0 auto 1.5rem;max-width:12rem;max-height:4rem}
.account{font-weight:600;overflow-wrap:anywhere}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}
p{margin:0 0 1rem}
.card>:last-child{margin-bottom:0}
.intro{color:var(--muted)}
.field{margin:0 0 1.25rem}
label{display:block;font-weight:600;margin:0 0 .25rem}
.hint{font-size:.875rem;color:var(--muted);margin:0 0 .375rem}
input{display:block;width:100%;font:inherit;padding:.625rem .75rem;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--text)}
input:focus,button:focus,a:focus{outline:3px solid var(--focus);outline-offset:2px}
.invalid input{border:2px solid var(--error)}
.invalid{border-left:4px solid var(--error);padding-left:.75rem}
.field-error{color:var(--error);font-weight:600;font-size:.9375rem;margin:0 0 .375rem}
button{display:block;width:100%;font:inherit;font-weight:600;padding:.75rem 1rem;border:0;border-radius:6px;background:var(--accent);color:var(--accent-text);cursor:pointer}
button:hover{filter:brightness(1.1)}
.summary{border:2px solid var(--error);border-radius:8px;padding:1rem 1.25rem;margin:0 0 1.5rem}
.summary h2{font-size:1.0625rem;margin:0 0 .5rem}
.summary ul{margin:0;padding-left:1.25rem}
.summary a{color:var(--error);font-weight:600}
.links{margin:1.5rem 0 0;padding:0;list-style:none;text-align:center}
.links li{margin:.5rem 0}
a{color:var(--accent)}
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:30rem){main{padding:1rem .75rem}.card{padding:1.5rem 1.125rem}}
`;

/** One input of a form. */
export interface FieldView {
  name: string;
  label: string;
  type: 'email' | 'password' | 'text';
  value?: string;
  autocomplete: string;
  hint?: string;
  error?: string;
  inputmode?: 'numeric';
}

export interface FormView {
  /** Relative URL the form posts to. */
  action: string;
  submit: string;
  fields: FieldView[];
  /** Hidden inputs (the CSRF field). */
  hidden: Record<string, string>;
  /**
   * The account's address, in a hidden `autocomplete="username"` field, so password managers store the new password
   * for that account. Never sent back: the post ignores it.
   */
  username?: string;
  /** The field that gets the focus; else the first one with an error. */
  focus?: string;
}

/** What one page shows. */
export interface PageView {
  locale: string;
  strings: PageTexts;
  heading: string;
  paragraphs?: string[];
  /** A line shown in bold after the paragraphs (the account a link resets). */
  account?: string;
  /** Errors not tied to a field (an unusable link, a refused form), shown in the summary. */
  errors?: string[];
  form?: FormView;
  links?: { href: string; text: string }[];
}

/** What every page of one router shares, computed once. */
export interface PageLayout {
  siteTitle?: string;
  /** The stylesheet text, exactly as hashed in the CSP. */
  style: string;
  /** `pages.logoUrl`, shown above the card. */
  logoUrl?: string;
}

const e = escapeHtml;

function renderField(field: FieldView, autofocus: boolean, errorPrefix: string): string {
  const id = field.name;
  const describedBy = [field.hint ? `${id}-hint` : '', field.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const attributes = [
    `id="${id}"`,
    `name="${id}"`,
    `type="${field.type}"`,
    `autocomplete="${field.autocomplete}"`,
    'required',
    field.value === undefined ? '' : `value="${e(field.value)}"`,
    field.inputmode ? `inputmode="${field.inputmode}"` : '',
    field.type === 'email' ? 'spellcheck="false" autocapitalize="none"' : '',
    describedBy ? `aria-describedby="${describedBy}"` : '',
    field.error ? 'aria-invalid="true"' : '',
    autofocus ? 'autofocus' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    `<div class="field${field.error ? ' invalid' : ''}">` +
    `<label for="${id}">${e(field.label)}</label>` +
    (field.hint ? `<p class="hint" id="${id}-hint">${e(field.hint)}</p>` : '') +
    (field.error
      ? `<p class="field-error" id="${id}-error"><span class="visually-hidden">${e(errorPrefix)}</span>${e(field.error)}</p>`
      : '') +
    `<input ${attributes}></div>`
  );
}

function renderForm(form: FormView, errorPrefix: string): string {
  const focus = form.focus ?? form.fields.find((field) => field.error)?.name;
  const hidden = Object.entries(form.hidden)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('');
  // Not type=hidden: password managers only read a username from a text-like input (`hidden` keeps it unseen).
  const username =
    form.username === undefined
      ? ''
      : `<input type="email" name="username" autocomplete="username" value="${e(form.username)}" hidden readonly>`;
  return (
    `<form method="post" action="${e(form.action)}">${hidden}${username}` +
    form.fields.map((field) => renderField(field, field.name === focus, errorPrefix)).join('') +
    `<button type="submit">${e(form.submit)}</button></form>`
  );
}

/**
 * The error summary: announced on load (`role="alert"`), each field error a
 * link to its field, so keyboard and screen-reader users reach it directly.
 */
function renderSummary(view: PageView): string {
  const items = [
    ...(view.errors ?? []).map((message) => `<li>${e(message)}</li>`),
    ...(view.form?.fields ?? [])
      .filter((field) => field.error)
      .map((field) => `<li><a href="#${field.name}">${e(field.error!)}</a></li>`),
  ];
  if (items.length === 0) return '';
  return (
    `<div class="summary" role="alert" aria-labelledby="summary-title">` +
    `<h2 id="summary-title">${e(view.strings.problem)}</h2><ul>${items.join('')}</ul></div>`
  );
}

/** Renders a whole page. */
export function renderPage(view: PageView, layout: PageLayout): string {
  const summary = renderSummary(view);
  const title = `${summary ? view.strings.errorPrefix : ''}${view.heading}${layout.siteTitle ? ` – ${layout.siteTitle}` : ''}`;
  const links = view.links?.length
    ? `<ul class="links">${view.links.map((link) => `<li><a href="${e(link.href)}">${e(link.text)}</a></li>`).join('')}</ul>`
    : '';
  return (
    '<!doctype html>' +
    `<html lang="${e(view.locale)}"><head><meta charset="utf-8">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow">' +
    `<title>${e(title)}</title><style>${layout.style}</style></head>` +
    '<body><main>' +
    (layout.logoUrl ? `<img class="logo" src="${e(layout.logoUrl)}" alt="${e(layout.siteTitle ?? '')}">` : '') +
    (layout.siteTitle && !layout.logoUrl ? `<p class="site">${e(layout.siteTitle)}</p>` : '') +
    '<div class="card">' +
    `<h1>${e(view.heading)}</h1>${summary}` +
    (view.paragraphs ?? []).map((text) => `<p class="intro">${e(text)}</p>`).join('') +
    (view.account === undefined ? '' : `<p class="account">${e(view.account)}</p>`) +
    (view.form ? renderForm(view.form, view.strings.errorPrefix) : '') +
    links +
    '</div></main></body></html>'
  );
}
