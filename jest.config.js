// Three projects: fast unit tests beside the code, integration/e2e tests against real services, and
// the fault suite (which kills those services).
/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/src'],
      testMatch: ['**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      // Migrates LEDGER_DATABASE_URL once before the suites run.
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      // `npm run test:faults`: kills the stack's services on purpose, so it runs alone (after e2e).
      displayName: 'faults',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.faults-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
