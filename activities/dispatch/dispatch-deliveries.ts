import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Channel } from '../../common/config/config';
import { mapWithConcurrency } from '../../common/toolkit/concurrency';
import { PermanentProviderError } from '../../common/domain/http-errors';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';
import {
  dispatchBatchKey,
  type DeliveryOutcome,
  type DeliveriesRepository,
} from '../../common/store/deliveries-repository';
import {
  batchCountsKey,
  type DeliveryDocument,
  type DeliveryStatus,
  type Failure,
  type StatusCounts,
} from '../../common/domain/send-types';
import type { SendContext, SendContextCache } from '../send-context';
import type { UserLoader } from '../user-loader';
import { withRegisteredProvider, type RegisteredProviders } from '../providers/registered-providers';
import { failIfNotAllAttempted, failIfRetrying } from './batch-end';
import { AttemptGuard } from './attempt-guard';
import { cancelledOutcome, type CancelledSends } from './cancelled-sends';
import { retrySendId } from '../../common/temporal/workflow-ids';
import { attemptDelivery, renderDeliveries, type DeliveryDeps } from './deliver';
import { OutcomeWriter } from './outcome-writer';
import type { PreferenceGate } from './preference-gate';
import { countDeferred, type DeferredByMinute } from '../../common/domain/quiet-hours-release';

/** Input of every `dispatch<Channel>` activity: small, ids only. */
export interface DispatchInput {
  sendId: string;
  userIds: string[];
  /** Provider attempts per delivery before a transient failure becomes final; counted in the ledger. */
  maxAttempts: number;
  /** The audience page the users come from, whose snapshot carries their documents (absent for a retry). */
  page?: number;
  /**
   * The retry round (`POST /sends/:id/retry`) this dispatch belongs to: it touches only the entries that round claimed
   * (`DeliveriesRepository.claimFailedForRound`). Absent for a first run, whose page dispatch touches only entries no
   * round claimed, and for a retry's dispatch scheduled before rounds were passed (which checks nothing, as before).
   */
  retryRound?: number;
  /**
   * Quiet hours (docs/preferences.md): `defer`, a first run's dispatch whose workflow releases held deliveries, records
   * a delivery inside its user's quiet hours `deferred` until they end; `released`, the dispatch of deliveries so
   * released, sends them (their entries exist, their first-run claims are their first batch's). Absent: neither, as
   * for a workflow from before deferrals, whose deliveries go now.
   */
  quietHours?: 'defer' | 'released';
}

export interface DispatchResult {
  sent: number;
  failed: number;
  skipped: number;
  alreadyDone: number;
  /** Deliveries of a cancelled send never handed to a provider, recorded `cancelled` (absent: none). */
  cancelled?: number;
  /**
   * Set when the batch is handed back (a provider's `Retry-After` beyond `retryAfter.capMs`): the workflow waits this
   * long on a durable timer and dispatches the same batch again, which sends what is still pending. The counts then
   * say only what this run did, and the workflow does not count them.
   */
  retryAfterMs?: number;
  /**
   * The batch's deliveries held by quiet hours (`deferred` in the ledger, now or by an earlier attempt), per release
   * minute: the workflow waits one timer per distinct minute, then releases them (absent: none).
   */
  deferred?: DeferredByMinute;
}

export interface DispatchDeps extends DeliveryDeps {
  ledger: DeliveriesRepository;
  userLoader: UserLoader;
  preferenceGate: PreferenceGate;
  contexts: SendContextCache;
  registered: RegisteredProviders;
  cancelledSends: CancelledSends;
}

/** Provider calls in flight per activity; the worker's activity slots multiply it. */
const CALLS_IN_FLIGHT = 16;
const DEBUG_LEVELS = new Set(['debug', 'trace']);

/**
 * The final statuses of a batch's deliveries, those done before this run (`states`) and this run's outcomes, with its
 * failures. Stored for a batch of an audience page whose result cannot say it all (some deliveries were done before
 * this run, some failed): `finishSend` reads it by the batch's key instead of totalling the ledger (docs/internals.md
 * "Design").
 */
