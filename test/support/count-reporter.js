// The suite's totals, as the closing line `tests: N passed, N failed`. Suites that fail to load count as one
// failure each, so a broken file cannot pass unnoticed. Under .ci/run (TEST_COUNTS_FILE set) they are written to
// that file instead: .ci/run runs the suite on several Node releases and prints one closing line, their sum.
const { writeFileSync } = require('node:fs');

class CountReporter {
  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    if (process.env.TEST_COUNTS_FILE) writeFileSync(process.env.TEST_COUNTS_FILE, JSON.stringify({ passed, failed }));
    else console.log(`tests: ${passed} passed, ${failed} failed`);
  }
}

module.exports = CountReporter;
