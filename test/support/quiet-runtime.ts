import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/**
 * The Temporal runtime of a test process logs at `WARN`: worker state changes and activity starts would bury the
 * test results, while a warning (an activity failing unexpectedly, a workflow task failing) still shows.
 */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already by an earlier test file in this process: keep that one.
  }
}
