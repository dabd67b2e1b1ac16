import { proxyActivities } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { SendActivities, DispatchInput, DispatchResult } from '../activities';
import type { Channel } from '../common/config/config';
import { NON_RETRYABLE_DISPATCH_FAILURES } from '../common/temporal/failure-types';
import type { DispatchRetryOptions } from './send-message';

// Unlimited attempts: these only read and write our own stores or tell the Flow Manager, and must not be lost to an
// outage. The Flow Manager event in particular is retried until it answers 2xx (docs/operating-sends.md "Saga sends").
export const STORE_RETRY: RetryPolicy = { initialInterval: '1 second', maximumInterval: '30 seconds' };

// These heartbeat every few seconds while they run (activities/keep-alive.ts): a crashed worker is noticed
// within the heartbeat timeout, not the start-to-close timeout.
export const {
  recordMissingRecipients,
  loadAudiencePage,
  loadAudiencePageAndEnd,
  claimFailedDeliveries,
  finishSend,
  beginScheduledSend,
} = proxyActivities<SendActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: STORE_RETRY,
});

// One pass over the whole audience: as long as it takes, as long as it heartbeats (it resumes where it stopped).
export const { snapshotAudience } = proxyActivities<SendActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: STORE_RETRY,
});

/** One dispatch activity per channel, with the send's backoff (`dispatchRetry`) and its heartbeat timeout. */
export function dispatchers(
  retry: DispatchRetryOptions,
  heartbeatTimeoutMs: number,
): Record<Channel, (input: DispatchInput) => Promise<DispatchResult>> {
  // Attempts are unlimited here on purpose: per-delivery attempts are counted in the ledger (maxAttempts),
  // so a database or worker outage delays deliveries but never drops them.
  const activities = proxyActivities<SendActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      nonRetryableErrorTypes: NON_RETRYABLE_DISPATCH_FAILURES,
    },
  });
  return {
    email: activities.dispatchEmail,
    sms: activities.dispatchSms,
    push: activities.dispatchPush,
    voice: activities.dispatchVoice,
    whatsapp: activities.dispatchWhatsapp,
  };
}
