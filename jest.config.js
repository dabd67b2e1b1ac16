/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', {}],
    // @fastify/static (under @fastify/swagger-ui) requires an ESM-only package; Node 20 loads it natively,
    // jest's CommonJS runtime needs it compiled.
    'node_modules/content-disposition/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  // A leaked handle must not hold CI for its 90 minutes; the suite's own servers stop in globalTeardown.
  forceExit: true,
  // Counts for .ci/run's closing line are read from this report, not from jest's console summary.
  reporters: ['default', ['<rootDir>/test/support/count-reporter.js', {}]],
};
