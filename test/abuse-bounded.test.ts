/**
 * Guarantee 10, abuse bounded: an address is counted however it is spelled (invisible characters refused, NFKC and
 * case folded, the per-email limit also per account after the lookup, unknown-address notices per mailbox), and a
 * flood of `/forgot` from one client cannot crowd out another client's request.
 */
import type { AddressInfo } from 'node:net';
import type { RateLimitOptions, User } from '../lib';
import { BackgroundWork } from '../lib/core/background-work';
import { DROP_LOG_INTERVAL_MS, DropLog } from '../lib/core/drop-log';
import { mailboxKey, normalizeEmail } from '../lib/core/email-address';
import { MAX_PENDING_PER_CLIENT } from '../lib/options/defaults';
import { ADA, createApp, deferred, GOOD_PASSWORD, GRACE, MemoryUsers, type TestApp } from './helpers/create-app';
import { fieldError, PageClient } from './helpers/page-client';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const PER_EMAIL_5: RateLimitOptions = {
  forgot: false,
  verify: false,
  reset: false,
  perEmail: { windowMs: 60 * 60_000, limit: 5 },
};

/**
 * Matches like a MongoDB collation at strength 1 (ICU): case, width and accents ignored. It finds one account under
 * spellings that the router's own NFKC and case folding keeps apart.
 */
class CollationUsers extends MemoryUsers {
  readonly lookups: string[] = [];

  override async findByEmail(email: string): Promise<User | null> {
    this.lookups.push(email);
    const fold = (value: string): string =>
      value.normalize('NFKD').replace(/\p{M}/gu, '').normalize('NFKC').toLowerCase();
    const user = this.users.find((candidate) => fold(candidate.email) === fold(email));
    return user ? { id: user.id, email: user.email, name: user.name } : null;
  }
}

/** Spellings of ada@example.com that fold to it under NFKC and case folding. */
const FOLDING_SPELLINGS = [
  'ada@example.com',
  'Ada@example.com',
  'ADA@example.com',
  'aDa@Example.com',
  'adA@EXAMPLE.COM',
  'ａｄａ@example.com',
  'Ａｄａ@example.com',
  'ａda@example.com',
  'adａ@example.com',
  'ada@ｅxample.com',
  'ada@exａmple.com',
  'ＡＤＡ@ＥＸＡＭＰＬＥ.com',
];
/** Spellings a strength-1 collation finds as ada@example.com but folding does not merge. */
const ACCENTED_SPELLINGS = [
  'áda@example.com',
  'àda@example.com',
  'âda@example.com',
  'äda@example.com',
  'ãda@example.com',
  'åda@example.com',
  'adá@example.com',
  'adà@example.com',
  'adä@example.com',
  'aďa@example.com',
  'ÁDA@example.com',
  'ada@éxample.com',
  'ada@exámple.com',
];

describe('guarantee 10: one account gets at most perEmail.limit reset emails however its address is spelled', () => {
  test(`${FOLDING_SPELLINGS.length + ACCENTED_SPELLINGS.length} spellings against a limit of 5: 5 emails`, async () => {
    const users = new CollationUsers([ADA, GRACE]);
    t = await createApp({ options: { users, rateLimit: PER_EMAIL_5 } });
    const spellings = [...FOLDING_SPELLINGS, ...ACCENTED_SPELLINGS];
    for (const spelling of spellings) expect((await t.forgot(spelling)).status).toBe(202);

    const resets = t.mailer.messages.filter((message) => message.kind === 'reset');
    expect(resets.map((message) => message.to)).toEqual(Array(5).fill(ADA.email));
    const limited = t.events.filter((event) => event.type === 'rate_limited' && event.limiter === 'perEmail');
    expect(limited).toHaveLength(spellings.length - 5);
    // The count is the account's: another account is not held back by it.
    await t.forgot('GRACE@example.com');
    expect(t.mailer.messages.filter((message) => message.to === GRACE.email)).toHaveLength(1);
  });

  test('spellings that fold to one address are counted before the user store is asked', async () => {
    const users = new CollationUsers([ADA, GRACE]);
    t = await createApp({ options: { users, rateLimit: PER_EMAIL_5 } });
    for (const spelling of FOLDING_SPELLINGS) await t.forgot(spelling);
    expect(users.lookups).toHaveLength(5);
    expect(new Set(FOLDING_SPELLINGS.map(normalizeEmail))).toEqual(new Set([ADA.email]));
  });
});

