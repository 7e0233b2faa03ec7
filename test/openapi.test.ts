/**
 * The OpenAPI document: valid OpenAPI 3.1 (by an OpenAPI validator), request
 * schemas that accept exactly what the router's Joi schemas accept, and every
 * real response of every documented status matching its documented schema and
 * headers (checked with Ajv's JSON Schema 2020-12, OpenAPI 3.1's dialect).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { ADA, createApp, GOOD_PASSWORD, manualClock, type TestApp } from './helpers/create-app';
import { openApiDocument, type OpenApiDocument, type PasswordResetOptions } from '../lib';
import { compileReaders, compileSchemas } from '../lib/http/endpoints';
import { DEFAULT_FIELDS } from '../lib/options/defaults';

type Json = Record<string, unknown>;

/**
 * Validates documents with @seriousme/openapi-schema-validator, all in one
 * child process: the package is ESM-only (it reads its schemas through
 * `import.meta.url`), which Jest's CommonJS runtime on Node 20 cannot load.
 */
async function validateOpenApi(documents: unknown[]): Promise<{ valid: boolean; errors?: unknown }[]> {
  const script = [
    "import { Validator } from '@seriousme/openapi-schema-validator';",
    "let input = ''; for await (const chunk of process.stdin) input += chunk;",
    'const results = [];',
    'for (const document of JSON.parse(input)) results.push(await new Validator().validate(document));',
    'process.stdout.write(JSON.stringify(results));',
  ].join('\n');
  const child = execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: path.join(__dirname, '..') });
  child.stdin!.end(JSON.stringify(documents));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the validator failed: ${stderr}`);
  return JSON.parse(stdout) as { valid: boolean; errors?: unknown }[];
}

const open: TestApp[] = [];
afterAll(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

async function app(options: Partial<PasswordResetOptions> = {}): Promise<TestApp> {
  const created = await createApp({ options });
  open.push(created);
  return created;
}

const compilers = new WeakMap<OpenApiDocument, (pointer: string) => ValidateFunction>();

/** Compiles parts of one document with Ajv (OpenAPI keywords outside schemas are ignored: strict off). */
function compiler(document: OpenApiDocument): (pointer: string) => ValidateFunction {
  const cached = compilers.get(document);
  if (cached) return cached;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'doc');
  const compile = (pointer: string): ValidateFunction => {
    const validate = ajv.getSchema(`doc#${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return validate;
  };
  compilers.set(document, compile);
  return compile;
}

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

describe('the document', () => {
  test('is valid OpenAPI 3.1, with and without the code flow, and the validator does catch a broken one', async () => {
    const documents = [false, true].map((code) => openApiDocument({ basePath: '/auth/password', code }));
    const plain = documents[0]!;
    const broken = {
      ...plain,
      paths: { ...plain.paths, '/forgot': { post: { responses: { 202: { content: {} } } } } },
    };
    const [token, code, refused] = await validateOpenApi([...documents, broken]);
    expect(token).toEqual({ valid: true });
    expect(code).toEqual({ valid: true });
    expect(refused!.valid).toBe(false);
    for (const document of documents) {
      expect(document.openapi).toBe('3.1.0');
      expect(document.servers).toEqual([{ url: '/auth/password' }]);
      expect(Object.keys(document.paths).sort()).toEqual(['/forgot', '/reset', '/verify']);
    }
  });

  test('documents every status with its error codes', () => {
    const statuses = (path: string) =>
      Object.keys(((openApiDocument().paths[path] as Json).post as Json).responses as Json);
    expect(statuses('/forgot')).toEqual(['202', '400', '413', '415', '429', '500']);
    expect(statuses('/verify')).toEqual(['200', '400', '413', '415', '429', '500', '503']);
    expect(statuses('/reset')).toEqual(['200', '400', '413', '415', '422', '429', '500', '503']);
    const codesOf = (path: string, status: string): unknown => {
      const response = (((openApiDocument().paths[path] as Json).post as Json).responses as Json)[status] as Json;
      const schema = ((response.content as Json)['application/json'] as Json).schema as { allOf: Json[] };
      return ((((schema.allOf[1]!.properties as Json).error as Json).properties as Json).code as Json).enum;
    };
    expect(codesOf('/reset', '400')).toEqual(['VALIDATION_FAILED', 'MALFORMED_JSON', 'TOKEN_INVALID', 'TOKEN_EXPIRED']);
    expect(codesOf('/reset', '422')).toEqual(['PASSWORD_REJECTED']);
    expect(codesOf('/forgot', '400')).toEqual(['VALIDATION_FAILED', 'MALFORMED_JSON']);
  });
});

