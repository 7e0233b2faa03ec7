/**
 * `minStrength`'s cost per request: the policy check as it runs (zxcvbn on the first `SCORED_CHARACTERS`) against
 * zxcvbn on the whole password (what 0.1 did), for a 64- and a 1,000-character password of each kind.
 */
import { randomBytes } from 'node:crypto';
import { zxcvbn } from '@zxcvbn-ts/core';
import { findPasswordProblems, type ResolvedPasswordPolicy } from '../../lib/core/password-policy';

export interface ScoringFigure {
  kind: string;
  length: number;
  /** The policy check with `minStrength`, ms per call. */
  policyMs: number;
  /** zxcvbn on the whole password, ms per call. */
  wholeMs: number;
}

const KINDS: Record<string, (length: number) => string> = {
  random: (length) => randomBytes(length).toString('base64url').slice(0, length),
  'keyboard walk': (length) => 'qwertyuiop1234567890'.repeat(length).slice(0, length),
};

const POLICY: ResolvedPasswordPolicy = { minLength: 8, maxLength: 1024, minStrength: 3, blockCommon: true };
const USER = { id: 'u1', email: 'bench@bench.example' };

async function msPerCall(run: () => unknown, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) await run();
  return (performance.now() - started) / count;
}

export async function measureScoring(): Promise<ScoringFigure[]> {
  await findPasswordProblems(POLICY, 'warm up the dictionaries', USER);
  const figures: ScoringFigure[] = [];
  for (const [kind, make] of Object.entries(KINDS)) {
    for (const length of [64, 1000]) {
      const password = make(length);
      const policyMs = await msPerCall(() => findPasswordProblems(POLICY, password, USER), 20);
      const wholeMs = await msPerCall(() => zxcvbn(password, [USER.email]), length > 64 ? 1 : 5);
      figures.push({ kind, length, policyMs, wholeMs });
    }
  }
  return figures;
}
