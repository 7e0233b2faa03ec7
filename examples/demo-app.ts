/**
 * The demo app: seeded users, the in-memory token store and the outbox mailer,
 * with plain HTML pages to click through the whole flow. `examples/demo.ts`
 * starts it; tests build it with `createDemoApp()`.
 */
import bcrypt from 'bcrypt';
import express from 'express';
import { OutboxMailer, escapeHtml, passwordReset, type PasswordResetRouter, type User, type UserAdapter } from '../lib';

interface DemoUser extends User {
  passwordHash: string;
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
nav a{margin-right:1rem}.note{background:#f4f4f5;padding:.75rem;border-radius:6px}pre{white-space:pre-wrap;background:#f4f4f5;padding:.75rem}iframe{width:100%;height:420px;border:1px solid #ddd}</style>
</head><body><nav><a href="/">Home</a><a href="/signin">Sign in</a><a href="/auth/password/forgot">Forgot password</a><a href="/outbox">Outbox</a></nav>
<h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export interface DemoApp {
  app: express.Express;
  outbox: OutboxMailer;
  router: PasswordResetRouter;
}

/** Builds the demo. `baseUrl` is where it is reachable: links in emails are built from it, never from `Host`. */
export async function createDemoApp(baseUrl: string): Promise<DemoApp> {
  const users = new Map<string, DemoUser>();
  for (const { password, ...user } of DEMO_USERS) {
    users.set(user.email, { ...user, passwordHash: await bcrypt.hash(password, 10) });
  }
  const outbox = new OutboxMailer();
  const router = passwordReset({
    users: memoryUsers(users),
    resetUrl: `${baseUrl}/auth/password/reset`,
    mailer: outbox,
    emails: { appName: 'Demo app' },
    pages: { title: 'Demo app', successRedirect: '/signin?reset=1' },
  });

  const app = express();
  app.use('/auth/password', router);
  app.use(express.urlencoded({ extended: false, limit: '2kb' }));

  app.get('/', (_req, res) => {
    const rows = DEMO_USERS.map((u) => `<li>${escapeHtml(u.email)} / <code>${escapeHtml(u.password)}</code></li>`).join(
      '',
    );
    res.send(
      page(
        'express-password-reset demo',
        `<p>Try it: sign in, then use <a href="/auth/password/forgot">Forgot password</a>,
open the email in the <a href="/outbox">outbox</a>, follow its link, choose a new password and sign in with it.</p>
<p class="note">Seeded accounts (initial passwords):</p><ul>${rows}</ul>`,
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
    res
      .status(ok ? 200 : 401)
      .send(
        ok
          ? page(
              'Signed in',
              `<p role="status">Welcome back, ${escapeHtml(user.name ?? user.email)}. You are signed in.</p>`,
            )
          : page(
              'Sign in',
              `<p role="alert">Wrong email or password.</p><p><a href="/signin">Try again</a> or <a href="/auth/password/forgot">reset your password</a>.</p>`,
            ),
      );
  });

  app.get('/outbox', (_req, res) => {
    const items = [...outbox.messages]
      .reverse()
      .map(
        (m, i) => `<article><h2>${escapeHtml(m.subject)}</h2>
<p>To: ${escapeHtml(m.to)} · kind: ${escapeHtml(m.kind)}</p>
<pre>${escapeHtml(m.text).replace(/(https?:\/\/[^\s<]+)/g, (url) => `<a href="${url}">${url}</a>`)}</pre>
<details${i === 0 ? ' open' : ''}><summary>HTML version</summary><iframe sandbox title="HTML email" srcdoc="${escapeHtml(m.html)}"></iframe></details></article>`,
      )
      .join('');
    res.send(
      page(
        'Outbox',
        `<p class="note">Development mailer: these emails were not delivered anywhere. Newest first.</p>${items || '<p>No email yet.</p>'}`,
      ),
    );
  });

  return { app, outbox, router };
}
