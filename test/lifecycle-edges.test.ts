/**
 * Review of the secondFactor and invitation changes (review-lifecycle).
 */
import type { AddressInfo } from 'node:net';
import type { PasswordResetOptions, User } from '../lib';
import { ADA, GOOD_PASSWORD, createApp, type TestApp } from './helpers/create-app';
import { PageClient } from './helpers/page-client';

const RIGHT_OTP = '314159';

const open: TestApp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function sfApp(options: Partial<PasswordResetOptions>, maxAttempts: number): Promise<TestApp> {
  const app = await createApp({
    options: {
      secondFactor: {
        required: (user: User) => user.id === ADA.id,
        verify: (_user: User, otp: string) => otp === RIGHT_OTP,
        maxAttempts,
      },
      ...options,
    },
  });
  open.push(app);
  return app;
}

describe('secondFactor with code.exchange', () => {
  test('trading a code for a token does not give the otp guesser a fresh maxAttempts', async () => {
    const app = await sfApp({ code: { enabled: true, exchange: true } }, 3);
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    // Two wrong otps on the emailed code's link.
    for (const otp of ['000001', '000002']) {
      const wrong = await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD, otp });
      expect(wrong.status).toBe(401);
    }
    // The same email's code is traded for a token: still one email, one link's worth of otp tries.
    const traded = await app.post('/verify', { email: ADA.email, code });
    expect(traded.status).toBe(200);
    const token = traded.body.token as string;
    // The third wrong otp overall is the last one: the link goes.
    const third = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: '000003' });
    expect(third.status).toBe(401);
    const after = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect([after.status, after.body.error?.code]).toEqual([400, 'TOKEN_INVALID']);
  });
});

describe('secondFactor on the hosted pages', () => {
  test('an otp typed with spaces around it (the page trims it) is still scrubbed from events and logs', async () => {
    const otp = '424242';
    const app = await createApp({
      options: {
        pages: true,
        secondFactor: {
          required: () => true,
          verify: (_user: User, given: string) => Promise.reject(new Error(`cannot check ${given}`)),
        },
      },
    });
    open.push(app);
    const client = new PageClient(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    const form = await client.get(`/auth/password/reset?token=${await app.requestToken(ADA.email)}`);
    const failed = await client.submit(form, { otp: ` ${otp} `, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(failed.status).toBe(503);
    expect(app.events.some((event) => event.type === 'error' && event.stage === 'secondFactor.verify')).toBe(true);
    expect(JSON.stringify([app.events, app.logs, failed.html])).not.toContain(otp);
  });
});

describe('secondFactor: an authenticator that hangs', () => {
  test('a verify that never answers is a 503 that costs nothing, and the link still works afterwards', async () => {
    let calls = 0;
    const app = await createApp({
      options: {
        secondFactor: {
          required: () => true,
          // The first check hangs (the authenticator is down), later ones answer.
          verify: (_user: User, otp: string) => (++calls === 1 ? new Promise<boolean>(() => {}) : otp === RIGHT_OTP),
          maxAttempts: 1,
        },
      },
    });
    open.push(app);
    const token = await app.requestToken(ADA.email);
    const hung = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect([hung.status, hung.body.error?.code]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    // Its slot (the only one) was given back, and this reset is not queued behind the hung one.
    const retry = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect(retry.status).toBe(200);
  }, 30_000);
});

describe('the code flow: a right code whose reset fails for a dependency', () => {
  test('a failing password check (503) gives the code attempt back', async () => {
    let down = true;
    const app = await createApp({
      options: {
        code: { enabled: true, maxAttempts: 2 },
        password: { isBreached: async () => (down ? Promise.reject(new Error('range API down')) : false) },
      },
    });
    open.push(app);
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    for (let i = 0; i < 2; i += 1) {
      const failed = await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD });
      expect(failed.status).toBe(503);
    }
    down = false;
    const done = await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD });
    expect([done.status, done.body.error?.code]).toEqual([200, undefined]);
  });
});

describe('the code flow: /verify with a right code and a failing user store', () => {
  test('the 503 gives the code attempt back', async () => {
    const app = await createApp({ options: { code: { enabled: true, maxAttempts: 2 } } });
    open.push(app);
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    const find = app.users.findByEmail.bind(app.users);
    let calls = 0;
    // The lookup of the address answers; the second one (the account behind the found token) fails.
    app.users.findByEmail = async (email: string) => {
      calls += 1;
      if (calls % 2 === 0) throw new Error('user store down');
      return find(email);
    };
    for (let i = 0; i < 2; i += 1) expect((await app.post('/verify', { email: ADA.email, code })).status).toBe(503);
    app.users.findByEmail = find;
    expect((await app.post('/verify', { email: ADA.email, code })).status).toBe(200);
  });
});
