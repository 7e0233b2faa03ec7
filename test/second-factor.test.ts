/**
 * SPEC `secondFactor` (issue 15, item 5): for an account that has one, `/verify` says so and `/reset` needs `otp`
 * after the credential and before the password policy, `beforeReset` and the claim. Missing and wrong otps leave the
 * link usable until `maxAttempts` wrong ones per link, which remove it; a failing authenticator is a 503 that costs
 * nothing; the otp never reaches events or logs. The hosted pages ask for it too, also without JavaScript.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import {
  MemoryTokenStore,
  OptionsError,
  openApiDocument,
  passwordReset,
  type PasswordResetOptions,
  type SecondFactorOptions,
  type User,
} from '../lib';
import { hashToken } from '../lib/core/tokens';
import {
  MAX_ATTEMPTS,
  caseUsers,
  prepareCases,
  sendCase,
  type CodeCase,
  type CodeEndpoint,
} from './helpers/code-cases';
import { ADA, GOOD_PASSWORD, GRACE, createApp, type TestApp } from './helpers/create-app';
import { InstrumentedStore } from './helpers/instrumented-store';
import { PageClient, fieldError, type Page } from './helpers/page-client';

/** Ada has a second factor, Grace has none. */
const RIGHT_OTP = '314159';
const WRONG_OTP = '000000';

/** The calls the second factor got, in order, with the otp each `verify` saw. */
interface Calls {
  required: string[];
  verify: { userId: string; otp: string }[];
}

function secondFactorOf(calls: Calls, overrides: Partial<SecondFactorOptions> = {}): SecondFactorOptions {
  return {
    required: (user: User) => {
      calls.required.push(user.id);
      return user.id === ADA.id;
    },
    verify: async (user: User, otp: string) => {
      calls.verify.push({ userId: user.id, otp });
      return otp === RIGHT_OTP;
    },
    ...overrides,
  };
}

