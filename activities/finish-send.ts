import { Context } from '@temporalio/activity';
import { countFailures, countSent } from '../common/ledger';
import type { DeliveryCounts, SendSummary } from '../common/types';
import type { ActivityDeps } from './activity-deps';
import type { AudienceSnapshots } from './audience-snapshots';
import { keepAlive } from './keep-alive';

/** How many failures a workflow result carries; `/send` and `/sends/:id` read the full list from the ledger. */
const FAILURES_IN_RESULT = 100;

export interface FinishSendInput {
  sendId: string;
  /** The send document this run reports to when it is not `sendId`: a retry's own document. */
  recordId?: string;
  workflowId: string;
  recipientCount: number;
  /**
   * The counts the workflow kept from its dispatches' results (absent: total the ledger, as a retry does), to which
   * the stored counts of `batchesToRead` are added.
   */
  counts?: DeliveryCounts;
  batchesToRead?: string[];
}

/**
 * The send's counts: those the workflow kept plus its batches' stored counts, one point lookup per such batch;
 * the ledger totalled (a scan on FerretDB, growing with the whole ledger) only when they were not kept.
 */
async function sendCounts(deps: ActivityDeps, input: FinishSendInput): Promise<DeliveryCounts> {
  if (input.counts) {
    const counts = structuredClone(input.counts);
    if (await deps.ledger.addBatchCounts(input.batchesToRead ?? [], counts)) return counts;
  }
  return deps.ledger.counts(input.sendId);
}

/**
 * `finishSend`: totals the send and closes the send document. A send fails when nothing could be delivered and
 * something failed; skipped users alone do not fail it. The snapshot's copies of user documents are dropped
 * here, so no copy of user data outlives the send.
 */
export function createFinishSendActivity(deps: ActivityDeps, snapshots: AudienceSnapshots) {
  return {
    finishSend: (input: FinishSendInput): Promise<SendSummary> =>
      keepAlive(async () => {
        if (!input.recordId) {
          const send = await deps.sends.get(input.sendId);
          if (send?.audience) await snapshots.dropUsers(input.sendId, send.audience.pages);
        }
        const counts = await sendCounts(deps, input);
        const failureCount = countFailures(counts);
        const status = failureCount > 0 && countSent(counts) === 0 ? 'failed' : 'completed';
        // Read only when there are some: a query by send and status, which FerretDB answers by scanning.
        const failures = failureCount > 0 ? await deps.ledger.failures(input.sendId, FAILURES_IN_RESULT) : [];
        if (input.recordId) {
          // A retry reports to its own document; the original keeps its audience size and takes the new totals.
          await deps.sends.finish(input.recordId, status, counts, input.recipientCount);
          await deps.sends.update(input.sendId, { status, counts, completedAt: new Date() });
        } else {
          // With its first failures, so that `GET /sends/:id` reads a finished send from its document alone.
          await deps.sends.finish(input.sendId, status, counts, input.recipientCount, failures);
        }
        Context.current().log.info('send totalled', { sendId: input.sendId, status, failureCount });
        return {
          sendId: input.sendId,
          workflowId: input.workflowId,
          status,
          recipients: input.recipientCount,
          counts,
          failureCount,
          failures,
        };
      }),
  };
}
