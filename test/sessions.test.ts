/**
 * rejectSessionsBefore() with real JWTs (jsonwebtoken) around the real router:
 * a token signed before the password changed is refused, one signed after is
 * accepted. The express-session + connect-mongo variant is test/mongo-sessions.test.ts.
 */
import bcrypt from 'bcrypt';
import express, { type Request } from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { OptionsError, rejectSessionsBefore, SESSION_REVOKED, type RejectSessionsBeforeOptions } from '../lib';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';

const JWT_SECRET = 'jwt-test-secret-0123456789abcdefghijklmnop';
const OLD_PASSWORD = 'the old password, known to someone else';

interface Claims {
  sub: string;
}

/** The verified claims of the request's bearer token, or undefined. */
function claimsOf(req: Request): (Claims & { iat: number }) | undefined {
  const header = req.get('authorization');
  if (!header?.startsWith('Bearer ')) return undefined;
  try {
    const payload = jwt.verify(header.slice('Bearer '.length), JWT_SECRET);
    if (typeof payload === 'string' || typeof payload.sub !== 'string' || typeof payload.iat !== 'number') {
      return undefined;
    }
    return { sub: payload.sub, iat: payload.iat };
  } catch {
    return undefined;
  }
}

describe('guarantee: signing out everywhere, JWT variant (rejectSessionsBefore)', () => {
  let t: TestApp;
  /** The one clock of the app and the router, moved by the test instead of waiting. */
  let clock = Date.parse('2026-01-01T10:00:00.500Z');
  const changedAt = new Map<string, Date>();

  beforeAll(async () => {
    const passwordHash = await bcrypt.hash(OLD_PASSWORD, 4);
    t = await createApp({
      users: [{ ...ADA, passwordHash }],
      options: {
        now: () => new Date(clock),
        hooks: {
          onPasswordReset: (user) => {
            changedAt.set(user.id, new Date(clock));
          },
        },
      },
      configure: (app) => {
        app.post('/login', express.json(), async (req, res) => {
          const body = req.body as { email?: string; password?: string };
          const user = await t.users.findByEmail(body.email ?? '');
          const hash = user ? t.users.hashOf(user.id) : undefined;
          if (!user || !hash || !(await bcrypt.compare(body.password ?? '', hash))) {
            res.status(401).json({ success: false });
            return;
          }
          // iat from the app's clock (whole seconds, as jsonwebtoken writes it), so the test can move time.
          res.json({ token: jwt.sign({ sub: user.id, iat: Math.floor(clock / 1000) }, JWT_SECRET) });
        });
        app.get(
          '/me',
          rejectSessionsBefore({
            getSignedIn: (req) => {
              const claims = claimsOf(req);
              return claims && { userId: claims.sub, issuedAt: claims.iat * 1000 };
            },
            getUserChangedAt: (userId) => changedAt.get(userId),
          }),
          (req, res) => {
            const claims = claimsOf(req);
            if (!claims) {
              res.status(401).json({ success: false });
              return;
            }
            res.json({ userId: claims.sub });
          },
        );
      },
    });
  });
  afterAll(() => t.close());

  const login = async (password: string): Promise<string> => {
    const res = await request(t.app).post('/login').send({ email: ADA.email, password }).expect(200);
    return (res.body as { token: string }).token;
  };
  const me = (token: string) => request(t.app).get('/me').set('Authorization', `Bearer ${token}`);

  it('refuses a token issued before the reset and accepts one issued after it', async () => {
    const before = await login(OLD_PASSWORD);
    await me(before).expect(200, { userId: ADA.id });

    clock += 3_000;
    const token = await t.requestToken(ADA.email);
    await t.post('/reset', { token, password: GOOD_PASSWORD }).expect(200);
    expect(changedAt.get(ADA.id)?.getTime()).toBe(clock);

    const refused = await me(before).expect(401);
    expect(refused.body).toEqual({
      success: false,
      error: { code: SESSION_REVOKED, message: expect.any(String) as string },
    });
    expect(JSON.stringify(refused.body)).not.toContain(GOOD_PASSWORD);

    // Signed within the same second as the change: its iat cannot tell before from after, so it is refused.
    clock += 200;
    await me(await login(GOOD_PASSWORD)).expect(401);

    clock += 1_000;
    const after = await login(GOOD_PASSWORD);
    await me(after).expect(200, { userId: ADA.id });
    await me(before).expect(401);
  });

  it('passes requests that are not signed in, and users who never changed their password, untouched', async () => {
    await request(t.app).get('/me').expect(401, { success: false });
    changedAt.delete(ADA.id);
    const token = jwt.sign({ sub: ADA.id, iat: 0 }, JWT_SECRET);
    await me(token).expect(200, { userId: ADA.id });
  });
});

describe('guarantee: rejectSessionsBefore fails closed', () => {
  const appWith = (options: RejectSessionsBeforeOptions) => {
    const app = express();
    app.get('/me', rejectSessionsBefore(options), (_req, res) => res.json({ ok: true }));
    app.use((error: Error, _req: Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ failed: error.message });
    });
    return app;
  };

  it('refuses a session without a known issue time once the password changed', async () => {
    const app = appWith({
      getSignedIn: () => ({ userId: 'u1', issuedAt: undefined }),
      getUserChangedAt: async () => new Date(0),
    });
    await request(app).get('/me').expect(401);
  });

  it('refuses a session issued in the millisecond of the change, accepts one a millisecond later', async () => {
    let issuedAt = 5000;
    const app = appWith({
      getSignedIn: () => ({ userId: 'u1', issuedAt }),
      getUserChangedAt: () => new Date(5000),
    });
    await request(app).get('/me').expect(401);
    issuedAt = 5001;
    await request(app).get('/me').expect(200, { ok: true });
  });

  it('refuses when the change time cannot be read (the error goes to the error handler)', async () => {
    const app = appWith({
      getSignedIn: async () => ({ userId: 'u1', issuedAt: Date.now() }),
      getUserChangedAt: () => Promise.reject(new Error('users down')),
    });
    await request(app).get('/me').expect(500, { failed: 'users down' });
  });

  it('answers through onRejected when given', async () => {
    const app = appWith({
      getSignedIn: () => ({ userId: 'u1', issuedAt: new Date(1000) }),
      getUserChangedAt: () => 1000,
      onRejected: (_req, res) => {
        res.redirect(303, '/login');
      },
    });
    await request(app).get('/me').expect(303).expect('Location', '/login');
  });
});

describe('guarantee: rejectSessionsBefore options are checked at construction', () => {
  const build = (options: unknown) => () => rejectSessionsBefore(options as RejectSessionsBeforeOptions);

  it('names the missing, mistyped or unknown option and what is allowed', () => {
    expect(build({ getUserChangedAt: () => null })).toThrow(OptionsError);
    expect(build({ getUserChangedAt: () => null })).toThrow(/rejectSessionsBefore\.getSignedIn.*required/);
    expect(build({ getSignedIn: () => undefined, getUserChangedAt: 'passwordChangedAt' })).toThrow(
      /rejectSessionsBefore\.getUserChangedAt.*must be a function/,
    );
    expect(build({ getSignedIn: () => undefined, getUserChangedAt: () => null, onRejectd: () => undefined })).toThrow(
      /rejectSessionsBefore\.onRejectd.*did you mean 'onRejected'/,
    );
    expect(build(undefined)).toThrow(/rejectSessionsBefore.*must be an object/);
  });
});