/** Spellings that a mail provider such as Gmail delivers to one inbox (none of them has an account). */
const VICTIM_INBOX = [
  'victim@gmail.com',
  'Victim@gmail.com',
  'VICTIM@GMAIL.COM',
  'ｖｉｃｔｉｍ@gmail.com',
  'victim@ｇmail.com',
  'v.ictim@gmail.com',
  'vi.ctim@gmail.com',
  'vic.tim@gmail.com',
  'vict.im@gmail.com',
  'victi.m@gmail.com',
  'v.i.c.t.i.m@gmail.com',
  'victim+1@gmail.com',
  'victim+2@gmail.com',
  'victim+news@gmail.com',
  'Victim+Shop@Gmail.com',
  'v.ictim+3@gmail.com',
  'victim@googlemail.com',
  'vic.tim@googlemail.com',
  'victim+4@googlemail.com',
  'victim-5@gmail.com',
  'victim=6@gmail.com',
  'ｖictim+7@gmail.com',
  'vi.ctim+8@GMAIL.com',
  'victim+9@gmail.com',
  'victim+10@gmail.com',
];

describe('guarantee 10: notifyUnknown cannot mail-bomb one inbox through spelling variants', () => {
  test(`${VICTIM_INBOX.length} spellings of one inbox against a limit of 5: 5 "no account here" notices`, async () => {
    t = await createApp({ options: { rateLimit: PER_EMAIL_5, emails: { notifyUnknown: true } } });
    for (const spelling of VICTIM_INBOX) expect((await t.forgot(spelling)).status).toBe(202);
    expect(t.mailer.messages.filter((message) => message.kind === 'unknown')).toHaveLength(5);
    expect(new Set(VICTIM_INBOX.map(mailboxKey))).toEqual(new Set(['victim@gmail.com']));
    // Another inbox at the same provider is counted on its own.
    await t.forgot('someone.else@gmail.com');
    expect(t.mailer.last('someone.else@gmail.com')?.kind).toBe('unknown');
  });
});

/** Invisible, control and format characters; each would be one more spelling of an address for a lenient store. */
const INVISIBLES: [string, string][] = [
  ['U+00AD soft hyphen', '\u00ad'],
  ['U+200B zero width space', '\u200b'],
  ['U+200C zero width non-joiner', '\u200c'],
  ['U+200D zero width joiner', '\u200d'],
  ['U+200E left-to-right mark', '\u200e'],
  ['U+200F right-to-left mark', '\u200f'],
  ['U+2060 word joiner', '\u2060'],
  ['U+2061 function application', '\u2061'],
  ['U+2062 invisible times', '\u2062'],
  ['U+2063 invisible separator', '\u2063'],
  ['U+2064 invisible plus', '\u2064'],
  ['U+FEFF byte order mark', '\ufeff'],
  ['U+202A left-to-right embedding', '\u202a'],
  ['U+202E right-to-left override', '\u202e'],
  ['U+2066 left-to-right isolate', '\u2066'],
  ['U+2069 pop directional isolate', '\u2069'],
  ['U+061C arabic letter mark', '\u061c'],
  ['U+180E mongolian vowel separator', '\u180e'],
  ['U+034F combining grapheme joiner', '\u034f'],
  ['U+FE0F variation selector 16', '\ufe0f'],
  ['U+3164 hangul filler', '\u3164'],
  ['U+00A0 no-break space', '\u00a0'],
  ['U+3000 ideographic space', '\u3000'],
  ['U+0085 next line (a C1 control)', '\u0085'],
  ['U+E000 private use', '\ue000'],
];

