/**
 * `code.exchange`: a right code at `/verify { email, code }` is traded for a new single-use token, valid for
 * `exchangeTtl` and never past the code's own expiry; the code and its emailed link stop working, and
 * `/reset { token, password }` completes the reset. Every guarantee of the code flow holds for it: single use (also
 * of the trade itself), counted attempts, the same store work for an unknown address as for a wrong code, answers
 * that say what happened when the store fails, and no secret in events or logs.
 */
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import {
  MemoryTokenStore,
  OptionsError,
  OutboxMailer,
  openApiDocument,
  passwordReset,
  type CodeOptions,
  type PasswordResetOptions,
  type TokenRecord,
  type TokenStore,
} from '../lib';
import { CODE_CASES, MAX_ATTEMPTS, caseUsers, prepareCases } from './helpers/code-cases';
import {
  ADA,
  GOOD_PASSWORD,
  MemoryUsers,
  createApp,
  deferred,
  manualClock,
  tokenOf,
  type TestApp,
} from './helpers/create-app';
import { InstrumentedStore } from './helpers/instrumented-store';
import { PageClient } from './helpers/page-client';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const MINUTE = 60_000;

async function exchangeApp(
  code: Partial<CodeOptions> = {},
  options: Partial<PasswordResetOptions> = {},
): Promise<TestApp> {
  return createApp({ options: { code: { enabled: true, exchange: true, ...code }, ...options } });
}

/** Requests a reset for Ada and returns the code and the token of the emailed link. */
async function requestCode(app: TestApp): Promise<{ code: string; link: string }> {
  await app.forgot(ADA.email);
  const message = app.mailer.last(ADA.email);
  const code = message?.data.code;
  if (code === undefined) throw new Error('no code in the email');
  return { code, link: tokenOf(message) };
}

function wrong(code: string, offset = 1): string {
  return ((Number(code) + offset) % 10 ** code.length).toString().padStart(code.length, '0');
}

class StoreTimeout extends Error {
  override name = 'DatabaseTimeoutError';
}

/**
 * A memory store whose `save` of a traded token (one without a code) or `claim` can be made to time out after the
 * write landed, as a database that was slow to answer does.
 */
class FlakyStore implements TokenStore {
  readonly inner: Required<TokenStore> = new MemoryTokenStore();
  failTradedSave = false;
  failClaim = false;
  failMarkDelivered = false;
  /** Saves of traded tokens wait for it: lets parallel requests all pass their checks before any of them claims. */
  tradedSaveGate: Promise<void> | undefined;
  /** Called with each traded save as it arrives. */
  onTradedSave: () => void = () => undefined;
  /** Called after each claim. */
  onClaim: () => void = () => undefined;