describe('a renamed configuration (routes, fields, unknownFields)', () => {
  const renamed = {
    routes: { forgot: '/reset', verify: false, reset: '/newPassword' },
    fields: { email: ['userEmail'], token: ['passwordResetToken', 'resetToken'], password: ['newPassword'] },
  } as const;
  const token = 'k3oKq8m5Xr0bZ2u9V1yW7tN4sP6cL0dH8fJ2gA5eQ1w';

  test('the document is valid OpenAPI 3.1 and lists the renamed paths only', async () => {
    const documents = [
      openApiDocument({ ...renamed, code: true }),
      openApiDocument({ ...renamed, unknownFields: 'ignore' }),
    ];
    expect(await validateOpenApi(documents)).toEqual([{ valid: true }, { valid: true }]);
    expect(Object.keys(documents[0]!.paths).sort()).toEqual(['/newPassword', '/reset']);
    const examples = (((documents[0]!.paths['/newPassword'] as Json).post as Json).requestBody as Json).content as Json;
    expect(JSON.stringify(examples)).toContain('"passwordResetToken"');
  });

  test.each([
    ['reject', false],
    ['ignore', false],
    ['reject', true],
  ] as const)(
    'ajv and the router agree on every sample body (unknownFields %s, code flow %s)',
    (unknownFields, code) => {
      const document = openApiDocument({ ...renamed, unknownFields, code });
      const compile = compiler(document);
      const readers = compileReaders(compileSchemas({ codeDigits: code ? 6 : undefined }), {
        fields: { ...DEFAULT_FIELDS, ...renamed.fields },
        unknownFields,
      });
      const accepts = (endpoint: 'forgot' | 'reset', body: unknown): boolean => {
        try {
          readers[endpoint](body);
          return true;
        } catch {
          return false;
        }
      };
      const bodies = {
        forgot: [
          { userEmail: 'ada@example.com' },
          { email: 'ada@example.com' },
          { userEmail: 5 },
          { userEmail: 'a@b.example', x: 1 },
        ],
        reset: [
          { passwordResetToken: token, newPassword: GOOD_PASSWORD },
          { resetToken: token, newPassword: GOOD_PASSWORD },
          { passwordResetToken: token, resetToken: token, newPassword: GOOD_PASSWORD },
          { token, newPassword: GOOD_PASSWORD },
          { passwordResetToken: token, password: GOOD_PASSWORD },
          { passwordResetToken: token },
          { passwordResetToken: token, newPassword: 5 },
          { userEmail: 'ada@example.com', code: '123456', newPassword: GOOD_PASSWORD },
          { userEmail: 'ada@example.com', newPassword: GOOD_PASSWORD },
          { passwordResetToken: token, userEmail: 'ada@example.com', code: '123456', newPassword: GOOD_PASSWORD },
          { passwordResetToken: token, newPassword: GOOD_PASSWORD, passwordEncryptType: 'none' },
        ],
      };
      const names = { forgot: 'ForgotRequest', reset: 'ResetRequest' } as const;
      let accepted = 0;
      for (const endpoint of ['forgot', 'reset'] as const) {
        const validate = compile(`/components/schemas/${names[endpoint]}`);
        for (const body of bodies[endpoint]) {
          const verdict = accepts(endpoint, body);
          if (verdict) accepted += 1;
          expect({ endpoint, body, valid: validate(body) }).toEqual({ endpoint, body, valid: verdict });
        }
      }
      expect(accepted).toBeGreaterThanOrEqual(3);
    },
  );

  test('GET /openapi.json of a renamed router documents its paths and names', async () => {
    const a = await app({ openapi: true, ...renamed });
    const served = (await request(a.app).get('/auth/password/openapi.json')).body as OpenApiDocument;
    expect(Object.keys(served.paths).sort()).toEqual(['/newPassword', '/reset']);
    const forgot = (served.components.schemas as Json).ForgotRequest as Json;
    expect(Object.keys(forgot.properties as Json)).toEqual(['userEmail']);
  });
});