const open: TestApp[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function sfApp(
  options: Partial<PasswordResetOptions> = {},
  overrides: Partial<SecondFactorOptions> = {},
): Promise<TestApp & { calls: Calls }> {
  const calls: Calls = { required: [], verify: [] };
  const app = await createApp({ options: { secondFactor: secondFactorOf(calls, overrides), ...options } });
  open.push(app);
  return Object.assign(app, { calls });
}

const errorBody = (code: string, message: string) => ({ success: false, error: { code, message } });
const REQUIRED_BODY = errorBody(
  'SECOND_FACTOR_REQUIRED',
  'This account needs an authentication code to reset its password.',
);
const INVALID_BODY = errorBody('SECOND_FACTOR_INVALID', 'The authentication code is wrong.');
const TOKEN_INVALID_BODY = errorBody('TOKEN_INVALID', 'This reset link or code is invalid or has already been used.');

describe('secondFactor: options are checked at construction', () => {
  const base = {
    users: { findByEmail: async () => null, updatePassword: async () => undefined },
    resetUrl: 'https://a.example/r',
  };
  test.each<[unknown, string, string]>([
    [{ verify: () => true }, 'secondFactor.required', 'must be a function (user) => boolean'],
    [{ required: () => true, verify: 'yes' }, 'secondFactor.verify', 'must be a function (user, otp) => boolean'],
    [{ required: () => true, verify: () => true, maxAttempts: 0 }, 'secondFactor.maxAttempts', 'from 1 to 20'],
    [{ required: () => true, verify: () => true, maxAttempts: 2.5 }, 'secondFactor.maxAttempts', 'from 1 to 20'],
    [
      { required: () => true, verify: () => true, maxTries: 3 },
      'secondFactor.maxTries',
      'allowed: required, verify, maxAttempts',
    ],
    [true, 'secondFactor', 'must be an object'],
  ])('%j is refused naming %s', (secondFactor, option, text) => {
    let thrown: unknown;
    try {
      passwordReset({ ...base, secondFactor } as unknown as PasswordResetOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OptionsError);
    expect((thrown as OptionsError).option).toBe(option);
    expect((thrown as OptionsError).code).toBe('ERR_EPR_OPTION_INVALID');
    expect((thrown as OptionsError).message).toContain(text);
  });
});

describe('secondFactor on the JSON API', () => {
  test('/verify answers "secondFactor": true only for an account that has one, and consumes nothing', async () => {
    const app = await sfApp();
    const ada = await app.requestToken(ADA.email);
    const grace = await app.requestToken(GRACE.email);
    const adaVerify = await app.post('/verify', { token: ada });
    expect(adaVerify.status).toBe(200);
    expect(adaVerify.body).toEqual({
      success: true,
      valid: true,
      expiresAt: expect.any(String),
      kind: 'reset',
      secondFactor: true,
    });
    const graceVerify = await app.post('/verify', { token: grace });
    expect(graceVerify.body).toEqual({ success: true, valid: true, expiresAt: expect.any(String), kind: 'reset' });
    expect(app.calls.verify).toEqual([]);
    // Grace resets without an otp.
    expect((await app.post('/reset', { token: grace, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('a missing otp is 401 SECOND_FACTOR_REQUIRED, a wrong one 401 SECOND_FACTOR_INVALID; the link still works', async () => {
    const app = await sfApp();
    const token = await app.requestToken(ADA.email);
    const missing = await app.post('/reset', { token, password: GOOD_PASSWORD });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual(REQUIRED_BODY);
    const wrong = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: WRONG_OTP });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(INVALID_BODY);
    expect(app.users.updates).toEqual([]);
    expect((await app.post('/verify', { token })).status).toBe(200);

    const right = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect(right.status).toBe(200);
    expect(app.users.updates.map((update) => update.id)).toEqual([ADA.id]);
    expect(app.calls.verify).toEqual([
      { userId: ADA.id, otp: WRONG_OTP },
      { userId: ADA.id, otp: RIGHT_OTP },
    ]);
    const reasons = app.events.flatMap((event) => (event.type === 'verify.failed' ? [event.reason] : []));
    expect(reasons).toEqual(['otp_missing', 'otp_wrong']);
  });

  test('after maxAttempts wrong otps the link is removed: a right otp then gets TOKEN_INVALID, one event', async () => {
    const app = await sfApp({}, { maxAttempts: 3 });
    const token = await app.requestToken(ADA.email);
    for (let i = 0; i < 3; i += 1) {
      const wrong = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: `00000${i}` });
      expect([wrong.status, wrong.body]).toEqual([401, INVALID_BODY]);
      // The link works until the last try was spent.
      expect((await app.post('/verify', { token })).status).toBe(i < 2 ? 200 : 400);
    }
    const late = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect([late.status, late.body]).toEqual([400, TOKEN_INVALID_BODY]);
    expect(app.calls.verify).toHaveLength(3);
    expect(app.users.updates).toEqual([]);
    expect(app.events.filter((event) => event.type === 'second_factor.locked')).toEqual([
      expect.objectContaining({ type: 'second_factor.locked', userId: ADA.id }),
    ]);
    // A new link (which needs the mailbox) has its own tries.
    const fresh = await app.requestToken(ADA.email);
    expect((await app.post('/reset', { token: fresh, password: GOOD_PASSWORD, otp: RIGHT_OTP })).status).toBe(200);
  });

  test('a right otp gives its try back: maxAttempts counts wrong otps only', async () => {
    const app = await sfApp({ password: { minLength: 20 } }, { maxAttempts: 2 });
    const token = await app.requestToken(ADA.email);
    // A right otp with a password the policy refuses, three times: no try spent.
    for (let i = 0; i < 3; i += 1)
      expect((await app.post('/reset', { token, password: 'short password', otp: RIGHT_OTP })).status).toBe(422);
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD, otp: WRONG_OTP })).status).toBe(401);
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP })).status).toBe(200);
  });

  test('N parallel wrong otps on four instances sharing one store get at most maxAttempts verify calls', async () => {
    const store = new MemoryTokenStore();
    const calls: Calls = { required: [], verify: [] };
    let inFlight = 0;
    let mostInFlight = 0;
    const slowVerify = async (user: User, otp: string): Promise<boolean> => {
      calls.verify.push({ userId: user.id, otp });
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight -= 1;
      return false;
    };
    const apps: TestApp[] = [];
    for (let i = 0; i < 4; i += 1) {
      const app = await createApp({
        options: { store, secondFactor: { ...secondFactorOf(calls), verify: slowVerify, maxAttempts: 3 } },
      });
      open.push(app);
      apps.push(app);
    }
    const token = await apps[0]!.requestToken(ADA.email);
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        apps[i % 4]!.post('/reset', { token, password: GOOD_PASSWORD, otp: `10000${i % 10}` }),
      ),
    );
    const codes = answers.map((answer) => (answer.body as { error: { code: string } }).error.code);
    // The instances did race (more than one verify at once), and the store's slots bounded them.
    expect(mostInFlight).toBeGreaterThan(1);
    expect(calls.verify.length).toBeLessThanOrEqual(3);
    expect(codes.filter((code) => code === 'SECOND_FACTOR_INVALID')).toHaveLength(calls.verify.length);
    expect(codes.filter((code) => code !== 'SECOND_FACTOR_INVALID').every((code) => code === 'TOKEN_INVALID')).toBe(
      true,
    );
    expect(await store.find(hashToken(token))).toBeNull();
    const locked = apps.flatMap((app) => app.events.filter((event) => event.type === 'second_factor.locked'));
    expect(locked).toHaveLength(1);
  });

  test('the order is credential, second factor, password policy, beforeReset, then the claim', async () => {
    const order: string[] = [];
    const app = await sfApp(
      {
        password: {
          validate: (password) => {
            order.push('policy');
            return password !== 'refused by policy';
          },
        },
        hooks: { beforeReset: () => void order.push('beforeReset') },
      },
      {
        required: () => {
          order.push('required');
          return true;
        },
        verify: (_user, otp) => {
          order.push('verify');
          return otp === RIGHT_OTP;
        },
      },
    );
    const dead = await app.post('/reset', { token: 'x'.repeat(43), password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect(dead.body.error.code).toBe('TOKEN_INVALID');
    expect(order).toEqual([]);

    const token = await app.requestToken(ADA.email);
    await app.post('/reset', { token, password: 'refused by policy', otp: WRONG_OTP }).expect(401);
    expect(order).toEqual(['required', 'verify']);
    order.length = 0;
    await app.post('/reset', { token, password: 'refused by policy', otp: RIGHT_OTP }).expect(422);
    expect(order).toEqual(['required', 'verify', 'policy']);
    order.length = 0;
    await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP }).expect(200);
    expect(order).toEqual(['required', 'verify', 'policy', 'beforeReset']);
  });

  test('verify or required throwing is 503 with an error event, costs no try and leaves the link usable', async () => {
    let failVerify = true;
    let failRequired = false;
    const app = await sfApp(
      {},
      {
        maxAttempts: 1,
        required: (user) => {
          if (failRequired) throw new Error('directory down');
          return user.id === ADA.id;
        },
        verify: (_user, otp) => {
          if (failVerify) throw new Error(`authenticator down while checking ${otp}`);
          return otp === RIGHT_OTP;
        },
      },
    );
    const token = await app.requestToken(ADA.email);
    for (let i = 0; i < 3; i += 1) {
      const failed = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: '271828' });
      expect(failed.status).toBe(503);
      expect(failed.body.error.code).toBe('SERVICE_UNAVAILABLE');
    }
    const stages = app.events.flatMap((event) => (event.type === 'error' ? [event.stage] : []));
    expect(stages).toEqual(['secondFactor.verify', 'secondFactor.verify', 'secondFactor.verify']);

    failRequired = true;
    expect((await app.post('/verify', { token })).status).toBe(503);
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP })).status).toBe(503);
    expect(
      app.events.filter((event) => event.type === 'error' && event.stage === 'secondFactor.required'),
    ).toHaveLength(2);

    // maxAttempts is 1: had a failure cost a try, the link would be gone.
    failRequired = false;
    failVerify = false;
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP })).status).toBe(200);
    expect(app.users.updates).toHaveLength(1);
  });

  test('the otp never reaches events, logs or answers, even from a verify that throws with it', async () => {
    const otp = '867530';
    const app = await sfApp(
      {},
      {
        verify: (_user, value) => {
          throw new Error(`rejected code ${value} for ada`);
        },
      },
    );
    const token = await app.requestToken(ADA.email);
    const answers = [
      await app.post('/reset', { token, password: GOOD_PASSWORD, otp }),
      await app.post('/reset', { token, password: GOOD_PASSWORD, otp: `x${otp}x` }),
    ];
    const errors = app.events.filter((event) => event.type === 'error');
    expect(errors).toHaveLength(2);
    expect(errors.map((event) => event.type === 'error' && event.error.message)).toEqual([
      'rejected code [redacted] for ada',
      'rejected code [redacted] for ada',
    ]);
    const seen = JSON.stringify([app.events, app.logs, answers.map((answer) => answer.text)]);
    expect(seen).not.toContain(otp);
  });

  test('without hooks.onEvent, the logged error line of a throwing verify has no otp either', async () => {
    const lines: string[] = [];
    const log = (line: string): void => void lines.push(line);
    const calls: Calls = { required: [], verify: [] };
    const plain = await createApp();
    open.push(plain);
    const router = passwordReset({
      ...plain.options,
      hooks: {},
      logger: { error: log, warn: log, info: log },
      secondFactor: secondFactorOf(calls, {
        verify: (_user, otp) => {
          throw new Error(`token ${otp} refused by the authenticator`);
        },
      }),
    });
    const server = (await import('express')).default().use('/pr', router);
    await request(server).post('/pr/forgot').send({ email: ADA.email }).expect(202);
    await router.settled();
    const token = /token=([\w-]+)/.exec(plain.mailer.last(ADA.email)!.text)![1]!;
    await request(server).post('/pr/reset').send({ token, password: GOOD_PASSWORD, otp: '975311' }).expect(503);
    await router.close();
    const line = lines.find((entry) => entry.includes('secondFactor.verify'));
    expect(line).toContain('token [redacted] refused by the authenticator');
    expect(lines.join('\n')).not.toContain('975311');
  });

  test('otp is a bounded string under the names of fields.otp; without secondFactor it is an unknown key', async () => {
    const app = await sfApp({ fields: { otp: ['totp', 'mfaCode'] } });
    const token = await app.requestToken(ADA.email);
    for (const [value, field] of [
      [123456, 'totp'],
      ['', 'totp'],
      ['1'.repeat(65), 'totp'],
    ] as const) {
      const refused = await app.post('/reset', { token, password: GOOD_PASSWORD, totp: value });
      expect(refused.status).toBe(400);
      expect(refused.body.error.details[0].field).toBe(field);
    }
    const twice = await app.post('/reset', { token, password: GOOD_PASSWORD, totp: RIGHT_OTP, mfaCode: RIGHT_OTP });
    expect(twice.body.error.details).toEqual([{ field: 'mfaCode', message: 'give only one of "totp" or "mfaCode"' }]);
    const byOldName = await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect(byOldName.body.error.details).toEqual([{ field: 'otp', message: '"otp" is not allowed' }]);
    expect(app.calls.verify).toEqual([]);
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD, mfaCode: RIGHT_OTP })).status).toBe(200);

    const plain = await createApp();
    open.push(plain);
    const other = await plain.requestToken(GRACE.email);
    const refused = await plain.post('/reset', { token: other, password: GOOD_PASSWORD, otp: RIGHT_OTP });
    expect(refused.body.error.details).toEqual([{ field: 'otp', message: '"otp" is not allowed' }]);
  });
});

