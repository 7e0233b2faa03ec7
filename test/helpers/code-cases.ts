/**
 * The four ways `{ email, code }` fails, which guarantee 1 says must look alike: an address without an account, a
 * wrong code, an account without a live code and a locked account. Builds the users and codes for them, and times
 * them against each other in interleaved rounds (each round runs every case once, in a rotating order, so drift of
 * the machine's load falls on all cases alike).
 */
import { performance } from 'node:perf_hooks';
import type { SeedUser, TestApp } from './create-app';

export const CODE_CASES = ['unknown', 'wrong code', 'no live code', 'locked'] as const;
export type CodeCase = (typeof CODE_CASES)[number];
export type CodeEndpoint = 'verify' | 'reset';

/** `code.maxAttempts` of the timing apps: the most allowed, so a pool user serves many rounds before it locks. */
export const MAX_ATTEMPTS = 20;
/** Requests per pool user, under MAX_ATTEMPTS so a "wrong code" user never turns into a "locked" one. */
const USES_PER_USER = MAX_ATTEMPTS - 2;

export interface CaseUsers {
  /** Every user to seed the app with. */
  seed: SeedUser[];
  wrongCode: SeedUser[];
  noLiveCode: SeedUser[];
  locked: SeedUser;
}

/** Enough users for `requests` requests per case. */
export function caseUsers(requests: number): CaseUsers {
  const pool = Math.ceil(requests / USES_PER_USER);
  const make = (label: string, i: number): SeedUser => ({ id: `${label}-${i}`, email: `${label}-${i}@example.com` });
  const wrongCode = Array.from({ length: pool }, (_, i) => make('wrong', i));
  const noLiveCode = Array.from({ length: pool }, (_, i) => make('nocode', i));
  const locked = make('locked', 0);
  return { seed: [...wrongCode, ...noLiveCode, locked], wrongCode, noLiveCode, locked };
}

/** A code of the same length that is not `code`. */
export function otherCode(code: string): string {
  return ((Number(code) + 1) % 10 ** code.length).toString().padStart(code.length, '0');
}

async function codeOf(t: TestApp, email: string): Promise<string> {
  await t.forgot(email);
  const code = t.mailer.last(email)?.data.code;
  if (code === undefined) throw new Error(`no code emailed to ${email}`);
  return code;
}

/** Requests the codes, locks the locked user, and returns the credential of each case's next request. */
export async function prepareCases(
  t: TestApp,
  users: CaseUsers,
): Promise<(kind: CodeCase) => { email: string; code: string }> {
  const wrongCodes = new Map<string, string>();
  for (const user of users.wrongCode) wrongCodes.set(user.email, otherCode(await codeOf(t, user.email)));
  const lockedCode = otherCode(await codeOf(t, users.locked.email));
  for (let i = 0; i < MAX_ATTEMPTS; i += 1) {
    const response = await t.post('/verify', { email: users.locked.email, code: lockedCode });
    if (response.status !== 400) throw new Error(`locking answered ${response.status}`);
  }
  const used: Record<CodeCase, number> = { unknown: 0, 'wrong code': 0, 'no live code': 0, locked: 0 };
  const pick = (pool: SeedUser[], n: number): string => pool[Math.floor(n / USES_PER_USER)]!.email;
  return (kind) => {
    const n = used[kind];
    used[kind] += 1;
    switch (kind) {
      case 'unknown':
        return { email: `nobody-${n}@example.com`, code: '123456' };
      case 'wrong code': {
        const email = pick(users.wrongCode, n);
        return { email, code: wrongCodes.get(email)! };
      }
      case 'no live code':
        return { email: pick(users.noLiveCode, n), code: '123456' };
      case 'locked':
        return { email: users.locked.email, code: lockedCode };
    }
  };
}

/** Sends one failing `{ email, code }` request; throws unless it is the uniform 400 TOKEN_INVALID. */
export async function sendCase(
  t: TestApp,
  endpoint: CodeEndpoint,
  credential: { email: string; code: string },
): Promise<void> {
  const body = endpoint === 'reset' ? { ...credential, password: 'correct horse battery staple' } : credential;
  const response = await t.post(`/${endpoint}`, body);
  if (response.status !== 400 || response.body?.error?.code !== 'TOKEN_INVALID') {
    throw new Error(`${endpoint} answered ${response.status} ${JSON.stringify(response.body)}`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Median answer time of each case divided by that of the unknown address, per endpoint, over `rounds` interleaved
 * rounds after `warmup` rounds that are not counted.
 */
export async function timingRatios(
  t: TestApp,
  next: (kind: CodeCase) => { email: string; code: string },
  rounds: number,
  warmup: number,
): Promise<Record<CodeEndpoint, Record<CodeCase, number>> & { medianMs: Record<CodeEndpoint, number> }> {
  const endpoints: CodeEndpoint[] = ['verify', 'reset'];
  const times = Object.fromEntries(
    endpoints.map((endpoint) => [endpoint, Object.fromEntries(CODE_CASES.map((kind) => [kind, [] as number[]]))]),
  ) as Record<CodeEndpoint, Record<CodeCase, number[]>>;
  for (let round = 0; round < warmup + rounds; round += 1) {
    for (let i = 0; i < CODE_CASES.length; i += 1) {
      const kind = CODE_CASES[(round + i) % CODE_CASES.length]!;
      for (const endpoint of round % 2 ? endpoints : [...endpoints].reverse()) {
        const credential = next(kind);
        const start = performance.now();
        await sendCase(t, endpoint, credential);
        if (round >= warmup) times[endpoint][kind].push(performance.now() - start);
      }
    }
  }
  const ratios = {} as Record<CodeEndpoint, Record<CodeCase, number>>;
  const medianMs = {} as Record<CodeEndpoint, number>;
  for (const endpoint of endpoints) {
    const base = median(times[endpoint].unknown);
    medianMs[endpoint] = base;
    ratios[endpoint] = Object.fromEntries(
      CODE_CASES.map((kind) => [kind, median(times[endpoint][kind]) / base]),
    ) as Record<CodeCase, number>;
  }
  return { ...ratios, medianMs };
}
