/**
 * Three projects: `unit` needs nothing but Node (`npm run test:unit`, the fast loop), `integration` talks to a real
 * MongoDB-wire server, a real redis-server, a real Chromium and the packed tarball, and `integration-mongoose9` runs
 * the Mongo suites again with `mongoose` resolved to mongoose 9 (the `mongoose9` alias), for tests and lib alike.
 * `npm test` runs all.
 * @type {import('jest').Config}
 */
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // otplib (examples/second-factor-totp.ts) loads @scure/base and @noble/hashes 2, which ship ES modules only: jest's
    // CommonJS runtime needs them compiled (Node itself loads them through require(esm)).
    '/node_modules/(@scure/base|@noble/hashes)/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022' }, diagnostics: false },
    ],
  },
  transformIgnorePatterns: ['^(?!.*/node_modules/(@scure/base|@noble/hashes)/).*/node_modules/'],
};

/** The suites that load mongoose: they run once per supported major. */
const MONGO = ['/test/mongo-[^/]*\\.test\\.ts$', '/test/store-conformance\\.test\\.ts$'];
const INTEGRATION = [
  ...MONGO,
  '/test/browser\\.test\\.ts$',
  '/test/consumers\\.test\\.ts$',
  // A real redis-server, started by the suite itself (.ci/run installs the Debian package).
  '/test/redis-[^/]*\\.test\\.ts$',
];

// One global setup file for both Mongo projects: jest runs a given setup module once, so they share one server.
const mongoServer = {
  globalSetup: '<rootDir>/test/support/mongo-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/mongo-global-teardown.ts',
};

module.exports = {
  testTimeout: 30000,
  coverageProvider: 'v8',
  collectCoverageFrom: ['lib/**/*.ts'],
  coverageReporters: ['text-summary', 'lcov'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: INTEGRATION,
    },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testRegex: INTEGRATION,
      // A real MongoDB-wire server for the Mongo suites: MONGODB_URI, else FerretDB built from its Go module.
      ...mongoServer,
      globals: { EXPECTED_MONGOOSE_MAJOR: 8 },
    },
    {
      ...shared,
      displayName: 'integration-mongoose9',
      roots: ['<rootDir>/test'],
      testRegex: MONGO,
      ...mongoServer,
      moduleNameMapper: { '^mongoose$': 'mongoose9' },
      globals: { EXPECTED_MONGOOSE_MAJOR: 9 },
    },
  ],
};
