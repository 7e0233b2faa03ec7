/**
 * The README says the `express-password-reset/testing` conformance suite is framework-free: besides jest
 * (test/store-conformance.test.ts) it runs under Node's own runner, `node:test`, and fails there for a broken store.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tokenStoreConformance } from '../lib/testing';

const CASES = tokenStoreConformance({ createSubject: () => Promise.reject(new Error('not run')) }).length;

function underNodeTest(env: NodeJS.ProcessEnv = {}): { status: number | null; pass: number; fail: number } {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/support/conformance-under-node-test.ts'],
    { cwd: join(__dirname, '..'), env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
  );
  const count = (label: string): number => Number(new RegExp(`^# ${label} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? NaN);
  return { status: run.status, pass: count('pass'), fail: count('fail') };
}

test('under node:test every case passes for MemoryTokenStore', () => {
  expect(CASES).toBeGreaterThan(10);
  expect(underNodeTest()).toEqual({ status: 0, pass: CASES, fail: 0 });
});

test('under node:test a store whose claim lets every caller win fails, and the run exits non-zero', () => {
  const run = underNodeTest({ EPR_BROKEN_CLAIM: '1' });
  expect(run.status).toBe(1);
  expect(run.fail).toBeGreaterThan(0);
  expect(run.pass + run.fail).toBe(CASES);
});
