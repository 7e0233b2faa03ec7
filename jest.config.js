/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  // A real MongoDB-wire server for the Mongo suites: MONGODB_URI, else FerretDB built from its Go module.
  globalSetup: '<rootDir>/test/support/mongo-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/mongo-global-teardown.ts',
};
