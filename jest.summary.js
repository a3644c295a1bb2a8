/**
 * Ends every jest run with one plain line, 'tests: N passed, N failed, N skipped',
 * which CI reads as the run's verdict. A test file that fails to run at all
 * (a compile error, a crash) counts as a failure too, so the line can never
 * say "0 failed" for a broken suite.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests, numRuntimeErrorTestSuites } = results;
    const failed = numFailedTests + numRuntimeErrorTestSuites;
    process.stdout.write(`\ntests: ${numPassedTests} passed, ${failed} failed, ${numPendingTests + numTodoTests} skipped\n`);
  }
}
module.exports = SummaryReporter;
