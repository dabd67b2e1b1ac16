import { countFailures, type DeliveriesRepository } from '../../common/store/deliveries-repository';
import type { MessageRequestsRepository } from '../../common/store/messaging/message-requests-repository';
import type { MessagesSummary } from '../../common/domain/send-types';

export interface FinishMessagesDeps {
  ledger: DeliveriesRepository;
  messageRequests: MessageRequestsRepository;
}

/**
 * The end of a `POST /messages` request: its totals from the ledger, and its status, `failed` only when no address
 * was sent to. A request is small (1,000 message objects of 50 addresses at the most), so one count is enough.
 */
export async function finishMessages(
  deps: FinishMessagesDeps,
  input: { requestId: string; workflowId: string },
): Promise<MessagesSummary> {
  const { requestId, workflowId } = input;
  const counts = await deps.ledger.counts(requestId);
  const addresses = Object.values(counts).reduce(
    (sum, perChannel) => sum + Object.values(perChannel ?? {}).reduce((inChannel, count) => inChannel + count, 0),
    0,
  );
  const failureCount = countFailures(counts);
  const status = addresses > 0 && failureCount === addresses ? 'failed' : 'completed';
  await deps.messageRequests.finish(requestId, status);
  return { requestId, workflowId, status, addresses, counts, failureCount };
}
