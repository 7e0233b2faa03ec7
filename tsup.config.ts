import { defineConfig } from 'tsup';

// One build: CommonJS and ESM bundles of the root and of `/testing`, each with its own declaration file.
export default defineConfig({
  entry: { index: 'lib/index.ts', testing: 'lib/testing.ts' },
  format: ['cjs', 'esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: false,
  tsconfig: 'tsconfig.build.json',
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
});
