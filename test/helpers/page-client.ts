/**
 * A small form-posting client for the hosted pages, on supertest: it keeps
 * cookies like a browser, parses each page, and submits a page's form with its
 * hidden fields (CSRF, token) plus the fields a test fills in.
 */
import { parse, type HTMLElement } from 'node-html-parser';
import request from 'supertest';

export interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The raw HTML (or text of a non-HTML answer). */
  html: string;
  /** The parsed document. */
  doc: HTMLElement;
  /** The URL the page was fetched from (path and query); after redirects, the last one. */
  url: string;
  /** The URLs that answered with a redirect on the way here, first to last. */
  redirectedFrom: string[];
}

export class PageClient {
  readonly cookies = new Map<string, string>();

  /** `origin` like `http://127.0.0.1:1234`. */
  constructor(private readonly origin: string) {}

  /** GETs `url`, following same-origin redirects like a browser's address bar. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Page> {
    const redirectedFrom: string[] = [];
    for (;;) {
      const response = await this.withCookies(request(this.origin).get(url), headers);
      const page = this.pageOf(url, response);
      const location = response.headers.location;
      if (response.status < 300 || response.status >= 400 || location === undefined || redirectedFrom.length > 5)
        return { ...page, redirectedFrom };
      const next = new URL(location, `${this.origin}${url}`);
      if (next.origin !== this.origin) return { ...page, redirectedFrom };
      redirectedFrom.push(url);
      url = `${next.pathname}${next.search}`;
    }
  }

  /** Posts `fields` as a urlencoded form to `url`. */
  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    const response = await this.withCookies(request(this.origin).post(url).type('form'), headers).send(fields);
    return this.pageOf(url, response);
  }

  /** Submits the page's form: its hidden inputs and `fields`, to its action resolved against the page URL. */
  submit(page: Page, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    const form = page.doc.querySelector('form');
    if (!form) throw new Error(`no form on the page: ${page.html.slice(0, 300)}`);
    const hidden = Object.fromEntries(
      form
        .querySelectorAll('input[type=hidden]')
        .map((input) => [input.getAttribute('name')!, input.getAttribute('value') ?? '']),
    );
    const action = new URL(form.getAttribute('action') ?? '', `${this.origin}${page.url}`);
    return this.post(`${action.pathname}${action.search}`, { ...hidden, ...fields }, headers);
  }

  private withCookies(test: request.Test, headers: Record<string, string>): request.Test {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie) test.set('Cookie', cookie);
    for (const [name, value] of Object.entries(headers)) test.set(name, value);
    return test;
  }

  private pageOf(url: string, response: request.Response): Page {
    const setCookie = response.headers['set-cookie'] as unknown as string[] | undefined;
    for (const line of setCookie ?? []) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return {
      status: response.status,
      headers: response.headers,
      html: response.text,
      doc: parse(response.text ?? ''),
      url,
      redirectedFrom: [],
    };
  }
}

/** The text of the error shown next to a field (the element its input's aria-describedby names), or undefined. */
export function fieldError(page: Page, name: string): string | undefined {
  const input = page.doc.querySelector(`input[name="${name}"]`);
  if (!input) throw new Error(`no input ${name}`);
  const ids = (input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  const error = ids
    .map((id) => page.doc.querySelector(`#${id}`))
    .find((element) => element?.classList.contains('field-error'));
  return error?.text.trim();
}