async function recordBatchCounts(
  deps: DispatchDeps,
  channel: Channel,
  input: DispatchInput,
  states: Map<string, DeliveryDocument>,
  outcomes: DeliveryOutcome[],
): Promise<void> {
  if (input.page === undefined) return;
  const final = new Map<string, { status: DeliveryStatus; error?: string; code?: string }>(states);
  for (const outcome of outcomes) final.set(outcome.userId, outcome);
  const counts: StatusCounts = {};
  const failures: Failure[] = [];
  for (const [userId, { status, error, code }] of final) {
    counts[status] = (counts[status] ?? 0) + 1;
    if (status === 'failed') failures.push({ userId, channel, error: error ?? 'failed', code });
  }
  const key = batchCountsKey(input.sendId, channel, input.page, input.userIds[0]);
  await deps.ledger.recordBatch(key, input.sendId, channel, counts, failures);
}

function countOutcome(result: DispatchResult, outcome: DeliveryOutcome): void {
  if (outcome.status === 'sent') result.sent++;
  else if (outcome.status === 'skipped') result.skipped++;
  else if (outcome.status === 'failed') result.failed++;
  else if (outcome.status === 'cancelled') result.cancelled = (result.cancelled ?? 0) + 1;
  else if (outcome.status === 'deferred' && outcome.releaseAt)
    countDeferred((result.deferred ??= {}), outcome.releaseAt);
}

/** The send whose cancel stops this dispatch: a retry round is cancelled by its own id, `<sendId>-retry-<n>`. */
const cancelledSendIdOf = (input: DispatchInput): string =>
  input.retryRound !== undefined ? retrySendId(input.sendId, input.retryRound) : input.sendId;

/** The send was cancelled before this batch called a provider: its pending deliveries are recorded `cancelled`. */
async function cancelBeforeSending(
  deps: DispatchDeps,
  channel: Channel,
  input: DispatchInput,
  states: Map<string, DeliveryDocument>,
  pending: string[],
  result: DispatchResult,
): Promise<DispatchResult> {
  const cancelled = pending.map((userId) => cancelledOutcome(userId, channel));
  await deps.ledger.record(input.sendId, cancelled);
  await recordBatchCounts(deps, channel, input, states, cancelled);
  Context.current().log.info('dispatch batch cancelled', { sendId: input.sendId, channel, size: pending.length });
  return { ...result, cancelled: pending.length };
}

/** Every pending delivery of a batch failed for good before any provider call (the template is gone). */
async function failBeforeSending(
  deps: DispatchDeps,
  channel: Channel,
  input: DispatchInput,
  states: Map<string, DeliveryDocument>,
  pending: string[],
  error: PermanentProviderError,
): Promise<never> {
  const { sendId } = input;
  const failed = pending.map((userId): DeliveryOutcome => ({
    userId,
    channel,
    status: 'failed',
    code: error.code,
    error: error.message,
    permanent: true,
    attempted: false,
  }));
  await deps.ledger.record(sendId, failed);
  deps.metrics.deliveriesRecorded(deps.config.service.providers[channel], failed);
  await recordBatchCounts(deps, channel, input, states, failed);
  throw ApplicationFailure.nonRetryable(error.message, error.code);
}

/**
 * Delivers one message to each given user on one channel, consulting and writing the ledger: a delivery
 * already `sent`, `skipped` or finally `failed` is never sent again, so Temporal retries and workflow
 * resets are safe (docs/internals.md). Transient failures leave deliveries `pending` and fail the activity with a
 * retryable failure, so Temporal retries just those with backoff; after `maxAttempts` they become `failed`.
 * A single-delivery activity that fails permanently throws a non-retryable failure carrying the code, so the
 * Temporal UI shows the failed dispatch itself. The attempt never overlaps the next one (`AttemptGuard`), and a
 * `Retry-After` beyond `retryAfter.capMs` hands the batch back to the workflow (`retryAfterMs` in the result). Every
 * run is timed, however it ends (`messaging_dispatch_batch_duration_seconds`).
 */