describe('secondFactor with the code flow', () => {
  test('asked only after a right code; /verify { email, code } and code.exchange say secondFactor', async () => {
    const app = await sfApp({ code: { enabled: true, exchange: true } });
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await app.post('/reset', { email: ADA.email, code: wrongCode, password: GOOD_PASSWORD });
    expect(wrong.body.error.code).toBe('TOKEN_INVALID');
    const missing = await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD });
    expect([missing.status, missing.body]).toEqual([401, REQUIRED_BODY]);
    const bad = await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD, otp: WRONG_OTP });
    expect([bad.status, bad.body]).toEqual([401, INVALID_BODY]);
    expect(app.calls.verify).toEqual([{ userId: ADA.id, otp: WRONG_OTP }]);

    const traded = await app.post('/verify', { email: ADA.email, code });
    expect(traded.body).toEqual({
      success: true,
      valid: true,
      expiresAt: expect.any(String),
      kind: 'reset',
      token: expect.any(String),
      secondFactor: true,
    });
    const token = traded.body.token as string;
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD })).body).toEqual(REQUIRED_BODY);
    expect((await app.post('/reset', { token, password: GOOD_PASSWORD, otp: RIGHT_OTP })).status).toBe(200);
  });

  test('a right code refused for its otp keeps its code attempt: six refusals with code.maxAttempts 2', async () => {
    const app = await sfApp({ code: { enabled: true, maxAttempts: 2 } });
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    for (const otp of [undefined, undefined, undefined, '000001', '000002', '000003']) {
      const refused = await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD, otp });
      expect(refused.status).toBe(401);
    }
    expect((await app.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD, otp: RIGHT_OTP })).status).toBe(
      200,
    );
  });

  test('an unknown address answers and costs the store exactly like a known one with a wrong code', async () => {
    const store = new InstrumentedStore(new MemoryTokenStore());
    const app = await sfApp({ store, code: { enabled: true } }, { required: () => true });
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    const wrongCode = code === '000000' ? '111111' : '000000';
    const run = async (email: string) => {
      const from = store.calls.length;
      const verify = await app.post('/verify', { email, code: wrongCode });
      const reset = await app.post('/reset', { email, code: wrongCode, password: GOOD_PASSWORD, otp: RIGHT_OTP });
      return { answers: [verify.status, verify.text, reset.status, reset.text], calls: store.calls.slice(from) };
    };
    const known = await run(ADA.email);
    const unknown = await run('nobody@example.com');
    expect(unknown).toEqual(known);
    expect(known.answers[2]).toBe(400);
    expect(app.calls.required).toEqual([]);
    expect(app.calls.verify).toEqual([]);
  });
});

