import { countFailures, type DeliveriesRepository } from '../../common/store/deliveries-repository';
import type { MessageRequestsRepository } from '../../common/store/messaging/message-requests-repository';
import type { MessagesSummary } from '../../common/domain/send-types';
import type { SendCancellationsRepository } from '../../common/store/send-cancellations-repository';

export interface FinishMessagesDeps {
  ledger: DeliveriesRepository;
  messageRequests: MessageRequestsRepository;
  sendCancellations: SendCancellationsRepository;
}

export interface FinishMessagesInput {
  requestId: string;
  workflowId: string;
  /** The request was cancelled while it waited for its `sendAt`: nothing was dispatched. */
  cancelledBeforeSendAt?: boolean;
}

/**
 * The end of a `POST /messages` request: its totals from the ledger, and its status, `failed` only when no address
 * was sent to. A request is small (1,000 message objects of 50 addresses at the most), so one count is enough.
 */
export async function finishMessages(deps: FinishMessagesDeps, input: FinishMessagesInput): Promise<MessagesSummary> {
  const { requestId, workflowId } = input;
  const counts = await deps.ledger.counts(requestId);
  const addresses = Object.values(counts).reduce(
    (sum, perChannel) => sum + Object.values(perChannel ?? {}).reduce((inChannel, count) => inChannel + count, 0),
    0,
  );
  const failureCount = countFailures(counts);
  // A cancelled request (its record in `send_cancellations`) ends `cancelled`, whatever went out before the cancel.
  const cancelled = input.cancelledBeforeSendAt === true || (await deps.sendCancellations.isCancelled(requestId));
  const status = cancelled ? 'cancelled' : addresses > 0 && failureCount === addresses ? 'failed' : 'completed';
  await deps.messageRequests.finish(requestId, status);
  return { requestId, workflowId, status, addresses, counts, failureCount };
}
