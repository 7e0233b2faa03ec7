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
  // The optional parts (SendGrid client, joi-to-json, zxcvbn) are `require()`d on first use; the ESM bundle gets a
  // real `require` so those calls work there too (esbuild's shim otherwise throws "Dynamic require ... not supported").
  banner: ({ format }) =>
    format === 'esm'
      ? {
          js: "import { createRequire as __eprCreateRequire } from 'node:module';\nconst require = __eprCreateRequire(import.meta.url);",
        }
      : {},
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
});
