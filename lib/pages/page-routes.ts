/**
 * The hosted pages (option `pages`): `GET /forgot`, `GET /reset` and the
 * plain form posts to `POST /forgot` and `POST /reset`. They call the same
 * `ResetFlow` as the JSON API and share its limiters; JSON requests pass
 * through to the API untouched (`next('router')`).
 *
 * Opening `GET /reset?token=…` moves the token into a cookie and redirects to
 * the clean `/reset` (see `link-cookie.ts`), which checks the link read-only
 * (`ResetFlow.verify`): a dead link says so before any password is typed, a
 * live one names its account. Nothing is consumed, so link scanners that open
 * every link in an email change nothing.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { PasswordResetError, ServiceUnavailableError } from '../core/errors';
import type { Credential, ResetFlow } from '../core/reset-flow';
import { formBody, isFormPost } from '../http/body-parsing';
import { clientKey } from '../http/client-key';
import type { RequestSchemas } from '../http/endpoints';
import type { ApiErrorMapper } from '../http/json-api';
import { requesterOf } from '../http/json-api';
import type { Limiters } from '../http/rate-limits';
import { validateBody } from '../http/request-schemas';
import { catchAsync, enabledHandlers, securityHeaders, sendBody } from '../http/responses';
import { DEFAULT_LOCALE, LOCALES, LOCALE_CODES, closestLocale, type Locale, type PageTexts } from '../locales';
import type { ResolvedOptions } from '../options/resolve';
import type { PagesOptions, RoutePath } from '../options/types';
import type { TokenKind } from '../stores/token-store';
import { CSRF_FIELD, isSameSitePost, issueCsrfValue } from './csrf';
import { clearLinkCookie, readLinkCookie, setLinkCookie, TOKEN_SHAPE } from './link-cookie';
import { API_ERROR_TEXT, fieldMessage, ruleMessage } from './page-messages';
import { PAGE_CSS, renderPage, type FieldView, type PageLayout, type PageView } from './page-render';

/** What the pages need from the router that mounts them. */
export interface PageDependencies {
  config: ResolvedOptions;
  pages: PagesOptions;
  flow: ResetFlow<Request>;
  limiters: Limiters;
  /** Maps any error to the API error answered with, and emits the router's events for it. */
  toApiError: ApiErrorMapper;
}

/** Per request: the language and where the other pages are, relative to this one. */
interface PageContext {
  locale: Locale;
  t: PageTexts;
  /** `../` when the URL ends with a slash (`/forgot/`), so relative links still resolve beside it. */
  up: string;
  /** A link to a page (`routes.forgot` or `routes.reset`), relative to this one: it works wherever the router is. */
  href(to: RoutePath): string;
}

/** Express matches paths case-insensitively and with an optional trailing slash. */
function isRoute(path: string, route: RoutePath): boolean {
  return path.toLowerCase().replace(/(.)\/$/, '$1') === route.toLowerCase();
}

type Fields = Record<string, string | undefined>;

const TOKEN_INVALID_ERROR = new PasswordResetError('TOKEN_INVALID');

function isDeadLink(error: unknown): error is PasswordResetError {
  return error instanceof PasswordResetError && (error.code === 'TOKEN_INVALID' || error.code === 'TOKEN_EXPIRED');
}

