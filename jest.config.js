// Two tiers, each test at the layer it tests (docs/style.md "Tests"). `unit` is test/unit: pure code, no server,
// seconds. `integration` is the rest, against the real Temporal dev server and FerretDB that its globalSetup starts;
// jest runs a project's globalSetup only when that project has tests selected, so `npm run test:unit` starts no server.
const transform = {
  '^.+\\.ts$': ['ts-jest', {}],
  // @fastify/static (under @fastify/swagger-ui) requires an ESM-only package; Node loads it natively,
  // jest's CommonJS runtime needs it compiled.
  'node_modules/content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!content-disposition/)'];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  // For the integration tests (servers, kill -9 runs). Global because jest-circus 30 ignores a project's own
  // testTimeout, so the unit tier has it too.
  testTimeout: 60000,
  // No forceExit: every test file closes what it opens (the suite's own servers stop in globalTeardown), so jest
  // exits by itself; `npx jest <file> --detectOpenHandles` names what a file left open. .ci/run bounds each run.
  // Counts for .ci/run's closing line are read from this report (both projects), not from jest's console summary.
  reporters: ['default', ['<rootDir>/test/support/count-reporter.js', {}]],
};
