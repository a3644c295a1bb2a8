/** Tests are TypeScript, compiled by ts-jest against the project's strict tsconfig. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  // tfjs backends are process-wide singletons: each test file runs in its own worker.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/jest.summary.js'],
};
