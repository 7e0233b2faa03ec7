/**
 * The packed tarball (`npm pack`), installed the way users install it, into a
 * project without mongoose, and used from five kinds of consumer: CommonJS, ESM,
 * and TypeScript with `node16`, `bundler` and `commonjs` module settings, each
 * type-checking the shipped declarations with `skipLibCheck: false`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tokenStoreConformance } from '../lib/testing';

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
let work: string;
let packedFiles: string[];

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: 'pipe',
    env: { ...process.env, NODE_ENV: 'test' },
  });
}

/** A consumer project in its own folder; packages resolve from the shared install one level up. */
function project(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}

/** Starts the router on a free port, posts to /forgot, and prints the status: the package works at run time. */
/** What the packed `/testing` must expose: as many conformance cases as the source has. */
const CASES = tokenStoreConformance({ createSubject: () => Promise.reject(new Error('not run')) }).length;

const RUNTIME_CHECK = `
const app = express();
const users = { findByEmail: async () => null, updatePassword: async () => undefined };
const router = passwordReset({ users, resetUrl: 'https://app.example/reset', logger: false, bcryptRounds: 4 });
app.use('/auth/password', router);
const server = app.listen(0, async () => {
  const { port } = server.address();
  const res = await fetch('http://127.0.0.1:' + port + '/auth/password/forgot', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@b.example' }),
  });
  console.log(res.status, typeof tokenStoreConformance, tokenStoreConformance({ createSubject: async () => null }).length);
  await router.close();
  server.close();
});
`;

const TS_CONSUMER = `
import { passwordReset, MemoryTokenStore, type PasswordResetOptions, type UserAdapter } from 'express-password-reset';
import { tokenStoreConformance, type TokenStoreSubject } from 'express-password-reset/testing';
const users: UserAdapter = { findByEmail: async () => null, updatePassword: async () => undefined };
const options: PasswordResetOptions = { users, resetUrl: 'https://app.example/reset', store: new MemoryTokenStore() };
const router = passwordReset(options);
const closed: Promise<void> = router.close();
// @ts-expect-error tokenTtl takes a number or a duration string
passwordReset({ ...options, tokenTtl: true });
const subject = async (): Promise<TokenStoreSubject> => ({ store: new MemoryTokenStore(), advance: () => undefined, purge: async () => undefined });
const names: string[] = tokenStoreConformance({ createSubject: subject }).map((c) => c.name);
void closed;
void names;
`;

function tsconfig(compilerOptions: Record<string, unknown>): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      esModuleInterop: true,
      ...compilerOptions,
    },
    files: ['index.ts'],
  });
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'epr-consumers-'));
  // Built once here (as `npm pack`'s prepack script would), so the tarball holds what lib/ says now.
  run('npm', ['run', 'build'], root);
  const [report] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root)) as [
    { filename: string; files: { path: string }[] },
  ];
  packedFiles = report.files.map((file) => file.path);
  writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'consumers', private: true }));
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      path.join(work, report.filename),
      'express@5',
      '@types/express@5',
      '@types/node@20',
    ],
    work,
  );
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball ships the builds, README and LICENSE, and no sources or tests', () => {
  expect(packedFiles).toEqual(
    expect.arrayContaining([
      'dist/index.cjs',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/testing.cjs',
      'dist/testing.d.ts',
      'README.md',
      'LICENSE',
      'package.json',
    ]),
  );
  expect(packedFiles.filter((file) => /^(lib|test|examples)\//.test(file))).toEqual([]);
});

test('the consumers are installed without the optional mongoose peer', () => {
  expect(existsSync(path.join(work, 'node_modules/express-password-reset/dist/index.cjs'))).toBe(true);
  expect(readdirSync(path.join(work, 'node_modules'))).not.toContain('mongoose');
});

test('CommonJS: require() of the package and of /testing, and a request answered', () => {
  const dir = project('cjs', {
    'index.js': `const express = require('express');\nconst { passwordReset } = require('express-password-reset');\nconst { tokenStoreConformance } = require('express-password-reset/testing');\n${RUNTIME_CHECK}`,
  });
  expect(run(process.execPath, ['index.js'], dir).trim()).toBe(`202 function ${CASES}`);
});

test('ESM: import of the package and of /testing, and a request answered', () => {
  const dir = project('esm', {
    'index.mjs': `import express from 'express';\nimport { passwordReset } from 'express-password-reset';\nimport { tokenStoreConformance } from 'express-password-reset/testing';\n${RUNTIME_CHECK}`,
  });
  expect(run(process.execPath, ['index.mjs'], dir).trim()).toBe(`202 function ${CASES}`);
});

test.each([
  ['node16', { module: 'node16', moduleResolution: 'node16' }],
  ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ['commonjs', { module: 'commonjs', moduleResolution: 'node10' }],
  ['commonjs, no esModuleInterop', { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: false }],
])('TypeScript (%s) type-checks against the shipped declarations with skipLibCheck: false', (name, options) => {
  const dir = project(`ts-${name}`, { 'tsconfig.json': tsconfig(options), 'index.ts': TS_CONSUMER });
  expect(() => run(process.execPath, [tsc, '-p', dir], dir)).not.toThrow();
});
