import { Context } from '@temporalio/activity';
import { countFailures, countSent, FAILURES_PER_BATCH } from '../common/store/deliveries-repository';
import type { DeliveryCounts, Failure, SendSummary } from '../common/domain/send-types';
import type { ActivityDeps } from './activity-deps';
import type { AudienceSnapshots } from './audience-snapshots';
import { keepAlive } from './keep-alive';

/** How many failures a workflow result carries; `/send` and `/sends/:id` read the full list from the ledger. */
const FAILURES_IN_RESULT = FAILURES_PER_BATCH;

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
  /** The pages whose copies of user documents are still stored (absent: every page of the snapshot). */
  pagesWithUsers?: number[];
  /** For a retry: its round, whose recipients are counted once each across its pages (`recipientCount` is not). */
  retryRound?: number;
  /** The send failed as a whole with this error (its audience snapshot failed for good): `failed` whatever the counts. */
  failedWith?: string;
  /** The send was cancelled while it waited for its `sendAt`: nothing was dispatched. */
  cancelledBeforeSendAt?: boolean;
}

/** A cancelled send (its record in `send_cancellations`) ends `cancelled`, whatever went out before the cancel. */
type FinalStatus = 'completed' | 'failed' | 'cancelled';

/**
 * The send's counts and first failures: the counts the workflow kept plus its batches' stored counts and failures, one
 * point lookup per such batch; the ledger totalled (a scan on FerretDB, growing with the whole ledger) only when they
 * were not kept.
 */
async function sendTotals(
  deps: ActivityDeps,
  input: FinishSendInput,
): Promise<{ counts: DeliveryCounts; failures: Failure[] }> {
  const kept = input.counts && (await deps.ledger.keptTotals(input.counts, input.batchesToRead ?? []));
  if (kept) return kept;
  const counts = await deps.ledger.counts(input.sendId);
  // Read only when there are some: a query by send and status, which FerretDB answers by scanning.
  const failures = countFailures(counts) > 0 ? await deps.ledger.failures(input.sendId, FAILURES_IN_RESULT) : [];
  return { counts, failures };
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
        if (input.failedWith !== undefined) {
          // The snapshot never finished: every page it wrote may still hold its copies of user documents.
          const written = await snapshots.writtenPages(input.sendId);
          await snapshots.dropUsers(
            input.sendId,
            Array.from({ length: written.pages }, (_, page) => page),
          );
        } else if (input.pagesWithUsers) {
          await snapshots.dropUsers(input.sendId, input.pagesWithUsers);
        } else if (!input.recordId) {
          const send = await deps.sends.get(input.sendId);
          const pages = send?.audience?.pages ?? 0;
          if (pages > 0)
            await snapshots.dropUsers(
              input.sendId,
              Array.from({ length: pages }, (_, page) => page),
            );
        }
        const { counts, failures } = await sendTotals(deps, input);
        const recipientCount =
          input.retryRound !== undefined
            ? await deps.ledger.roundRecipients(input.sendId, input.retryRound)
            : input.recipientCount;
        const failureCount = countFailures(counts);
        const cancelled =
          input.cancelledBeforeSendAt === true ||
          (await deps.sendCancellations.isCancelled(input.recordId ?? input.sendId));
        const status: FinalStatus = cancelled
          ? 'cancelled'
          : input.failedWith !== undefined || (failureCount > 0 && countSent(counts) === 0)
            ? 'failed'
            : 'completed';
        if (input.recordId) {
          // A retry reports to its own document; the original keeps its audience size and takes the new totals.
          await deps.sends.finish(input.recordId, status, counts, recipientCount);
          await deps.sends.update(input.sendId, { status, counts, completedAt: new Date() });
        } else {
          // With its first failures, so that `GET /sends/:id` reads a finished send from its document alone.
          await deps.sends.finish(input.sendId, status, counts, recipientCount, failures);
        }
        Context.current().log.info('send totalled', { sendId: input.sendId, status, failureCount });
        return {
          sendId: input.sendId,
          workflowId: input.workflowId,
          status,
          recipients: recipientCount,
          counts,
          failureCount,
          failures,
          ...(input.failedWith !== undefined ? { error: input.failedWith } : {}),
        };
      }),
  };
}
