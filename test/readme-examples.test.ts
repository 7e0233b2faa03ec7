/**
 * The README's code runs (issue 13.5, 13.15): its quick start and its "Testing your app" example are files under
 * `examples/`, quoted in the README as npm users write them (`from 'express-password-reset'`), and run here.
 * A README block that drifts from its file fails the first test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from 'express';
import request from 'supertest';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const QUOTED = [
  'examples/quick-start.ts',
  'examples/testing/app.ts',
  'examples/testing/app.test.ts',
  // Run by test/redis-rate-limits.test.ts and test/smtp-mailer.test.ts.
  'examples/redis-rate-limits.ts',
  'examples/smtp-mailer.ts',
];

/** The fenced block that follows `<!-- <path> -->` in the README. */
function quoted(path: string): string | undefined {
  const start = README.indexOf(`<!-- ${path} -->`);
  if (start < 0) return undefined;
  return /```ts\n([\s\S]*?)```/.exec(README.slice(start))?.[1];
}

describe('the README quotes its examples exactly', () => {
  test.each(QUOTED)('%s', (path) => {
    const file = readFileSync(join(ROOT, path), 'utf8').replace(
      /from '(\.\.\/)+lib'/g,
      "from 'express-password-reset'",
    );
    expect(quoted(path)).toBe(file);
  });

  test('the quick start comes before production setup, and the README never sends npm users to test/', () => {
    expect(README.indexOf('## Quick start')).toBeLessThan(README.indexOf('## Production setup'));
    expect(README.indexOf('## Production setup')).toBeLessThan(README.indexOf('## Options'));
    expect(README).not.toMatch(/test\/helpers/);
  });
});

describe('the quick start runs as pasted', () => {
  test('forgot, the email at /outbox, reset with its token', async () => {
    // The quick start listens on port 3000; here the app is captured instead, so nothing is bound.
    const apps: Express[] = [];
    const listen = jest.spyOn(express.application, 'listen').mockImplementation(function (this: Express) {
      apps.push(this);
      return undefined as never;
    });
    const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
    try {
      require('../examples/quick-start');
      expect(apps).toHaveLength(1);
      const app = apps[0]!;
      expect((await request(app).get('/outbox')).text).toBe('no email yet');
      await request(app).post('/auth/password/forgot').send({ email: 'ada@example.com' }).expect(202);
      let email = '';
      for (let i = 0; i < 100 && !email.includes('token='); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        email = (await request(app).get('/outbox')).text;
      }
      const token = /token=([A-Za-z0-9_-]+)/.exec(email)?.[1];
      expect(token).toBeDefined();
      // The development log line tells where the email is, and never the token.
      expect(info).toHaveBeenCalledWith(expect.stringContaining("router.outbox.last('ada@example.com')"));
      expect(info.mock.calls.flat().join('\n')).not.toContain(token);
      const password = 'correct horse battery staple';
      await request(app).post('/auth/password/reset').send({ token, password }).expect(200);
      await request(app).post('/auth/password/reset').send({ token, password }).expect(400);
    } finally {
      listen.mockRestore();
      info.mockRestore();
    }
  });
});

describe('"Testing your app": the README example, run as it is', () => {
  require('../examples/testing/app.test');
});
