import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';

let installed = false;

const DISPATCH_FAILURE_TYPES = new Set<string>(Object.values(FAILURE_TYPES));

/**
 * An activity that fails on purpose (a test's injected provider fault) is an expected outcome, recorded in the
 * ledger and asserted by the test: the SDK's `Activity failed` warning for it is noise. Every other warning shows.
 */
function isExpectedActivityFailure(entry: LogEntry): boolean {
  const error = entry.meta?.error;
  if (entry.message !== 'Activity failed') return false;
  if (error instanceof ApplicationFailure && DISPATCH_FAILURE_TYPES.has(error.type ?? '')) return true;
  // A fault the simulator injected (a Flow Manager answering 503, …): what the test asked for.
  return error instanceof Error && error.message.includes('Simulated');
}

/** The logger of test workers and mock activity environments: `WARN`, without the failures a test injected. */
export function quietTestLogger(): DefaultLogger {
  return new DefaultLogger('WARN', (entry) => {
    if (isExpectedActivityFailure(entry)) return;
    const { level, message, meta } = entry;
    console.error(`[${level}] ${message}`, meta ?? '');
  });
}

/**
 * The Temporal runtime of a test process logs at `WARN`: worker state changes and activity starts would bury the
 * test results, while a warning (an activity failing unexpectedly, a workflow task failing) still shows.
 */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: quietTestLogger() });
  } catch {
    // Installed already by an earlier test file in this process: keep that one.
  }
}