describe('request schemas are the Joi schemas', () => {
  const token = 'k3oKq8m5Xr0bZ2u9V1yW7tN4sP6cL0dH8fJ2gA5eQ1w';
  const email = 'ada@example.com';
  const bodies: Record<'forgot' | 'verify' | 'reset', unknown[]> = {
    forgot: [
      { email },
      {},
      { email: 5 },
      { email: { $gt: '' } },
      { email: 'not-an-address' },
      { email, extra: 1 },
      { email: `${'a'.repeat(250)}@example.com` },
      [],
      'x',
    ],
    verify: [
      { token },
      {},
      { token: '' },
      { token: 'a'.repeat(513) },
      { token: 1 },
      { token, x: 1 },
      { email, code: '123456' },
      { email },
      { code: '123456' },
      { token, email, code: '123456' },
      { token, code: '123456' },
      { email, code: '12a456' },
      { email, code: 123456 },
    ],
    reset: [
      { token, password: GOOD_PASSWORD },
      { token, newPassword: GOOD_PASSWORD },
      { token, password: 'a', newPassword: 'b' },
      { token },
      { password: 'x' },
      { token, password: 5 },
      { token, password: '' },
      { email, code: '123456', password: 'x' },
      { email, code: '123456', newPassword: 'x' },
      { email, code: '123456' },
      { token, email, code: '123456', password: 'x' },
      { token, password: 'x'.repeat(4097) },
    ],
  };

  test.each([false, true])('ajv and Joi agree on every sample body (code flow %s)', (code) => {
    const document = openApiDocument({ code });
    const compile = compiler(document);
    const readers = compileReaders(compileSchemas({ codeDigits: code ? 6 : undefined }), {
      fields: DEFAULT_FIELDS,
      unknownFields: 'reject',
    });
    const accepts = (endpoint: 'forgot' | 'verify' | 'reset', body: unknown): boolean => {
      try {
        readers[endpoint](body);
        return true;
      } catch {
        return false;
      }
    };
    const names = { forgot: 'ForgotRequest', verify: 'VerifyRequest', reset: 'ResetRequest' } as const;
    let accepted = 0;
    for (const endpoint of ['forgot', 'verify', 'reset'] as const) {
      const validate = compile(`/components/schemas/${names[endpoint]}`);
      for (const body of bodies[endpoint]) {
        const joiVerdict = accepts(endpoint, body);
        if (joiVerdict) accepted += 1;
        expect({ endpoint, body, valid: validate(body) }).toEqual({ endpoint, body, valid: joiVerdict });
      }
    }
    // The samples exercise both sides: some bodies pass, most do not.
    expect(accepted).toBeGreaterThanOrEqual(code ? 8 : 5);
  });
});

