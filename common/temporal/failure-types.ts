/**
 * The `type` of every `ApplicationFailure` a dispatch activity throws, which the workflow's retry policy and the
 * Temporal UI read. Declared once: activities throw them, the workflow lists the non-retryable ones.
 */
export const FAILURE_TYPES = {
  /** Some deliveries of the batch failed transiently and stay `pending`: retried with backoff. */
  transientProvider: 'TransientProviderError',
  /** A one-delivery dispatch that a provider refused for good (an invalid number, an unregistered device). */
  permanentProvider: 'PermanentProviderError',
  /** A one-delivery dispatch whose attempts (`dispatchRetry.maximumAttempts`) are used up. */
  retriesExhausted: 'RetriesExhausted',
  /** A dispatch cancelled mid-batch (a worker shutting down): what it did not attempt is retried elsewhere. */
  cancelled: 'DispatchCancelled',
  /** A callback receiver that did not answer 2xx (`POST /messages`): retried with backoff until the window ends. */
  callbackNotAccepted: 'CallbackNotAccepted',
  /** A provider's default inbound webhook that did not answer 2xx (inbound WhatsApp): retried with backoff. */
  inboundNotAccepted: 'InboundWebhookNotAccepted',
  /** A recurring send fired after its schedule was deleted: the firing sends nothing. */
  scheduleNotFound: 'ScheduleNotFound',
} as const;

/** Failure types the workflow never retries: the ledger already holds the failed delivery. */
export const NON_RETRYABLE_DISPATCH_FAILURES: string[] = [
  FAILURE_TYPES.permanentProvider,
  FAILURE_TYPES.retriesExhausted,
];
