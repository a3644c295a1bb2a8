/** Tests are TypeScript, compiled by ts-jest against the project's strict tsconfig. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  // tfjs backends are process-wide singletons: one worker per file keeps files isolated.
  maxWorkers: 2,
};