describe('secondFactor keeps the code flow timing parity', () => {
  /**
   * Paired, interleaved rounds: each round times an unknown address and a known one with a wrong code back to back
   * (in alternating order) and keeps their ratio, so a change of the machine's load (two cores, other suites) falls
   * on both halves of a pair; the median of the pairs is compared. The store takes 10 ms per call: one call skipped
   * for unknown addresses would put the ratio near 1.8.
   */
  test('with 10 ms per store call, a wrong code is timed within 0.8–1.25 of an unknown address', async () => {
    const rounds = 40;
    const warmup = 4;
    const store = new InstrumentedStore(new MemoryTokenStore());
    const users = caseUsers((rounds + warmup) * 2);
    const calls: Calls = { required: [], verify: [] };
    const app = await createApp({
      users: users.seed,
      options: {
        store,
        code: { enabled: true, maxAttempts: MAX_ATTEMPTS },
        secondFactor: secondFactorOf(calls, { required: () => true }),
      },
    });
    open.push(app);
    const next = await prepareCases(app, users);
    store.delayMs = 10;
    const timed = async (endpoint: CodeEndpoint, kind: CodeCase): Promise<number> => {
      const credential = next(kind);
      const start = performance.now();
      await sendCase(app, endpoint, credential);
      return performance.now() - start;
    };
    const ratios: Record<CodeEndpoint, number[]> = { verify: [], reset: [] };
    for (let round = 0; round < warmup + rounds; round += 1) {
      for (const endpoint of ['verify', 'reset'] as const) {
        const first: CodeCase = round % 2 ? 'unknown' : 'wrong code';
        const a = await timed(endpoint, first);
        const b = await timed(endpoint, first === 'unknown' ? 'wrong code' : 'unknown');
        const [unknown, wrong] = first === 'unknown' ? [a, b] : [b, a];
        if (round >= warmup) ratios[endpoint].push(wrong / unknown);
      }
    }
    const median = (values: number[]): number => [...values].sort((x, y) => x - y)[values.length >> 1]!;
    const medians = { verify: median(ratios.verify), reset: median(ratios.reset) };
    if (process.env.REPORT_TIMING) console.log(`secondFactor, 10 ms per store call: ${JSON.stringify(medians)}`);
    for (const ratio of Object.values(medians)) {
      expect(ratio).toBeGreaterThanOrEqual(0.8);
      expect(ratio).toBeLessThanOrEqual(1.25);
    }
    expect(calls.verify).toEqual([]);
  });
});

