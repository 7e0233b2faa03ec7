/**
 * The demo app: seeded users, the in-memory token store and the outbox mailer,
 * with plain HTML pages to click through the whole flow. `examples/demo.ts`
 * starts it; tests build it with `createDemoApp()`.
 *
 * Signing in starts an express-session session; a password reset ends every
 * session of that account (`hooks.onPasswordReset`), so "signed out
 * everywhere" can be tried with two browsers.
 */
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import bcrypt from 'bcrypt';
import express from 'express';
import session from 'express-session';
import { OutboxMailer, escapeHtml, passwordReset, type PasswordResetRouter, type User, type UserAdapter } from '../lib';

interface DemoUser extends User {
  passwordHash: string;
}

declare module 'express-session' {
  interface SessionData {
    userId: string;
  }
}

/** The sessions of each account, so a reset can end them all; express-session alone knows no user. */
class SessionsByUser {
  private readonly ids = new Map<string, Set<string>>();

  constructor(private readonly store: session.Store) {}

  add(userId: string, sessionId: string): void {
    const ids = this.ids.get(userId) ?? new Set<string>();
    ids.add(sessionId);
    this.ids.set(userId, ids);
  }

  remove(userId: string, sessionId: string): void {
    this.ids.get(userId)?.delete(sessionId);
  }

  /** Destroys every session of `userId`: the account is signed out on every device. */
  async endAll(userId: string): Promise<number> {
    const ids = [...(this.ids.get(userId) ?? [])];
    this.ids.delete(userId);
    const destroy = promisify(this.store.destroy.bind(this.store));
    await Promise.all(ids.map((id) => destroy(id)));
    return ids.length;
  }
}

/** The accounts the demo starts with (shown on its home page: it is a demo). */
export const DEMO_USERS = [
  { id: '1', email: 'alice@example.com', name: 'Alice', password: 'wonderland-rabbit' },
  { id: '2', email: 'bruno@example.com', name: 'Bruno', locale: 'de', password: 'schwarzwald-torte' },
];

