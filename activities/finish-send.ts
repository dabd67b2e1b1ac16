import { Context } from '@temporalio/activity';
import { countFailures, countSent } from '../common/ledger';
import type { SendSummary } from '../common/types';
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
}

/**
 * `finishSend`: totals the ledger and closes the send document. A send fails when nothing could be delivered and
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
        const counts = await deps.ledger.counts(input.sendId);
        const failureCount = countFailures(counts);
        const status = failureCount > 0 && countSent(counts) === 0 ? 'failed' : 'completed';
        if (input.recordId) {
          // A retry reports to its own document; the original keeps its audience size and takes the new totals.
          await deps.sends.finish(input.recordId, status, counts, input.recipientCount);
          await deps.sends.update(input.sendId, { status, counts, completedAt: new Date() });
        } else {
          await deps.sends.finish(input.sendId, status, counts, input.recipientCount);
        }
        Context.current().log.info('send totalled', { sendId: input.sendId, status, failureCount });
        return {
          sendId: input.sendId,
          workflowId: input.workflowId,
          status,
          recipients: input.recipientCount,
          counts,
          failureCount,
          failures: failureCount > 0 ? await deps.ledger.failures(input.sendId, FAILURES_IN_RESULT) : [],
        };
      }),
  };
}
