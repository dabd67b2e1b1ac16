import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROFILE_DEFAULTS } from '../../common/config/profiles';
import { temporalDataConverter } from '../../common/temporal/data-converter';
import { installQuietRuntime } from '../support/quiet-runtime';

const HISTORIES_DIR = path.join(__dirname, 'histories');

/**
 * The recorded histories, as paths under `histories/`: the first recordings at the top, later recordings of the same
 * scenarios in a folder each (named by what their code did that the first did not), so that both shapes replay.
 */
function recordedFiles(): string[] {
  return readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.split(path.sep).join('/'));
}

interface RecordedWorkflow {
  workflowId: string;
  runs: unknown[];
}

/**
 * Replays histories recorded from real sends (test/support/record-histories.ts) against today's workflow code. A change
 * to `workflows/` that would break the sends running in production (a new activity call, a timer, a reordering without
 * `patched`) fails here with the event it diverged at. docs/operations.md "Changing a workflow safely".
 */
describe('recorded workflow histories replay on the current workflow code', () => {
  const files = recordedFiles();
  beforeAll(installQuietRuntime);

  it('has the recorded scenarios', () => {
    expect(files.sort()).toEqual(
      [
        'conversation.json',
        'inbound-message.json',
        'message-callbacks.json',
        'messages-request.json',
        'paged-send.json',
        'reset-send.json',
        'retry-send.json',
        'saga-fail-event.json',
        'saga-send.json',
        'saga-send-started.json',
        'small-send.json',
        // The paths behind later patches and the later workflow types: a delivery deferred by quiet hours and released
        // at their end, a send waiting for its sendAt (moved, cancelled), a digest's flush (and one whose events joined
        // its batch through the store, carried over past maxEvents), a recurring send's firing.
        'quiet-hours-release.json',
        'send-at.json',
        'send-at-rescheduled.json',
        'send-at-cancelled.json',
        'digest-flush.json',
        'digest-inbox.json',
        'recurring-send.json',
        // The sends as they run since the snapshot goes on while the first pages are dispatched, pages are dropped as
        // they end and say whether they are the last (the patches of workflows/send-pages.ts).
        'with-patches/paged-send.json',
        'with-patches/reset-send.json',
        'with-patches/retry-send.json',
        'with-patches/saga-send.json',
        'with-patches/small-send.json',
      ].sort(),
    );
  });

  it.each(files)('%s', async (file) => {
    const recorded = JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as RecordedWorkflow;
    const histories = recorded.runs.map((history) => ({ workflowId: recorded.workflowId, history }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
        // The service's codec: the histories were recorded in plaintext, before encryption, and must still replay.
        dataConverter: temporalDataConverter(PROFILE_DEFAULTS.development),
      },
      histories,
    )) {
      if (result.error) failures.push(`${result.workflowId} run ${result.runId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