  async save(record: TokenRecord): Promise<void> {
    if (record.codeHash === undefined) {
      this.onTradedSave();
      await this.tradedSaveGate;
    }
    await this.inner.save(record);
    if (this.failTradedSave && record.codeHash === undefined) throw new StoreTimeout('save timed out');
  }
  async markDelivered(tokenHash: string): Promise<void> {
    if (this.failMarkDelivered) throw new TypeError('markDelivered refused');
    return this.inner.markDelivered(tokenHash);
  }
  find(tokenHash: string): Promise<TokenRecord | null> {
    return this.inner.find(tokenHash);
  }
  findByUser(userId: string): Promise<TokenRecord | null> {
    return this.inner.findByUser(userId);
  }
  async claim(tokenHash: string): Promise<boolean> {
    const claimed = await this.inner.claim(tokenHash);
    this.onClaim();
    if (this.failClaim) throw new StoreTimeout('claim timed out');
    return claimed;
  }
  revokeUser(userId: string): Promise<void> {
    return this.inner.revokeUser(userId);
  }
  takeAttempt(key: string, limit: number, expiresAt: Date): Promise<number | null> {
    return this.inner.takeAttempt(key, limit, expiresAt);
  }
  releaseAttempt(key: string, slot: number): Promise<void> {
    return this.inner.releaseAttempt(key, slot);
  }
  clearAttempts(key: string): Promise<void> {
    return this.inner.clearAttempts(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The test helper's instrumented store over a memory store (it records `markDelivered` too). */
class DeliveringStore extends InstrumentedStore {
  constructor() {
    super(new MemoryTokenStore());
  }
}

describe('code.exchange: a right code at /verify is traded for a new token', () => {
  test('the answer carries a new single-use token, and /reset { token, password } completes the reset', async () => {
    t = await exchangeApp();
    const { code, link } = await requestCode(t);
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect(traded.status).toBe(200);
    expect(traded.body).toEqual({
      success: true,
      valid: true,
      expiresAt: expect.any(String),
      kind: 'reset',
      token: expect.any(String),
    });
    const { token } = traded.body as { token: string };
    expect(token).toMatch(TOKEN);
    expect(token).not.toBe(link);

    // Checking the new token does not trade it again: the token answer has no `token`.
    const checked = await t.post('/verify', { token });
    expect(checked.body).toEqual({ success: true, valid: true, expiresAt: traded.body.expiresAt, kind: 'reset' });
    const reset = await t.post('/reset', { token, password: GOOD_PASSWORD });
    expect(reset.status).toBe(200);
    expect(t.users.updates).toEqual([{ id: ADA.id, passwordHash: expect.stringMatching(/^\$2b\$04\$/) }]);
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).body.error.code).toBe('TOKEN_INVALID');
  });

  test('after the trade, the code and the emailed link are dead on /verify and /reset', async () => {
    t = await exchangeApp();
    const { code, link } = await requestCode(t);
    const { token } = (await t.post('/verify', { email: ADA.email, code })).body as { token: string };
    const dead = [
      await t.post('/verify', { email: ADA.email, code }),
      await t.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD }),
      await t.post('/verify', { token: link }),
      await t.post('/reset', { token: link, password: GOOD_PASSWORD }),
    ];
    expect(dead.map((r) => [r.status, r.body.error?.code])).toEqual(Array(4).fill([400, 'TOKEN_INVALID']));
    expect(t.users.updates).toHaveLength(0);
    expect((await t.post('/reset', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('guarantee 2: of 10 parallel resets with the traded token exactly one succeeds', async () => {
    t = await exchangeApp();
    const { code } = await requestCode(t);
    const { token } = (await t.post('/verify', { email: ADA.email, code })).body as { token: string };
    const resets = await Promise.all(
      Array.from({ length: 10 }, () => t!.post('/reset', { token, password: GOOD_PASSWORD })),
    );
    expect(resets.filter((r) => r.status === 200)).toHaveLength(1);
    expect(resets.filter((r) => r.status === 400 && r.body.error.code === 'TOKEN_INVALID')).toHaveLength(9);
    expect(t.users.updates).toHaveLength(1);
  });

  test('guarantee 2: of 5 parallel trades of one code exactly one gets a token, and it works', async () => {
    const store = new FlakyStore();
    t = await exchangeApp({ maxAttempts: 5 }, { store });
    const { code } = await requestCode(t);
    // Every trade has checked the code before any of them claims: the race is real, not five requests in a row.
    const allChecked = deferred<void>();
    let saves = 0;
    store.onTradedSave = () => (saves += 1) === 5 && allChecked.resolve();
    store.tradedSaveGate = allChecked.promise;
    const trades = await Promise.all(Array.from({ length: 5 }, () => t!.post('/verify', { email: ADA.email, code })));
    const won = trades.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    expect(trades.filter((r) => r.status === 400 && r.body.error.code === 'TOKEN_INVALID')).toHaveLength(4);
    expect((await t.post('/reset', { token: won[0]!.body.token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('a reset by the emailed link that claims during a trade wins, and the trade answers no token', async () => {
    const store = new FlakyStore();
    t = await exchangeApp({}, { store });
    const { code, link } = await requestCode(t);
    // The trade has checked the code and waits to save its token until the reset has consumed the link.
    const linkClaimed = deferred<void>();
    store.onClaim = () => linkClaimed.resolve();
    store.tradedSaveGate = linkClaimed.promise;
    const [trade, reset] = await Promise.all([
      t.post('/verify', { email: ADA.email, code }),
      t.post('/reset', { token: link, password: GOOD_PASSWORD }),
    ]);
    expect([trade.status, trade.body.error?.code, trade.body.token]).toEqual([400, 'TOKEN_INVALID', undefined]);
    expect(reset.status).toBe(200);
    expect(t.users.updates).toHaveLength(1);
  });

  test('/reset { email, code, password } still works with exchange on (the hosted code form uses it)', async () => {
    t = await exchangeApp({}, { pages: true });
    const { code } = await requestCode(t);
    const client = new PageClient(`http://127.0.0.1:${(t.server.address() as AddressInfo).port}`);
    const form = await client.get(`${t.mountPath}/reset`);
    const done = await client.submit(form, { email: ADA.email, code, password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
    expect(done.status).toBe(200);
    expect(t.users.updates).toHaveLength(1);

    const next = await requestCode(t);
    const json = await t.post('/reset', { email: ADA.email, code: next.code, password: GOOD_PASSWORD });
    expect(json.status).toBe(200);
    expect(t.users.updates).toHaveLength(2);
  });
});

describe('code.exchangeTtl: the traded token lives exchangeTtl, never past the code', () => {
  test('a token traded early expires exchangeTtl after the trade', async () => {
    const clock = manualClock();
    t = await exchangeApp({ exchangeTtl: '10m' }, { now: clock.now, tokenTtl: '30m' });
    const { code } = await requestCode(t);
    clock.advance(2 * MINUTE);
    const traded = await t.post('/verify', { email: ADA.email, code });
    const tradedAt = clock.now().getTime();
    expect(Date.parse(traded.body.expiresAt)).toBe(tradedAt + 10 * MINUTE);
    clock.advance(10 * MINUTE - 1);
    expect((await t.post('/verify', { token: traded.body.token })).status).toBe(200);
    clock.advance(1);
    const late = await t.post('/reset', { token: traded.body.token, password: GOOD_PASSWORD });
    expect([late.status, late.body.error.code]).toEqual([400, 'TOKEN_EXPIRED']);
  });

  test("a token traded near the code's expiry expires with the code", async () => {
    const clock = manualClock();
    t = await exchangeApp({ exchangeTtl: '10m' }, { now: clock.now, tokenTtl: '30m' });
    const requestedAt = clock.now().getTime();
    const { code } = await requestCode(t);
    clock.advance(25 * MINUTE);
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect(Date.parse(traded.body.expiresAt)).toBe(requestedAt + 30 * MINUTE);
    clock.advance(5 * MINUTE);
    const late = await t.post('/reset', { token: traded.body.token, password: GOOD_PASSWORD });
    expect([late.status, late.body.error.code]).toEqual([400, 'TOKEN_EXPIRED']);
  });

  test('exchangeTtl defaults to 10 minutes', async () => {
    const clock = manualClock();
    t = await exchangeApp({}, { now: clock.now });
    const { code } = await requestCode(t);
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect(Date.parse(traded.body.expiresAt)).toBe(clock.now().getTime() + 10 * MINUTE);
  });
});

describe('guarantee 3: wrong codes are still counted and lock the code flow', () => {
  test('after maxAttempts wrong codes the right code trades nothing', async () => {
    t = await exchangeApp({ maxAttempts: 3 });
    const { code, link } = await requestCode(t);
    for (let i = 1; i <= 3; i += 1) await t.post('/verify', { email: ADA.email, code: wrong(code, i) });
    const locked = await t.post('/verify', { email: ADA.email, code });
    expect(locked.status).toBe(400);
    expect(locked.body).toEqual({ success: false, error: expect.objectContaining({ code: 'TOKEN_INVALID' }) });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'code.locked', userId: ADA.id }));
    expect(t.events.some((e) => e.type === 'code.exchanged')).toBe(false);
    // The lock never blocks the emailed link.
    expect((await t.post('/verify', { token: link })).status).toBe(200);
  });

  test('the traded code, tried again, counts as a wrong guess', async () => {
    t = await exchangeApp({ maxAttempts: 2 });
    const { code } = await requestCode(t);
    expect((await t.post('/verify', { email: ADA.email, code })).status).toBe(200);
    await t.post('/verify', { email: ADA.email, code });
    await t.post('/verify', { email: ADA.email, code });
    const reasons = t.events.flatMap((e) => (e.type === 'verify.failed' ? [e.reason] : []));
    expect(reasons).toEqual(['wrong_code', 'wrong_code']);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'code.locked', userId: ADA.id }));
  });
});

describe('guarantee 1: with exchange on, { email, code } costs the same store work whether or not the account exists', () => {
  test('every failing case makes the same token-store and user-store calls on /verify and /reset', async () => {
    const store = new DeliveringStore();
    const users = caseUsers(4);
    t = await createApp({
      users: users.seed,
      options: { store, code: { enabled: true, exchange: true, maxAttempts: MAX_ATTEMPTS } },
    });
    const app = t;
    const next = await prepareCases(app, users);
    const lookups = jest.spyOn(app.users, 'findByEmail');
    for (const endpoint of ['verify', 'reset'] as const) {
      const work: Record<string, { store: string[]; userLookups: number; answer: unknown }> = {};
      for (const kind of CODE_CASES) {
        const from = store.calls.length;
        lookups.mockClear();
        const credential = next(kind);
        const body = endpoint === 'reset' ? { ...credential, password: GOOD_PASSWORD } : credential;
        const response = await app.post(`/${endpoint}`, body);
        work[kind] = {
          store: store.calls.slice(from),
          userLookups: lookups.mock.calls.length,
          answer: [response.status, response.body],
        };
      }
      const same = work['wrong code']!;
      expect(same.store).toEqual(['takeAttempt', 'findByUser']);
      expect({ endpoint, ...work }).toEqual({
        endpoint,
        ...Object.fromEntries(CODE_CASES.map((kind) => [kind, same])),
      });
    }
    // The wrong-code users do hold a live code, delivered: the cases are what they say they are.
    expect(await store.findByUser(users.wrongCode[0]!.id)).toMatchObject({ codeHash: expect.any(String) });
  });
});

describe('guarantee 9: a trade the store fails answers 503 and leaves the code usable', () => {
  test('a save that times out (and landed) answers 503; the code, the link and the attempt are intact', async () => {
    const store = new FlakyStore();
    t = await exchangeApp({ maxAttempts: 1 }, { store });
    const { code, link } = await requestCode(t);
    store.failTradedSave = true;
    const failed = await t.post('/verify', { email: ADA.email, code });
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(failed.body.token).toBeUndefined();
    store.failTradedSave = false;

    // The landed token was never marked delivered: it took nothing from the user.
    expect((await t.post('/verify', { token: link })).status).toBe(200);
    // With one attempt allowed, a spent slot would lock the code now.
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect(traded.status).toBe(200);
    expect((await t.post('/reset', { token: traded.body.token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  test('a claim that times out after it landed answers 503, and the code is put back', async () => {
    const store = new FlakyStore();
    t = await exchangeApp({}, { store });
    const { code } = await requestCode(t);
    store.failClaim = true;
    const from = t.events.length;
    const failed = await t.post('/verify', { email: ADA.email, code });
    expect(failed.status).toBe(503);
    store.failClaim = false;
    await t.waitForEvent((e) => e.type === 'token.restored', from);
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect(traded.status).toBe(200);
    expect(traded.body.token).toMatch(TOKEN);
  });

  test('a refused delivery mark after the claim still answers the token (it works by its hash)', async () => {
    const store = new FlakyStore();
    t = await exchangeApp({}, { store });
    const { code, link } = await requestCode(t);
    store.failMarkDelivered = true;
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect(traded.status).toBe(200);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'error', stage: 'store' }));
    expect((await t.post('/verify', { token: link })).status).toBe(400);
    expect((await t.post('/reset', { token: traded.body.token, password: GOOD_PASSWORD })).status).toBe(200);
  });
});

describe('guarantee 7: the trade is an event without the token or code', () => {
  test('code.exchanged names the user; no event or log line holds the code, link or traded token', async () => {
    t = await exchangeApp();
    const { code, link } = await requestCode(t);
    await t.post('/verify', { email: ADA.email, code: wrong(code) });
    const traded = await t.post('/verify', { email: ADA.email, code });
    await t.post('/reset', { token: traded.body.token, password: GOOD_PASSWORD });
    const exchanged = t.events.filter((e) => e.type === 'code.exchanged');
    expect(exchanged).toEqual([
      { type: 'code.exchanged', userId: ADA.id, ip: expect.any(String), at: expect.any(Date) },
    ]);
    const seen = JSON.stringify([t.events, t.logs]);
    for (const secret of [code, link, traded.body.token as string]) expect(seen).not.toContain(secret);
  });
});

describe('the OpenAPI document describes the traded token', () => {
  test('with exchange, VerifyResult has an optional token, and a real trade matches it; without, it has none', async () => {
    const withExchange = openApiDocument({ code: { exchange: true } });
    const schemas = withExchange.components.schemas as Record<string, { properties: object; required: string[] }>;
    expect(schemas.VerifyResult!.properties).toHaveProperty('token');
    expect(schemas.VerifyResult!.required).not.toContain('token');
    expect(withExchange.info.description).toContain('traded');
    const plain = openApiDocument({ code: true }).components.schemas as Record<string, { properties: object }>;
    expect(plain.VerifyResult!.properties).not.toHaveProperty('token');

    t = await exchangeApp({}, { openapi: true });
    const served = (await fetchJson(t, '/openapi.json')) as {
      components: { schemas: Record<string, unknown> };
    };
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(served.components.schemas.VerifyResult as object);
    const { code } = await requestCode(t);
    const traded = await t.post('/verify', { email: ADA.email, code });
    expect({ valid: validate(traded.body), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(validate({ ...traded.body, extra: 1 })).toBe(false);
  });
});

async function fetchJson(app: TestApp, path: string): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}${app.mountPath}${path}`);
  return response.json();
}

describe('code.exchange and code.exchangeTtl: bad options fail at construction', () => {
  const base = (): PasswordResetOptions => ({
    users: new MemoryUsers([ADA]),
    resetUrl: 'https://app.example/reset',
    mailer: new OutboxMailer({ logger: false }),
    logger: false,
  });
  const failure = (options: Partial<PasswordResetOptions>): OptionsError => {
    try {
      void passwordReset({ ...base(), ...options }).close();
    } catch (error) {
      if (error instanceof OptionsError) return error;
      throw error;
    }
    throw new Error('built without an OptionsError');
  };

  test.each([
    [{ enabled: true, exchange: 'yes' }, 'code.exchange', 'ERR_EPR_OPTION_INVALID', 'must be true or false'],
    [
      { enabled: true, exchange: true, exchangeTtl: '10 minutes' },
      'code.exchangeTtl',
      'ERR_EPR_OPTION_INVALID',
      "must be milliseconds or a string like '30m'",
    ],
    [{ enabled: true, exchange: true, exchangeTtl: 0 }, 'code.exchangeTtl', 'ERR_EPR_OPTION_INVALID', 'from 1 ms'],
    [{ enabled: false, exchange: true }, 'code.exchange', 'ERR_EPR_OPTION_CONFLICT', 'without code.enabled: true'],
    [{ enabled: true, exchangeTtl: '5m' }, 'code.exchangeTtl', 'ERR_EPR_OPTION_CONFLICT', 'without code.exchange'],
    [{ enabled: true, exchanges: true }, 'code.exchanges', 'ERR_EPR_OPTION_INVALID', 'exchange, exchangeTtl'],
  ])('code: %j names %s', (code, option, errorCode, message) => {
    const error = failure({ code: code as never });
    expect(error).toMatchObject({ option, code: errorCode });
    expect(error.message).toContain(`option "${option}"`);
    expect(error.message).toContain(message);
  });

  test('a store without markDelivered (written for 0.1) is refused with exchange on', () => {
    const inner: TokenStore = new MemoryTokenStore();
    const oldStore: TokenStore = {
      save: (record) => inner.save(record),
      find: (hash) => inner.find(hash),
      findByUser: (id) => inner.findByUser(id),
      claim: (hash) => inner.claim(hash),
      revokeUser: (id) => inner.revokeUser(id),
      takeAttempt: (key, limit, at) => inner.takeAttempt(key, limit, at),
      releaseAttempt: (key, slot) => inner.releaseAttempt(key, slot),
      clearAttempts: (key) => inner.clearAttempts(key),
      close: () => inner.close(),
    };
    const error = failure({ store: oldStore, secret: 'x'.repeat(32), code: { enabled: true, exchange: true } });
    expect(error).toMatchObject({ option: 'code.exchange', code: 'ERR_EPR_OPTION_CONFLICT' });
    expect(error.message).toContain('markDelivered()');
    expect(() =>
      passwordReset({ ...base(), store: oldStore, secret: 'x'.repeat(32), code: { enabled: true } }).close(),
    ).not.toThrow();
  });
});