function expectInvisibleRefused(response: { status: number; body: unknown }): void {
  expect(response.status).toBe(400);
  expect(response.body).toEqual({
    success: false,
    error: {
      code: 'VALIDATION_FAILED',
      message: expect.any(String),
      details: expect.arrayContaining([
        { field: 'email', message: expect.stringMatching(/must not contain invisible or control characters/) },
      ]),
    },
  });
}

describe('guarantee 10: addresses with invisible or control characters are refused with 400', () => {
  test.each(INVISIBLES)('%s, in the local part and in the domain, on /forgot', async (_name, character) => {
    const users = new CollationUsers([ADA]);
    t = await createApp({ options: { users } });
    expectInvisibleRefused(await t.post('/forgot', { email: `a${character}da@example.com` }));
    expectInvisibleRefused(await t.post('/forgot', { email: `ada@exam${character}ple.com` }));
    expect(users.lookups).toEqual([]);
  });

  test.each(INVISIBLES)('%s on /verify and /reset with { email, code }', async (_name, character) => {
    const users = new CollationUsers([ADA]);
    t = await createApp({ options: { users, code: { enabled: true } } });
    const email = `ad${character}a@example.com`;
    expectInvisibleRefused(await t.post('/verify', { email, code: '123456' }));
    expectInvisibleRefused(await t.post('/reset', { email, code: '123456', password: GOOD_PASSWORD }));
    expect(users.lookups).toEqual([]);
  });

  test('the hosted forgot form and code form answer 400 with the address field marked', async () => {
    const users = new CollationUsers([ADA]);
    let origin = '';
    t = await createApp({
      options: { users, pages: true, code: { enabled: true }, resetUrl: (token) => `${origin}/r?token=${token}` },
    });
    origin = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    const client = new PageClient(origin);
    const forgotPage = await client.submit(await client.get(`${t.mountPath}/forgot`), {
      email: 'ada\u200b@example.com',
    });
    expect(forgotPage.status).toBe(400);
    expect(fieldError(forgotPage, 'email')).toEqual(expect.any(String));
    const codePage = await client.submit(await client.get(`${t.mountPath}/reset`), {
      email: 'a\u00adda@example.com',
      code: '123456',
      password: GOOD_PASSWORD,
      confirm: GOOD_PASSWORD,
    });
    expect(codePage.status).toBe(400);
    expect(fieldError(codePage, 'email')).toEqual(expect.any(String));
    expect(users.lookups).toEqual([]);
  });
});

describe('guarantee 10: parallel resets with one code cost one hash however the address is spelled', () => {
  test('four spellings of one address, one right code, at once: one password hash', async () => {
    const users = new CollationUsers([ADA]);
    let hashes = 0;
    const hashPassword = async (password: string): Promise<string> => {
      hashes += 1;
      // Slow enough that the four would overlap if nothing ran them one after another.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return `hashed:${password.length}`;
    };
    t = await createApp({ options: { users, bcryptRounds: undefined, hashPassword, code: { enabled: true } } });
    await t.forgot(ADA.email);
    const code = t.mailer.last(ADA.email)!.data.code!;
    const spellings = ['ada@example.com', 'ADA@EXAMPLE.COM', 'ａｄａ@example.com', 'Ａda@ｅxample.com'];
    const answers = await Promise.all(
      spellings.map((email) => t!.post('/reset', { email, code, password: GOOD_PASSWORD })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400, 400, 400]);
    expect(hashes).toBe(1);
  });
});