/** `'self'` for a path on this site, else the URL's origin. */
const sourceOf = (target: string): string => (/^https?:\/\//i.test(target) ? new URL(target).origin : "'self'");

/**
 * No script at all; the one inline stylesheet allowed by its hash; images only from `logoUrl`'s origin; forms may
 * post only here (and redirect to `successRedirect`); no framing, no `<base>`.
 */
function contentSecurityPolicy(style: string, pages: PagesOptions): string {
  const hash = createHash('sha256').update(style, 'utf8').digest('base64');
  const formTargets = ["'self'"];
  // Browsers apply form-action to the redirect after a post, so a redirect to another origin must be allowed by name.
  if (pages.successRedirect && sourceOf(pages.successRedirect) !== "'self'")
    formTargets.push(sourceOf(pages.successRedirect));
  return [
    "default-src 'none'",
    `style-src 'sha256-${hash}'`,
    ...(pages.logoUrl ? [`img-src ${sourceOf(pages.logoUrl)}`] : []),
    `form-action ${formTargets.join(' ')}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function stringField(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

export function pageRoutes(deps: PageDependencies): Router {
  const { config, pages, flow } = deps;
  // `</` cannot end the <style> element early this way; the text is hashed exactly as sent.
  const style = (PAGE_CSS + (pages.css ? `\n${pages.css}` : '')).replace(/<\//g, '<\\/');
  const layout: PageLayout = { siteTitle: pages.title, style, logoUrl: pages.logoUrl };
  const csp = contentSecurityPolicy(style, pages);
  const fixedLocale = pages.locale === undefined ? undefined : (closestLocale(pages.locale) ?? DEFAULT_LOCALE);
  const { minLength, maxLength } = config.policy;
  const limits = { minLength, maxLength };
  const code = config.code;
  const parseForm = formBody();
  const router = express.Router();
  // Checked at construction: with pages on, neither of these routes is false.
  const forgotPage = config.routes.forgot as RoutePath;
  const resetPage = config.routes.reset as RoutePath;

  const pageHeaders: RequestHandler = (req, res, next) => {
    securityHeaders(req, res, () => undefined);
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (!fixedLocale) res.vary('Accept-Language');
    next();
  };

  const contextOf = (req: Request): PageContext => {
    const negotiated = req.acceptsLanguages(...LOCALE_CODES);
    const locale = fixedLocale ?? (typeof negotiated === 'string' ? (negotiated as Locale) : DEFAULT_LOCALE);
    const up = req.path.length > 1 && req.path.endsWith('/') ? '../' : '';
    const here = isRoute(req.path, forgotPage) ? forgotPage : resetPage;
    const href = (to: RoutePath): string => up + posix.relative(posix.dirname(here), to);
    return { locale, t: LOCALES[locale].pages, up, href };
  };

  const send = (res: Response, status: number, ctx: PageContext, view: Omit<PageView, 'locale' | 'strings'>): void => {
    const signIn = pages.signInUrl ? [{ href: pages.signInUrl, text: ctx.t.signIn }] : [];
    const links = [...(view.links ?? []), ...signIn];
    const html = renderPage({ ...view, links, locale: ctx.locale, strings: ctx.t }, layout);
    sendBody(res, status, 'text/html; charset=utf-8', html);
  };

  // ---- views -------------------------------------------------------------

  const requestNewLink = (ctx: PageContext) => ({ href: ctx.href(forgotPage), text: ctx.t.requestNew });

  const forgotForm = (
    req: Request,
    res: Response,
    ctx: PageContext,
    status: number,
    values: Fields = {},
    errors: Fields = {},
    formErrors: string[] = [],
  ): void => {
    send(res, status, ctx, {
      heading: ctx.t.forgot.title,
      paragraphs: [ctx.t.forgot.intro],
      errors: formErrors,
      form: {
        action: ctx.href(forgotPage),
        submit: ctx.t.forgot.submit,
        hidden: { [CSRF_FIELD]: issueCsrfValue(req, res) },
        fields: [
          {
            name: 'email',
            label: ctx.t.forgot.email,
            type: 'email',
            autocomplete: 'email',
            value: values.email,
            error: errors.email,
          },
        ],
      },
      links: code ? [{ href: ctx.href(resetPage), text: ctx.t.forgot.haveCode }] : [],
    });
  };

  const passwordFields = (ctx: PageContext, errors: Fields): FieldView[] => [
    {
      name: 'password',
      label: ctx.t.reset.password,
      type: 'password',
      autocomplete: 'new-password',
      hint: ctx.t.reset.passwordHint(minLength, maxLength),
      error: errors.password,
    },
    {
      name: 'confirm',
      label: ctx.t.reset.confirm,
      type: 'password',
      autocomplete: 'new-password',
      error: errors.confirm,
    },
  ];

  /**
   * The second factor's field (`secondFactor`), after the link's account is known to have one. Like passwords, an
   * entered code is never put back into a page.
   */
  const otpField = (ctx: PageContext, errors: Fields): FieldView => ({
    name: 'otp',
    label: ctx.t.reset.otp,
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    hint: ctx.t.reset.otpHint,
    error: errors.otp,
  });

  /** A link that cannot be used (unknown, used, superseded, expired): it says so, and how to get a new one. */
  const deadLink = (req: Request, res: Response, ctx: PageContext, error: PasswordResetError): void => {
    clearLinkCookie(req, res, resetPage);
    const text = error.code === 'TOKEN_EXPIRED' ? ctx.t.errors.tokenExpired : ctx.t.errors.tokenInvalid;
    messagePage(res, ctx, 400, ctx.t.reset.invalidTitle, [text]);
  };

  /**
   * The link's form, after checking the link read-only: the page names the account it resets. The token stays in
   * its cookie; the page never contains it.
   */
  const tokenForm = async (
    req: Request,
    res: Response,
    ctx: PageContext,
    status: number,
    token: string,
    errors: Fields = {},
    focus?: string,
  ): Promise<void> => {
    let email: string;
    let kind: TokenKind;
    let secondFactor: boolean;
    try {
      ({ email, kind, secondFactor = false } = await flow.verify({ token }, req.ip));
    } catch (error) {
      if (isDeadLink(error)) return deadLink(req, res, ctx, error);
      throw error;
    }
    // An invitation's owner chooses a first password: the page must not read as if someone asked for a reset.
    const words = kind === 'invite' ? ctx.t.invite : ctx.t.reset;
    send(res, status, ctx, {
      heading: words.title,
      paragraphs: [words.intro],
      account: ctx.t.reset.account(email),
      form: {
        action: ctx.href(resetPage),
        submit: words.submit,
        hidden: { [CSRF_FIELD]: issueCsrfValue(req, res) },
        username: email,
        focus,
        fields: [...(secondFactor ? [otpField(ctx, errors)] : []), ...passwordFields(ctx, errors)],
      },
    });
  };

  /**
   * The code flow's form. The entered address is kept; the code, like passwords, never is. `withOtp`: the account
   * turned out to have a second factor (the form cannot know before a right code).
   */
  const codeForm = (
    req: Request,
    res: Response,
    ctx: PageContext,
    status: number,
    values: Fields = {},
    errors: Fields = {},
    formErrors: string[] = [],
    withOtp = false,
  ): void => {
    send(res, status, ctx, {
      heading: ctx.t.reset.title,
      paragraphs: [ctx.t.reset.codeIntro],
      errors: formErrors,
      form: {
        action: ctx.href(resetPage),
        submit: ctx.t.reset.submit,
        hidden: { [CSRF_FIELD]: issueCsrfValue(req, res) },
        fields: [
          {
            name: 'email',
            label: ctx.t.reset.email,
            type: 'email',
            autocomplete: 'email',
            value: values.email,
            error: errors.email,
          },
          {
            name: 'code',
            label: ctx.t.reset.code,
            type: 'text',
            inputmode: 'numeric',
            autocomplete: 'one-time-code',
            hint: code ? ctx.t.reset.codeHint(code.digits) : undefined,
            error: errors.code,
          },
          ...(withOtp ? [otpField(ctx, errors)] : []),
          ...passwordFields(ctx, errors),
        ],
      },
      links: [requestNewLink(ctx)],
    });
  };

  /** A page with a message and a way on: an unusable or incomplete link, a refused post. */
  const messagePage = (
    res: Response,
    ctx: PageContext,
    status: number,
    heading: string,
    errors: string[],
    paragraphs: string[] = [],
  ): void => {
    send(res, status, ctx, { heading, errors, paragraphs, links: [requestNewLink(ctx)] });
  };

  /** Checks a form against the API's own Joi schema; returns localized messages per field. */
  const schemaErrors = (t: PageTexts, schema: RequestSchemas[keyof RequestSchemas], body: Fields): Fields => {
    try {
      validateBody(schema, Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)));
      return {};
    } catch (error) {
      if (!(error instanceof PasswordResetError) || !error.details) throw error;
      return Object.fromEntries(
        error.details.map((detail) => [detail.field, fieldMessage(t, detail.field, body[detail.field], limits)]),
      );
    }
  };

  // ---- middleware --------------------------------------------------------

  /** JSON (and anything else that is not a form) goes on to the API, exactly as the README documents. */
  const formsOnly: RequestHandler = (req, _res, next) => next(isFormPost(req) ? undefined : 'router');

  const sameSite =
    (refuse: (req: Request, res: Response, ctx: PageContext) => void): RequestHandler =>
    (req, res, next) => {
      if (isSameSitePost(req)) return next();
      refuse(req, res, contextOf(req));
    };

  // ---- GET pages ---------------------------------------------------------

  router.get(forgotPage, pageHeaders, (req, res) => {
    forgotForm(req, res, contextOf(req), 200);
  });

  // Opening the link checks it against the store; the API's per-IP `/verify` limit bounds how often.
  const verifyLimit = deps.limiters.perIp.verify;
  const limitLinkChecks: RequestHandler = (req, res, next) =>
    verifyLimit && req.query.token === undefined && readLinkCookie(req) ? verifyLimit(req, res, next) : next();

  router.get(
    resetPage,
    pageHeaders,
    limitLinkChecks,
    catchAsync(async (req, res) => {
      const ctx = contextOf(req);
      const fromUrl = req.query.token;
      if (typeof fromUrl === 'string' && TOKEN_SHAPE.test(fromUrl)) {
        // The first load: the token moves to a cookie, and the address bar (and history) keeps the clean URL.
        setLinkCookie(req, res, resetPage, fromUrl, config.tokenTtlMs);
        return res.redirect(303, ctx.href(resetPage));
      }
      if (fromUrl !== undefined) return deadLink(req, res, ctx, TOKEN_INVALID_ERROR);
      const token = readLinkCookie(req);
      if (token !== undefined) return tokenForm(req, res, ctx, 200, token);
      if (code) return codeForm(req, res, ctx, 200);
      messagePage(res, ctx, 400, ctx.t.reset.missingTitle, [], [ctx.t.reset.missing]);
    }),
  );

  // ---- form posts --------------------------------------------------------

  // The order: forms only (JSON leaves here), parse, cross-site check, then the API's own per-IP limiter (refused
  // cross-site posts cost the victim nothing).
  router.post(
    forgotPage,
    enabledHandlers(
      formsOnly,
      pageHeaders,
      parseForm,
      sameSite((req, res, ctx) => forgotForm(req, res, ctx, 403, {}, {}, [ctx.t.errors.forbidden])),
      deps.limiters.perIp.forgot,
      (req, res) => {
        const ctx = contextOf(req);
        const email = stringField(req.body, 'email')?.trim();
        const errors = schemaErrors(ctx.t, config.schemas.forgot, { email });
        if (email === undefined || Object.keys(errors).length > 0)
          return forgotForm(req, res, ctx, 400, { email }, { email: errors.email ?? ctx.t.errors.emailRequired });
        // As in the API: the same page for every well-formed address, written before any work that depends on the
        // account.
        send(res, 200, ctx, {
          heading: ctx.t.forgot.sentTitle,
          paragraphs: [ctx.t.forgot.sent, ctx.t.forgot.sentHint],
          links: [...(code ? [{ href: ctx.href(resetPage), text: ctx.t.forgot.haveCode }] : []), requestNewLink(ctx)],
        });
        flow.startRequestReset(email, req.ip, clientKey(req.ip));
      },
    ),
  );

  const refuseReset = (req: Request, res: Response, ctx: PageContext): void => {
    // A refused post's token is not put back into a page: it may be another site's, planted to phish a password.
    if (stringField(req.body, 'token') === undefined && code)
      return codeForm(req, res, ctx, 403, {}, {}, [ctx.t.errors.forbidden]);
    messagePage(res, ctx, 403, ctx.t.reset.title, [ctx.t.errors.forbidden], [ctx.t.reset.missing]);
  };

  router.post(
    resetPage,
    enabledHandlers(
      formsOnly,
      pageHeaders,
      parseForm,
      sameSite(refuseReset),
      deps.limiters.perIp.reset,
      catchAsync(async (req, res) => {
        const ctx = contextOf(req);
        const { t } = ctx;
        // The cookie set on the link's first load; a `token` field still works for pages opened before 0.2.
        const token = stringField(req.body, 'token') || readLinkCookie(req);
        const password = stringField(req.body, 'password') ?? '';
        // An empty field is a missing one: the flow answers it `SECOND_FACTOR_REQUIRED` when the account has one.
        const otp = config.secondFactor ? stringField(req.body, 'otp')?.trim() || undefined : undefined;
        const confirm = stringField(req.body, 'confirm') ?? '';
        if (token === undefined && !code)
          return messagePage(res, ctx, 400, t.reset.missingTitle, [], [t.reset.missing]);

        const values: Fields =
          token === undefined
            ? { email: stringField(req.body, 'email')?.trim() ?? '', code: stringField(req.body, 'code')?.trim() ?? '' }
            : {};
        const credential: Credential =
          token === undefined ? { email: values.email ?? '', code: values.code ?? '' } : { token };
        const errors = schemaErrors(t, config.schemas.reset, { ...values, token, password, otp });
        if (errors.token) return messagePage(res, ctx, 400, t.reset.invalidTitle, [t.errors.tokenInvalid]);
        if (password === '') errors.password = t.errors.passwordRequired;
        const mismatch = !errors.password && confirm !== password;
        if (mismatch) errors.confirm = t.errors.confirmMismatch;
        // Both password fields (and the authentication code) come back empty, never echoed, so after a mismatch typing
        // starts again in the first of them.
        const focus = mismatch ? (otp === undefined ? 'password' : 'otp') : undefined;
        // A code form that came with an otp field keeps it.
        const again = (status: number, fieldErrors: Fields, withOtp = otp !== undefined): Promise<void> | void =>
          token === undefined
            ? codeForm(req, res, ctx, status, { email: values.email }, fieldErrors, [], withOtp)
            : tokenForm(req, res, ctx, status, token, fieldErrors, focus);
        // Nothing is looked up for a form that is incomplete: no attempt slot is spent on a typo.
        if (Object.keys(errors).length > 0) return again(400, errors);

        let kind: TokenKind;
        try {
          kind = await flow.reset(credential, password, requesterOf(req), otp);
        } catch (error) {
          if (!(error instanceof PasswordResetError)) throw error;
          if (error.code === 'SECOND_FACTOR_REQUIRED') return again(401, { otp: t.errors.otpRequired }, true);
          if (error.code === 'SECOND_FACTOR_INVALID') return again(401, { otp: t.errors.otpInvalid }, true);
          if (error.code === 'PASSWORD_REJECTED')
            return again(422, {
              password: (error.details ?? []).map((detail) => ruleMessage(t, detail, limits)).join(' '),
            });
          if (isDeadLink(error)) {
            const expired = error.code === 'TOKEN_EXPIRED';
            if (token === undefined)
              return again(400, { code: expired ? t.errors.codeExpired : t.errors.codeRejected });
            return deadLink(req, res, ctx, error);
          }
          throw error;
        }
        clearLinkCookie(req, res, resetPage);
        if (pages.successRedirect) return res.redirect(303, pages.successRedirect);
        const done =
          kind === 'invite'
            ? { heading: t.invite.doneTitle, text: t.invite.done }
            : { heading: t.done.title, text: t.done.message };
        send(res, 200, ctx, { heading: done.heading, paragraphs: [done.text] });
      }),
    ),
  );

  // Errors of the page routes (limits, unreachable stores, unreadable forms) answered as pages, never as JSON.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = deps.toApiError(error, req);
    if (res.headersSent) return;
    pageHeaders(req, res, () => undefined);
    const ctx = contextOf(req);
    const unconfirmed = mapped instanceof ServiceUnavailableError && mapped.unconfirmed;
    const text = unconfirmed
      ? ctx.t.errors.unconfirmed
      : (API_ERROR_TEXT[mapped.code]?.(ctx.t) ?? ctx.t.errors.unexpected);
    const heading = req.path.startsWith(forgotPage) ? ctx.t.forgot.title : ctx.t.reset.title;
    messagePage(res, ctx, mapped.status, heading, [text]);
  });

  return router;
}
