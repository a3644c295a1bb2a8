/** Tests are TypeScript, compiled by ts-jest against the project's strict tsconfig. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  // tfjs backends are process-wide singletons: each test file runs in its own worker.
  // Jest may print "A worker process has failed to exit gracefully" at the end: two trivial
  // TypeScript tests (`expect(1).toBe(1)`) print it too on this machine under load, two plain .js
  // ones do not. A ts-jest worker (it holds the TypeScript compiler) takes longer to exit than
  // jest-worker's 500 ms grace; it is not a handle leaked by the project's code.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/jest.summary.js'],
};