/** A users adapter over a Map: what an app would back with its database. */
function memoryUsers(users: Map<string, DemoUser>): UserAdapter {
  return {
    async findByEmail(email) {
      const user = users.get(email.toLowerCase());
      return user ? { id: user.id, email: user.email, name: user.name, locale: user.locale } : null;
    },
    async updatePassword(id, passwordHash) {
      for (const user of users.values()) if (user.id === id) user.passwordHash = passwordHash;
    },
  };
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:640px;margin:2rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:.75rem}input{font:inherit;padding:.4rem;width:100%;max-width:22rem}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}
nav a{margin-right:1rem}.open{display:inline-block;margin:.5rem 0;padding:.5rem 1rem;background:#1d4ed8;color:#fff;border-radius:6px;font-weight:600;text-decoration:none}.note{background:#f4f4f5;padding:.75rem;border-radius:6px}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f5;padding:.75rem}iframe{width:100%;height:420px;border:1px solid #ddd}</style>
</head><body><nav><a href="/">Home</a><a href="/signin">Sign in</a><a href="/signout">Sign out</a><a href="/auth/password/forgot">Forgot password</a><a href="/outbox">Outbox</a></nav>
<h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export interface DemoApp {
  app: express.Express;
  outbox: OutboxMailer;
  router: PasswordResetRouter;
  /** Where the sessions live; a reset ends the account's sessions in it. */
  sessions: session.MemoryStore;
}

/** Builds the demo. `baseUrl` is where it is reachable: links in emails are built from it, never from `Host`. */
export async function createDemoApp(baseUrl: string): Promise<DemoApp> {
  const users = new Map<string, DemoUser>();
  for (const { password, ...user } of DEMO_USERS) {
    users.set(user.email, { ...user, passwordHash: await bcrypt.hash(password, 10) });
  }
  const outbox = new OutboxMailer();
  const sessions = new session.MemoryStore();
  const sessionsByUser = new SessionsByUser(sessions);
  const router = passwordReset({
    users: memoryUsers(users),
    resetUrl: `${baseUrl}/auth/password/reset`,
    mailer: outbox,
    emails: { appName: 'Demo app' },
    pages: { title: 'Demo app', successRedirect: '/signin?reset=1', signInUrl: '/signin' },
    hooks: {
      // A new password signs the account out everywhere: whoever knew the old one loses their session too.
      onPasswordReset: async (user) => {
        await sessionsByUser.endAll(user.id);
      },
    },
  });

  const app = express();
  app.use('/auth/password', router);
  app.use(express.urlencoded({ extended: false, limit: '2kb' }));
  app.use(
    session({
      name: 'demo.sid',
      // A demo: a new secret per start signs everyone out on restart, which the in-memory store does anyway.
      secret: randomBytes(32).toString('base64url'),
      store: sessions,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: baseUrl.startsWith('https:') },
    }),
  );
  const signedInUser = (req: express.Request): DemoUser | undefined =>
    [...users.values()].find((user) => user.id === req.session.userId);

  app.get('/', (req, res) => {
    const current = signedInUser(req);
    const status = current
      ? `<p class="note" role="status">Signed in as <strong>${escapeHtml(current.email)}</strong>. Reset this account's password (in another browser, too) and this session ends.</p>`
      : '<p class="note" role="status">Not signed in.</p>';
    const rows = DEMO_USERS.map((u) => `<li>${escapeHtml(u.email)} / <code>${escapeHtml(u.password)}</code></li>`).join(
      '',
    );
    res.send(
      page(
        'express-password-reset demo',
        `<p>Try it: sign in, then use <a href="/auth/password/forgot">Forgot password</a>,
open the email in the <a href="/outbox">outbox</a>, follow its link, choose a new password and sign in with it.</p>
${status}<p class="note">Seeded accounts (initial passwords):</p><ul>${rows}</ul>`,
      ),
    );
  });

  app.get('/signin', (req, res) => {
    const notice =
      req.query.reset === '1'
        ? '<p class="note" role="status">Your password was changed. Sign in with the new one.</p>'
        : '';
    res.send(
      page(
        'Sign in',
        `${notice}<form method="post" action="/signin">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form><p><a href="/auth/password/forgot">Forgot your password?</a></p>`,
      ),
    );
  });

  app.post('/signin', async (req, res) => {
    const body = req.body as { email?: unknown; password?: unknown } | undefined;
    const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
    const password = typeof body?.password === 'string' ? body.password.normalize('NFKC') : '';
    const user = users.get(email);
    const ok = user !== undefined && (await bcrypt.compare(password, user.passwordHash));
    if (ok) {
      // A new session id on sign-in, so an id planted before it is worth nothing.
      await promisify(req.session.regenerate.bind(req.session))();
      req.session.userId = user.id;
      sessionsByUser.add(user.id, req.sessionID);
    }
    res
      .status(ok ? 200 : 401)
      .send(
        ok
          ? page(
              'Signed in',
              `<p role="status">Welcome back, ${escapeHtml(user.name ?? user.email)}. You are signed in.</p><p><a href="/">Home</a></p>`,
            )
          : page(
              'Sign in',
              `<p role="alert">Wrong email or password.</p><p><a href="/signin">Try again</a> or <a href="/auth/password/forgot">reset your password</a>.</p>`,
            ),
      );
  });

  app.get('/signout', (req, res) => {
    const userId = req.session.userId;
    if (userId) sessionsByUser.remove(userId, req.sessionID);
    req.session.destroy(() => res.redirect(303, '/'));
  });

  app.get('/outbox', (_req, res) => {
    const items = [...outbox.messages]
      .reverse()
      .map((m, i) => {
        // A normal link, opened top-level: the reset page refuses to be framed (frame-ancestors 'none').
        const open = m.data.resetUrl
          ? `<p><a class="open" href="${escapeHtml(m.data.resetUrl)}">Open the reset page</a></p>`
          : '';
        return `<article><h2>${escapeHtml(m.subject)}</h2>
<p>To: ${escapeHtml(m.to)} · kind: ${escapeHtml(m.kind)}</p>${open}
<pre>${escapeHtml(m.text).replace(/(https?:\/\/[^\s<]+)/g, (url) => `<a href="${url}">${url}</a>`)}</pre>
<details${i === 0 ? ' open' : ''}><summary>HTML version</summary><iframe sandbox="allow-popups allow-popups-to-escape-sandbox" title="HTML email" srcdoc="${escapeHtml(inNewTab(m.html))}"></iframe></details></article>`;
      })
      .join('');
    res.send(
      page(
        'Outbox',
        `<p class="note">Development mailer: these emails were not delivered anywhere. Newest first.</p>${items || '<p>No email yet.</p>'}`,
      ),
    );
  });

  return { app, outbox, router, sessions };
}

/**
 * The email's HTML with its links opening in a new tab: inside the sandboxed preview a click would load the reset
 * page into the frame, which the page refuses. The sandbox still runs no script and lets nothing else out.
 */
function inNewTab(html: string): string {
  const base = '<base target="_blank">';
  // After <head>, or after <html> (the parser then opens the head around it); never before the doctype.
  const tag = /<head[^>]*>/i.exec(html) ?? /<html[^>]*>/i.exec(html);
  return tag ? html.slice(0, tag.index + tag[0].length) + base + html.slice(tag.index + tag[0].length) : base + html;
}