export async function dispatchDeliveries(
  deps: DispatchDeps,
  channel: Channel,
  input: DispatchInput,
): Promise<DispatchResult> {
  const batchDone = deps.metrics.dispatchBatchTimer(channel, deps.config.service.providers[channel]);
  const guard = new AttemptGuard(deps.config.service.retryAfter.capMs);
  try {
    return await guard.heartbeatWhile(() => dispatchBatch(deps, channel, input, guard));
  } finally {
    batchDone();
  }
}

async function dispatchBatch(
  deps: DispatchDeps,
  channel: Channel,
  input: DispatchInput,
  guard: AttemptGuard,
): Promise<DispatchResult> {
  const { sendId, userIds, maxAttempts } = input;
  const context = Context.current();
  const firstRun = await deps.ledger.claimDispatch(sendId, channel, userIds);
  // A first run's batch that starts for the first time has no ledger entry to read: its entries are written only by
  // their claim's holder (below). A retry round's entries exist: the round reset them to pending.
  const isRetryRound = input.retryRound !== undefined;
  const released = input.quietHours === 'released';
  const states =
    firstRun && !isRetryRound && !released
      ? new Map<string, DeliveryDocument>()
      : await deps.ledger.deliveryStates(sendId, channel, userIds);
  // A dispatch touches only its own round's entries (a first run's page: those no retry round claimed), so a stale
  // attempt of an older round leaves alone what a newer round claimed since; it counts them as already done.
  const checksRound = isRetryRound || input.page !== undefined;
  const ofThisRound = (state: DeliveryDocument | undefined) =>
    !checksRound || state === undefined || state.retryRound === input.retryRound;
  const undone = userIds.filter((userId) => {
    const state = states.get(userId);
    return ofThisRound(state) && (state?.status ?? 'pending') === 'pending';
  });
  // A first run claims each delivery it may send before any call (every attempt, so one that crashed before its claims
  // were all written is made whole); one whose claim another batch holds is that batch's, and counted as done here.
  // A retry round sends what its round claimed (`DeliveriesRepository.claimFailedForRound`).
  // Released deliveries were claimed by their release (`DeliveriesRepository.releaseDeferred`).
  const heldElsewhere =
    isRetryRound || released
      ? new Set<string>()
      : await deps.ledger.claimDeliveries(
          sendId,
          channel,
          dispatchBatchKey(sendId, channel, userIds),
          undone,
          !firstRun,
        );
  const pending = undone.filter((userId) => !heldElsewhere.has(userId));
  const result: DispatchResult = { sent: 0, failed: 0, skipped: 0, alreadyDone: userIds.length - pending.length };
  // Deferred by an earlier attempt: the workflow must still hear of their release minutes.
  for (const state of states.values()) {
    if (state.status === 'deferred' && state.releaseAt) countDeferred((result.deferred ??= {}), state.releaseAt);
  }
  if (pending.length === 0) {
    await recordBatchCounts(deps, channel, input, states, []);
    context.log.info('dispatch batch already done', { sendId, channel, size: userIds.length });
    return result;
  }
  const cancelledSendId = cancelledSendIdOf(input);
  if (await deps.cancelledSends.isCancelled(cancelledSendId)) {
    return cancelBeforeSending(deps, channel, input, states, pending, result);
  }

  let sendContext: SendContext;
  try {
    sendContext = await deps.contexts.get(sendId);
  } catch (error) {
    if (error instanceof PermanentProviderError) return failBeforeSending(deps, channel, input, states, pending, error);
    throw error;
  }
  // A registered provider named for this channel (or its tenant default when the send was accepted).
  let deliveryDeps: DeliveryDeps = deps;
  const registeredName = sendContext.send.request.providers?.[channel];
  if (registeredName !== undefined) {
    try {
      const registered = await deps.registered.get(registeredName);
      deliveryDeps = { ...deps, providers: withRegisteredProvider(deps.providers, channel, registered) };
    } catch (error) {
      if (error instanceof PermanentProviderError)
        return failBeforeSending(deps, channel, input, states, pending, error);
      throw error;
    }
  }
  const users = await deps.userLoader.get(sendId, pending, input.page);
  const preferences = await deps.preferenceGate.check(
    deps,
    sendId,
    sendContext.send.request,
    channel,
    pending,
    users,
    input.page,
    input.quietHours === 'defer',
  );
  const toSend = pending.filter((userId) => !preferences.turnedOff.has(userId));
  // Rendered on the render threads, the batch in one task: a runaway template cannot hold this thread's heartbeats.
  const rendered = await renderDeliveries(deliveryDeps, sendContext, channel, toSend, users);

  const writer = new OutcomeWriter(deps.ledger, sendId, deps.metrics, deps.config.service.providers[channel]);
  // Once the guard says stop (cancelled, near the deadline, throttled beyond the cap): no new provider call starts,
  // the calls in flight finish and are recorded, and what was never attempted is left pending for the next attempt.
  // The SDK builds each line's metadata before the level is checked: on this path, per delivery, only when it shows.
  const logEachDelivery = DEBUG_LEVELS.has(deps.config.env.LOG_LEVEL);
  const results = await writer.recordAll(() =>
    mapWithConcurrency(
      pending,
      CALLS_IN_FLIGHT,
      async (userId) => {
        const turnedOff = preferences.turnedOff.get(userId);
        if (turnedOff) {
          await writer.add(turnedOff);
          return { outcome: turnedOff };
        }
        await writer.beforeProviderCall();
        // A flush may have waited long: the attempt may have been told to stop meanwhile.
        if (guard.shouldStop()) return undefined;
        if (await deps.cancelledSends.isCancelled(cancelledSendId)) {
          const attempt = { outcome: cancelledOutcome(userId, channel) };
          await writer.add(attempt.outcome);
          return attempt;
        }
        const attempt = await attemptDelivery(
          deliveryDeps,
          sendContext,
          channel,
          userId,
          users.get(userId),
          rendered.get(userId),
          states.get(userId)?.attempts ?? 0,
          maxAttempts,
          guard.signal,
        );
        guard.note(attempt);
        if (!guard.keeps(attempt)) return undefined;
        if (logEachDelivery) {
          context.log.debug('delivery attempted', {
            sendId,
            channel,
            userId,
            status: attempt.outcome.status,
            code: attempt.outcome.code,
          });
        }
        await writer.add(preferences.mark(attempt.outcome));
        return attempt;
      },
      guard.shouldStop,
    ),
  );
  const attempts = results.filter((attempt) => attempt !== undefined);
  const handBackMs = guard.handBack();
  if (handBackMs !== undefined) {
    // The rest waits on the workflow's durable timer, not in this activity (docs/configuration.md).
    for (const { outcome } of attempts) countOutcome(result, outcome);
    context.log.info('dispatch batch handed back', { sendId, channel, size: userIds.length, ...result, handBackMs });
    return { ...result, retryAfterMs: handBackMs };
  }
  if (attempts.length < pending.length) {
    context.log.info('dispatch batch stopped', { sendId, channel, size: userIds.length, attempted: attempts.length });
  }
  failIfNotAllAttempted(channel, 'deliveries', pending.length, attempts.length);

  for (const { outcome } of attempts) countOutcome(result, outcome);
  const retrying = attempts.filter((attempt) => attempt.outcome.status === 'pending');
  context.log.info('dispatch batch done', {
    sendId,
    channel,
    size: userIds.length,
    ...result,
    retrying: retrying.length,
  });
  failIfRetrying(channel, 'deliveries', pending.length, retrying, result);
  // Its result says how this run's deliveries ended, not how the ones done before it did, nor the failures' codes.
  if (result.alreadyDone > 0 || result.failed > 0 || result.cancelled) {
    await recordBatchCounts(
      deps,
      channel,
      input,
      states,
      attempts.map((attempt) => attempt.outcome),
    );
  }
  if (userIds.length === 1 && result.failed === 1) {
    const { outcome } = attempts[0];
    throw ApplicationFailure.create({
      type: outcome.permanent ? FAILURE_TYPES.permanentProvider : FAILURE_TYPES.retriesExhausted,
      message: `${channel} to ${outcome.userId} failed (${outcome.code}): ${outcome.error}`,
      nonRetryable: true,
      details: [{ code: outcome.code, userId: outcome.userId, channel }],
    });
  }
  return result;
}