describe('real responses match the document', () => {
  const seen = new Set<string>();

  /** Checks a response against the document: status documented, body schema, required headers and their schemas. */
  function conforms(document: OpenApiDocument, path: string, response: request.Response): void {
    const compile = compiler(document);
    const base = `/paths/${escape(path)}/post/responses/${response.status}`;
    const responses = ((document.paths[path] as Json).post as Json).responses as Json;
    const spec = responses[String(response.status)] as Json | undefined;
    expect({ path, status: response.status, documented: spec !== undefined }).toEqual({
      path,
      status: response.status,
      documented: true,
    });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const validate = compile(`${base}/content/application~1json/schema`);
    const valid = validate(response.body);
    expect({
      path,
      status: response.status,
      body: response.body,
      errors: validate.errors ?? null,
      valid,
    }).toMatchObject({ valid: true });
    for (const [name, header] of Object.entries(spec!.headers as Record<string, { $ref: string }>)) {
      const pointer = header.$ref.replace(/^#/, '');
      const definition = pointer
        .split('/')
        .slice(1)
        .reduce<Json>((node, key) => node[key] as Json, document as unknown as Json);
      const value = response.headers[name.toLowerCase()];
      if (definition.required)
        expect({ header: name, present: value !== undefined }).toEqual({ header: name, present: true });
      if (value !== undefined)
        expect({ header: name, value, valid: compile(`${pointer}/schema`)(value) }).toMatchObject({ valid: true });
    }
    seen.add(`${path} ${response.status}`);
  }

  test('token flow: every status of /forgot, /verify and /reset', async () => {
    const clock = manualClock();
    const a = await app({ now: clock.now, tokenTtl: '10m' });
    const document = openApiDocument({ basePath: a.mountPath });
    const check = (path: string, response: request.Response) => conforms(document, path, response);

    check('/forgot', await a.post('/forgot', { email: ADA.email }));
    check('/forgot', await a.post('/forgot', { email: { $gt: '' } }));
    check('/forgot', await a.post('/forgot', '{"email":'));
    check('/forgot', await a.post('/forgot', { email: 'x'.repeat(20_000) }));
    check('/forgot', await a.post('/forgot').set('Content-Type', 'text/plain').send('email=ada@example.com'));

    const token = await a.requestToken();
    check('/verify', await a.post('/verify', { token }));
    check('/verify', await a.post('/verify', { token: 42 }));
    check('/verify', await a.post('/verify', { token: 'unknown' }));
    check('/verify', await a.post('/verify', '{'));
    check('/verify', await a.post('/verify', { token: 'x'.repeat(20_000) }));
    check('/verify', await a.post('/verify').type('form').send({ token }));

    const weak = await a.post('/reset', { token, password: 'password' });
    expect(weak.body.error.details[0]).toMatchObject({ field: 'password', rule: 'common' });
    check('/reset', weak);
    check('/reset', await a.post('/reset', { token, password: 'a', newPassword: 'b' }));
    check('/reset', await a.post('/reset', '[1,'));
    check('/reset', await a.post('/reset', { token, password: 'x'.repeat(20_000) }));
    check('/reset', await a.post('/reset').type('form').send({ token, password: GOOD_PASSWORD }));
    check('/reset', await a.post('/reset', { token, newPassword: GOOD_PASSWORD }));
    check('/reset', await a.post('/reset', { token, password: GOOD_PASSWORD }));

    const old = await a.requestToken();
    clock.advance(11 * 60_000);
    const expired = await a.post('/verify', { token: old });
    expect(expired.body.error.code).toBe('TOKEN_EXPIRED');
    check('/verify', expired);
    check('/reset', await a.post('/reset', { token: old, password: GOOD_PASSWORD }));
  });

  test('code flow, 429 and 503 answers', async () => {
    const a = await app({
      code: { enabled: true },
      rateLimit: {
        forgot: { windowMs: 60_000, limit: 2 },
        verify: { windowMs: 60_000, limit: 3 },
        reset: { windowMs: 60_000, limit: 3 },
        perEmail: false,
      },
    });
    const document = openApiDocument({ basePath: a.mountPath, code: true });
    const check = (path: string, response: request.Response) => conforms(document, path, response);

    await a.forgot(ADA.email);
    const code = a.mailer.last(ADA.email)!.data.code!;
    check('/verify', await a.post('/verify', { email: ADA.email, code }));
    // The stores fail: 503, for a code and for a token.
    const findByUser = jest.spyOn(a.store, 'findByUser').mockRejectedValueOnce(new Error('store down'));
    check('/verify', await a.post('/verify', { email: ADA.email, code }));
    findByUser.mockRestore();
    const findByEmail = jest.spyOn(a.users, 'findByEmail').mockRejectedValueOnce(new Error('users down'));
    check('/reset', await a.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD }));
    findByEmail.mockRestore();
    check('/reset', await a.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD }));

    check('/forgot', await a.post('/forgot', { email: ADA.email }));
    check('/verify', await a.post('/verify', { email: ADA.email, code }));
    check('/reset', await a.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD }));
    const limited = await a.post('/forgot', { email: ADA.email });
    expect(limited.status).toBe(429);
    check('/forgot', limited);
    check('/verify', await a.post('/verify', { email: ADA.email, code }));
    check('/reset', await a.post('/reset', { email: ADA.email, code, password: GOOD_PASSWORD }));
  });

  test('the responses seen cover every documented status except 500', () => {
    const document = openApiDocument();
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(((item as Json).post as Json).responses as Json)
        .filter((status) => status !== '500')
        .map((status) => `${path} ${status}`),
    );
    expect([...seen].sort()).toEqual(documented.sort());
  });
});

describe('GET /openapi.json', () => {
  test("served with `openapi: true`, with the mount path as server URL and the router's own code setting", async () => {
    const a = await app({ openapi: true, code: { enabled: true } });
    const origin = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;
    const response = await request(origin).get(`${a.mountPath}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body.servers).toEqual([{ url: a.mountPath }]);
    expect(response.body.components.schemas.VerifyRequest.properties).toHaveProperty('code');
    // The very document validated above (with the mount path as server).
    expect(response.body).toEqual({ ...openApiDocument({ basePath: a.mountPath, code: true }) });
  });

  test('not served by default', async () => {
    const a = await app();
    const origin = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;
    expect((await request(origin).get(`${a.mountPath}/openapi.json`)).status).toBe(404);
  });
});