describe('secondFactor in the OpenAPI document', () => {
  test('otp, the 401 answers and /verify secondFactor are documented only with secondFactor', () => {
    const on = openApiDocument({ secondFactor: true, fields: { otp: ['totp'] } });
    const off = openApiDocument();
    const schemas = (doc: typeof on) => doc.components.schemas as Record<string, { properties: object }>;
    const responses = (doc: typeof on) =>
      (doc.paths['/reset'] as { post: { responses: Record<string, { content: object }> } }).post.responses;
    expect(schemas(on).ResetRequest!.properties).toHaveProperty('totp', expect.objectContaining({ type: 'string' }));
    expect(schemas(on).ResetRequest!.properties).not.toHaveProperty('otp');
    expect(schemas(off).ResetRequest!.properties).not.toHaveProperty('otp');
    expect(JSON.stringify(responses(on)['401'])).toContain('SECOND_FACTOR_REQUIRED');
    expect(JSON.stringify(responses(on)['401'])).toContain('SECOND_FACTOR_INVALID');
    expect(responses(off)['401']).toBeUndefined();
    expect(schemas(on).VerifyResult!.properties).toHaveProperty(
      'secondFactor',
      expect.objectContaining({ const: true }),
    );
    expect(schemas(off).VerifyResult!.properties).not.toHaveProperty('secondFactor');
    expect(JSON.stringify(off)).not.toContain('SECOND_FACTOR');
  });

  test('the real answers and an otp body conform to the document with secondFactor, not to the one without', async () => {
    const app = await sfApp();
    const token = await app.requestToken(ADA.email);
    const verify = (await app.post('/verify', { token })).body as object;
    const missing = (await app.post('/reset', { token, password: GOOD_PASSWORD })).body as object;
    const wrong = (await app.post('/reset', { token, password: GOOD_PASSWORD, otp: WRONG_OTP })).body as object;
    const conforms = (secondFactor: boolean, pointer: string, value: object): boolean => {
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema(openApiDocument({ secondFactor }), 'doc');
      return ajv.getSchema(`doc#${pointer}`)!(value) as boolean;
    };
    const answer401 = '/paths/~1reset/post/responses/401/content/application~1json/schema';
    for (const secondFactor of [true, false]) {
      expect(conforms(secondFactor, '/components/schemas/VerifyResult', verify)).toBe(secondFactor);
      expect(conforms(secondFactor, '/components/schemas/ResetRequest', { token, password: 'p', otp: '1' })).toBe(
        secondFactor,
      );
    }
    expect(conforms(true, answer401, missing)).toBe(true);
    expect(conforms(true, answer401, wrong)).toBe(true);
  });

  test("a router's /openapi.json follows its secondFactor option", async () => {
    const app = await sfApp({ openapi: true });
    const doc = await request(app.server).get('/auth/password/openapi.json');
    expect(doc.status).toBe(200);
    expect(JSON.stringify(doc.body)).toContain('SECOND_FACTOR_INVALID');
    expect(doc.body.components.schemas.ResetRequest.properties).toHaveProperty('otp');
  });
});

