// Writes the suite's totals where .ci/run reads them (TEST_COUNTS_FILE), and prints the closing line
// `tests: N passed, N failed`. Suites that fail to load count as one failure each, so a broken file
// cannot pass unnoticed.
const { writeFileSync } = require('node:fs');

class CountReporter {
  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    if (process.env.TEST_COUNTS_FILE) writeFileSync(process.env.TEST_COUNTS_FILE, JSON.stringify({ passed, failed }));
    console.log(`tests: ${passed} passed, ${failed} failed`);
  }
}

module.exports = CountReporter;
