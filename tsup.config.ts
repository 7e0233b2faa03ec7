import { defineConfig } from 'tsup';

// One build: CommonJS and ESM bundles of lib/, each with its own declaration file.
export default defineConfig({
  entry: { index: 'lib/index.ts' },
  format: ['cjs', 'esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: false,
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
});