describe('secondFactor on the hosted pages (plain form posts, no JavaScript)', () => {
  const BASE = '/auth/password';
  const alertOf = (page: Page): string | undefined => page.doc.querySelector('[role=alert]')?.text;

  async function pagesApp(
    options: Partial<PasswordResetOptions> = {},
    overrides: Partial<SecondFactorOptions> = {},
  ): Promise<TestApp & { calls: Calls; client(): PageClient }> {
    const app = await sfApp({ pages: true, ...options }, overrides);
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return Object.assign(app, { client: () => new PageClient(origin) });
  }

  test('the link page shows the authentication code field only for an account that has a second factor', async () => {
    const app = await pagesApp();
    const ada = await app.client().get(`${BASE}/reset?token=${await app.requestToken(ADA.email)}`);
    const otp = ada.doc.querySelector('input[name=otp]');
    expect(otp).not.toBeNull();
    expect(otp!.getAttribute('autocomplete')).toBe('one-time-code');
    expect(otp!.getAttribute('inputmode')).toBe('numeric');
    expect(otp!.getAttribute('type')).toBe('text');
    expect(ada.doc.querySelector(`label[for=${otp!.getAttribute('id')}]`)!.text).toContain('Authentication code');
    const grace = await app.client().get(`${BASE}/reset?token=${await app.requestToken(GRACE.email)}`);
    expect(grace.status).toBe(200);
    expect(grace.doc.querySelector('input[type=password]')).not.toBeNull();
    expect(grace.doc.querySelector('input[name=otp]')).toBeNull();
  });

  test('missing and wrong codes are 401 pages with the translated message and the field; a right one resets', async () => {
    const app = await pagesApp({ pages: { locale: 'de' } });
    const client = app.client();
    const form = await client.get(`${BASE}/reset?token=${await app.requestToken(ADA.email)}`);
    const missing = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(missing.status).toBe(401);
    expect(fieldError(missing, 'otp')).toBe(
      'Fehler: Dieses Konto ist mit einem zweiten Faktor geschützt: Geben Sie den Code aus Ihrer Authenticator-App ein.',
    );
    const wrong = await client.submit(missing, { otp: WRONG_OTP, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(wrong.status).toBe(401);
    expect(fieldError(wrong, 'otp')).toBe(
      'Fehler: Der Authentifizierungscode stimmt nicht. Geben Sie den aktuellen Code aus Ihrer Authenticator-App ein.',
    );
    // Like passwords, the entered code is not put back into the page.
    expect(wrong.html).not.toContain(WRONG_OTP);
    expect(wrong.doc.querySelector('input[name=otp]')!.getAttribute('value')).toBeUndefined();
    const done = await client.submit(wrong, { otp: ` ${RIGHT_OTP} `, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.status).toBe(200);
    expect(app.users.updates.map((update) => update.id)).toEqual([ADA.id]);
    expect(app.calls.verify.map((call) => call.otp)).toEqual([WRONG_OTP, RIGHT_OTP]);
  });

  test.each([
    ['en', 'This account is protected by a second factor: enter the code from your authenticator app.'],
    ['fr', 'Ce compte est protégé par un second facteur : saisissez le code de votre application d’authentification.'],
  ])('the 401 message in %s, and a rejected password keeps the otp field', async (locale, text) => {
    const app = await pagesApp({ pages: { locale } });
    const client = app.client();
    const form = await client.get(`${BASE}/reset?token=${await app.requestToken(ADA.email)}`);
    const missing = await client.submit(form, { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(missing.status).toBe(401);
    expect(fieldError(missing, 'otp')).toContain(text);
    const weak = await client.submit(missing, { otp: RIGHT_OTP, password: 'password', confirm: 'password' });
    expect(weak.status).toBe(422);
    expect(weak.doc.querySelector('input[name=otp]')).not.toBeNull();
  });

  test('after a password mismatch the emptied authentication code field gets the focus', async () => {
    const app = await pagesApp();
    const client = app.client();
    const form = await client.get(`${BASE}/reset?token=${await app.requestToken(ADA.email)}`);
    const mismatch = await client.submit(form, { otp: RIGHT_OTP, password: GOOD_PASSWORD, confirm: 'something else' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.doc.querySelector('input[name=otp]')!.hasAttribute('autofocus')).toBe(true);
    expect(mismatch.html).not.toContain(RIGHT_OTP);
    expect(app.calls.verify).toEqual([]);
  });

  test('the last wrong code removes the link: the page then says it cannot be used', async () => {
    const app = await pagesApp({}, { maxAttempts: 2 });
    const client = app.client();
    let page = await client.get(`${BASE}/reset?token=${await app.requestToken(ADA.email)}`);
    page = await client.submit(page, { otp: WRONG_OTP, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(page.status).toBe(401);
    page = await client.submit(page, { otp: WRONG_OTP, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(page.status).toBe(400);
    expect(alertOf(page)).toContain('invalid or has already been used');
    expect(page.doc.querySelector('form')).toBeNull();
  });

  test('the code form asks for the authentication code after a right code, keeping the address', async () => {
    const app = await pagesApp({ code: { enabled: true } });
    const client = app.client();
    await app.forgot(ADA.email);
    const code = app.mailer.last(ADA.email)!.data.code!;
    const form = await client.get(`${BASE}/reset`);
    expect(form.doc.querySelector('input[name=otp]')).toBeNull();
    const fields = { email: ADA.email, code, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD };
    const asked = await client.submit(form, fields);
    expect(asked.status).toBe(401);
    expect(fieldError(asked, 'otp')).toContain('second factor');
    expect(asked.doc.querySelector('input[name=email]')!.getAttribute('value')).toBe(ADA.email);
    const done = await client.submit(asked, { ...fields, otp: RIGHT_OTP });
    expect(done.status).toBe(200);
  });

  test('the otp posted through a page never reaches events or logs', async () => {
    const otp = '424242';
    const app = await pagesApp({}, { verify: () => Promise.reject(new Error(`cannot check ${otp}`)) });
    const client = app.client();
    const form = await client.get(`${BASE}/reset?token=${await app.requestToken(ADA.email)}`);
    const failed = await client.submit(form, { otp, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(failed.status).toBe(503);
    expect(app.events.some((event) => event.type === 'error' && event.stage === 'secondFactor.verify')).toBe(true);
    expect(JSON.stringify([app.events, app.logs, failed.html])).not.toContain(otp);
  });
});
