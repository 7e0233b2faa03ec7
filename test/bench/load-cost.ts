/**
 * Load cost: `require()` of the built package plus `passwordReset()` with defaults, against `require('express')`
 * (which the package loads too), each in a fresh Node process, alternating, several times; medians of the time and
 * of the RSS each adds to the process it runs in. Measured on `dist/` (what an app loads), built first.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
/** Issue 16's target: the package, constructed with defaults, at most 1.5 × express in time and in RSS. */
export const LOAD_TARGET_RATIO = 1.5;

export interface LoadFigure {
  /** Median ms from before the first `require` until done. */
  ms: number;
  /** Median RSS added over the process's RSS before the first `require`, in MiB. */
  rssMiB: number;
  runs: { ms: number; rssMiB: number }[];
}

export interface LoadCost {
  express: LoadFigure;
  packageWithDefaults: LoadFigure;
  timeRatio: number;
  rssRatio: number;
  target: number;
}

const PROBES = {
  express: `require('express');`,
  packageWithDefaults: `
    const { passwordReset } = require(${JSON.stringify(path.join(root, 'dist/index.cjs'))});
    passwordReset({
      users: { findByEmail: async () => null, updatePassword: async () => undefined },
      resetUrl: 'https://app.example/reset',
      mailer: { send: async () => undefined },
    });`,
} as const;

function probe(code: string): { ms: number; rssMiB: number } {
  const script = `
    const rss = process.memoryUsage.rss();
    const started = performance.now();
    ${code}
    const ms = performance.now() - started;
    process.stdout.write(JSON.stringify({ ms, rssMiB: (process.memoryUsage.rss() - rss) / 2 ** 20 }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })) as {
    ms: number;
    rssMiB: number;
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

export function measureLoadCost(repetitions = Number(process.env.BENCH_LOAD_RUNS ?? 9)): LoadCost {
  execFileSync('npx', ['tsup', '--silent'], { cwd: root, stdio: 'ignore' });
  const runs: Record<keyof typeof PROBES, { ms: number; rssMiB: number }[]> = { express: [], packageWithDefaults: [] };
  probe(PROBES.express); // a first process warms the OS file cache for both
  for (let i = 0; i < repetitions; i += 1) {
    runs.express.push(probe(PROBES.express));
    runs.packageWithDefaults.push(probe(PROBES.packageWithDefaults));
  }
  const figure = (name: keyof typeof PROBES): LoadFigure => ({
    ms: median(runs[name].map((run) => run.ms)),
    rssMiB: median(runs[name].map((run) => run.rssMiB)),
    runs: runs[name],
  });
  const express = figure('express');
  const packageWithDefaults = figure('packageWithDefaults');
  return {
    express,
    packageWithDefaults,
    timeRatio: packageWithDefaults.ms / express.ms,
    rssRatio: packageWithDefaults.rssMiB / express.rssMiB,
    target: LOAD_TARGET_RATIO,
  };
}

if (require.main === module) console.log(JSON.stringify(measureLoadCost(), null, 2));
