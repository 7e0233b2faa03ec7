/**
 * Load cost (issue 16): the optional parts are loaded only when an option uses them. Each case runs in a fresh
 * Node process (jest's module registry is not Node's), requires the package from its sources and reports which
 * packages ended up in `require.cache`.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

const OPTIONAL = ['joi', '@sendgrid/mail', 'joi-to-json', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', 'mongoose'];

/** Runs `body` after `const lib = require('./lib')` and returns the packages loaded by then. */
function loadedAfter(body: string): string[] {
  return loadedAfterAsync(body, false);
}

/** As {@link loadedAfter}; with `awaits`, `body` runs inside an async function that is awaited first. */
function loadedAfterAsync(body: string, awaits: boolean): string[] {
  const script = `
    const lib = require('./lib');
    const base = {
      users: { findByEmail: async () => null, updatePassword: async () => undefined },
      resetUrl: 'https://app.example/reset',
      mailer: { send: async () => undefined },
      logger: false,
    };
    const report = () => {
    const names = Object.keys(require.cache).map((file) => /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(file)?.[1]);
    process.stdout.write(JSON.stringify([...new Set(names.filter(Boolean))]));
    };
    ${awaits ? `(async () => { ${body} })().then(report, (error) => { console.error(error); process.exit(1); });` : `${body}\nreport();`}
  `;
  const output = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(output) as string[];
}

const optionalIn = (loaded: string[]): string[] => OPTIONAL.filter((name) => loaded.includes(name));

test('passwordReset() with defaults loads none of the optional parts', () => {
  const loaded = loadedAfter('lib.passwordReset(base);');
  expect(loaded).toContain('express');
  expect(optionalIn(loaded)).toEqual([]);
});

test('the SendGrid client is loaded by the sendgrid option, and SendGridMailer from the root still works', () => {
  expect(
    optionalIn(
      loadedAfter(`
        const { mailer, ...rest } = base;
        lib.passwordReset({ ...rest, sendgrid: { apiKey: 'SG.test-key', from: 'no-reply@app.example' } });
      `),
    ),
  ).toEqual(['@sendgrid/mail']);
  expect(
    optionalIn(
      loadedAfter(`
        const mailer = new lib.SendGridMailer({ apiKey: 'SG.test-key', from: 'no-reply@app.example' });
        if (typeof mailer.send !== 'function') throw new Error('no send');
      `),
    ),
  ).toEqual(['@sendgrid/mail']);
});

test('an invalid sendgrid option still throws its OptionsError, before the client is loaded', () => {
  const loaded = loadedAfter(`
    let code;
    try { new lib.SendGridMailer({ apiKey: '', from: 'no-reply@app.example' }); } catch (error) { code = error.code; }
    if (code !== 'ERR_EPR_OPTION_INVALID' && code !== 'ERR_EPR_OPTION_REQUIRED') throw new Error('got ' + code);
  `);
  expect(optionalIn(loaded)).toEqual([]);
});

test('joi-to-json is loaded by openapi (or openApiDocument()), and only then', () => {
  expect(optionalIn(loadedAfter('lib.passwordReset({ ...base, openapi: true });'))).toEqual(['joi', 'joi-to-json']);
  expect(optionalIn(loadedAfter('lib.openApiDocument();'))).toEqual(['joi', 'joi-to-json']);
});

test('zxcvbn is loaded when a password is scored for minStrength, not by the option alone', () => {
  expect(
    optionalIn(loadedAfter('lib.passwordReset({ ...base, password: { minStrength: 3, blockCommon: false } });')),
  ).toEqual([]);
  const scored = loadedAfter(`
    const { findPasswordProblems } = require('./lib/core/password-policy');
    const policy = { minLength: 8, maxLength: 64, minStrength: 3, blockCommon: false };
    findPasswordProblems(policy, 'correct horse battery', { id: 'u1', email: 'ada@app.example' });
  `);
  expect(optionalIn(scored)).toEqual(['@zxcvbn-ts/core', '@zxcvbn-ts/language-common']);
});

test('Joi is loaded by the first request that has a body to validate, not by passwordReset()', () => {
  const loaded = loadedAfterAsync(
    `
      const express = require('express');
      const app = express().use(lib.passwordReset(base));
      const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
      const before = Object.keys(require.cache).some((file) => /node_modules\\/joi\\//.test(file));
      const answer = await fetch('http://127.0.0.1:' + server.address().port + '/forgot', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'not an address' }),
      });
      server.close();
      if (before || answer.status !== 400) throw new Error('joi before: ' + before + ', status ' + answer.status);
    `,
    true,
  );
  expect(optionalIn(loaded)).toEqual(['joi']);
});
