import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { FAILURE_TYPES } from '../../common/failure-types';

let installed = false;

const DISPATCH_FAILURE_TYPES = new Set<string>(Object.values(FAILURE_TYPES));

/**
 * A dispatch that fails on purpose (a test's injected provider fault) is an expected outcome, recorded in the
 * ledger and asserted by the test: the SDK's `Activity failed` warning for it is noise. Every other warning shows.
 */
function isExpectedDispatchFailure(entry: LogEntry): boolean {
  const error = entry.meta?.error;
  return (
    entry.message === 'Activity failed' &&
    error instanceof ApplicationFailure &&
    DISPATCH_FAILURE_TYPES.has(error.type ?? '')
  );
}

/**
 * The Temporal runtime of a test process logs at `WARN`: worker state changes and activity starts would bury the
 * test results, while a warning (an activity failing unexpectedly, a workflow task failing) still shows.
 */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  const logger = new DefaultLogger('WARN', (entry) => {
    if (isExpectedDispatchFailure(entry)) return;
    const { level, message, meta } = entry;
    console.error(`[${level}] ${message}`, meta ?? '');
  });
  try {
    Runtime.install({ logger });
  } catch {
    // Installed already by an earlier test file in this process: keep that one.
  }
}