describe("guarantee 10: a flood from one client cannot crowd out another client's request", () => {
  test('1,300 /forgot from one IP while lookups hang, then one from another IP: that one is emailed', async () => {
    const lookupsHang = deferred<void>();
    class SlowUsers extends MemoryUsers {
      override async findByEmail(email: string): Promise<User | null> {
        // Lookups that take as long as the test wants: the flood's work stays in progress until it says so.
        if (email !== GRACE.email) await lookupsHang.promise;
        return super.findByEmail(email);
      }
    }
    const users = new SlowUsers([ADA, GRACE]);
    t = await createApp({ options: { users }, configure: (app) => app.set('trust proxy', 1) });
    const flood = Array.from({ length: 1300 }, (_, i) => `flood${i}@example.com`);
    for (let i = 0; i < flood.length; i += 100) {
      const batch = flood.slice(i, i + 100);
      const answers = await Promise.all(
        batch.map((email) => t!.post('/forgot', { email }).set('X-Forwarded-For', '203.0.113.7')),
      );
      expect(answers.every((answer) => answer.status === 202)).toBe(true);
    }
    const graceAnswer = await t.post('/forgot', { email: GRACE.email }).set('X-Forwarded-For', '198.51.100.9');
    expect(graceAnswer.status).toBe(202);
    await t.waitForEvent((event) => event.type === 'email.sent' && event.to === GRACE.email);

    lookupsHang.resolve();
    // close() waits for every piece of background work, and writes the log line of drops still counted.
    const app = t;
    t = undefined;
    await app.close();
    const drops = app.events.filter((event) => event.type === 'error' && event.error.name === 'OverloadedError');
    expect(drops).toHaveLength(1300 - MAX_PENDING_PER_CLIENT);
    expect(drops[0]).toEqual(
      expect.objectContaining({ type: 'error', stage: 'forgot', ip: '203.0.113.7', error: expect.any(Object) }),
    );
    expect(drops.every((event) => event.ip === '203.0.113.7')).toBe(true);
    const lines = app.logs.filter((line) => line.message.includes('/forgot overloaded'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // A line at the first drop, the rest counted into the line close() writes: together, every drop.
    const counted = lines.map((line) => Number(/dropped (\d+) request/.exec(line.message)?.[1]));
    expect(counted.reduce((sum, count) => sum + count, 0)).toBe(1300 - MAX_PENDING_PER_CLIENT);
    for (const line of lines) {
      expect(line.level).toBe('warn');
      expect(line.message).not.toMatch(/@|203\.0\.113|\n/);
    }
  });

  test('a client with nothing in progress is dropped only once the total is used up by many clients', async () => {
    const perClient = 3;
    const work = new BackgroundWork(9, perClient);
    const releases: (() => void)[] = [];
    const hanging = (): Promise<void> => new Promise<void>((resolve) => releases.push(resolve));
    for (let i = 0; i < perClient; i += 1) expect(work.startSoon(hanging, 'a')).toBe('started');
    expect(work.startSoon(hanging, 'a')).toBe('client_full');
    for (const client of ['b', 'c']) for (let i = 0; i < perClient; i += 1) work.startSoon(hanging, client);
    expect(work.startSoon(hanging, 'd')).toBe('dropped');
    expect(work.clients).toBe(3);

    await new Promise((resolve) => setImmediate(resolve));
    releases.splice(0).forEach((release) => release());
    await work.settled();
    // Counters go at zero: however many clients came, the map holds only those with work in progress.
    expect(work.clients).toBe(0);
    expect(work.startSoon(hanging, 'd')).toBe('started');
    await new Promise((resolve) => setImmediate(resolve));
    releases.splice(0).forEach((release) => release());
    await work.settled();
  });

  test('a flood of drops writes the log at most once per interval, every drop counted in some line', () => {
    jest.useFakeTimers();
    try {
      const lines: string[] = [];
      const log = new DropLog({ warn: (line) => lines.push(line), info: () => undefined }, { limit: 9, perClient: 3 });
      for (let i = 0; i < 1000; i += 1) log.dropped(i % 4 === 0 ? 'dropped' : 'client_full');
      expect(lines).toHaveLength(1);
      jest.advanceTimersByTime(DROP_LOG_INTERVAL_MS);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain(
        'dropped 999 requests (750 from clients that had 3 in progress, 249 with 9 in progress',
      );
      // A quiet interval ends the window: the next drop is logged at once.
      jest.advanceTimersByTime(DROP_LOG_INTERVAL_MS);
      expect(lines).toHaveLength(2);
      log.dropped('dropped');
      expect(lines).toHaveLength(3);
      log.close();
      expect(lines).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
