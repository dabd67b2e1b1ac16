import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { SendActivities } from '../activities';

export interface RouteInboundMessageInput {
  /** The `inbound_messages` document (`<provider>|<messageId>`): the customer's number and text stay out of history. */
  inboundId: string;
  /** How long the default inbound webhook is retried (`callbacks.retryWindowMinutes`). */
  retryWindowMs: number;
}

/**
 * An inbound WhatsApp message that no open conversation awaits, posted to its provider's default inbound webhook
 * (docs/whatsapp.md): one activity, retried with backoff until the webhook answers 2xx or the window ends.
 * The API starts one per message, its id naming the message (`inbound-<provider>|<messageId>`), so a provider's
 * repeated call starts nothing. Deterministic: no I/O, no clocks.
 */
export async function routeInboundMessage(input: RouteInboundMessageInput): Promise<void> {
  const { postInboundMessage } = proxyActivities<SendActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: input.retryWindowMs,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
  await postInboundMessage({ inboundId: input.inboundId }).catch((error: unknown) => {
    // Given up after the window (or a URL that may never be called): the message records the last outcome.
    if (!(error instanceof ActivityFailure)) throw error;
    log.warn('inbound message not accepted by the default inbound webhook', { inboundId: input.inboundId });
  });
}
