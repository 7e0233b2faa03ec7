/**
 * The built package, imported the ways users import it: CommonJS, ESM, the
 * repository root, and TypeScript with NodeNext resolution. `npm test` builds
 * `dist/` first (the `pretest` script).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const exportedValues = ['MemoryTokenStore', 'OutboxMailer', 'PasswordResetError', 'passwordReset'];
let consumer: string;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: consumer, encoding: 'utf8' });
}

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/index.cjs'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest)');
  consumer = mkdtempSync(path.join(tmpdir(), 'epr-consumer-'));
  mkdirSync(path.join(consumer, 'node_modules'));
  symlinkSync(root, path.join(consumer, 'node_modules', 'express-password-reset'), 'dir');
});

afterAll(() => rmSync(consumer, { recursive: true, force: true }));

test('require() of the package name loads the CommonJS build with every export', () => {
  const keys = JSON.parse(node(['-e', "console.log(JSON.stringify(Object.keys(require('express-password-reset'))))"])) as string[];
  expect(keys).toEqual(expect.arrayContaining(exportedValues));
});

test('import of the package name loads the ESM build', () => {
  const out = node(['--input-type=module', '-e',
    "import { passwordReset, MemoryTokenStore } from 'express-password-reset'; import * as all from 'express-password-reset'; console.log(typeof passwordReset, typeof MemoryTokenStore, Object.keys(all).length)"]);
  expect(out.trim()).toMatch(/^function function \d+$/);
});

test('require() of the repository root works', () => {
  const out = node(['-e', `const m = require(${JSON.stringify(root)}); console.log(typeof m.passwordReset)`]);
  expect(out.trim()).toBe('function');
});

test('a TypeScript consumer type-checks against the shipped declarations', () => {
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] },
  }));
  writeFileSync(path.join(consumer, 'index.mts'), `
import { passwordReset, MemoryTokenStore, type PasswordResetOptions, type UserAdapter } from 'express-password-reset';
const users: UserAdapter = { findByEmail: async () => null, updatePassword: async () => undefined };
const options: PasswordResetOptions = { users, resetUrl: 'https://app.example/reset', store: new MemoryTokenStore() };
const router = passwordReset(options);
const closed: Promise<void> = router.close();
// @ts-expect-error tokenTtl takes a number or a duration string
passwordReset({ ...options, tokenTtl: true });
void closed;
`);
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  expect(() => execFileSync(process.execPath, [tsc, '-p', consumer], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
});

test('npm pack ships dist, README and LICENSE, and no sources or tests', () => {
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as [{ files: { path: string }[] }];
  const files = report.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['dist/index.cjs', 'dist/index.mjs', 'dist/index.d.ts', 'README.md', 'LICENSE', 'package.json']));
  expect(files.filter((f) => /^(lib|test|examples)\//.test(f))).toEqual([]);
});
