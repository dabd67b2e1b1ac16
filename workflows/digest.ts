import {
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { SendActivities } from '../activities';
import {
  digestEventSignal,
  digestFlushSendId,
  discardDigestSignal,
  flushDigestNowSignal,
  pendingEventsQuery,
  removeDigestEventSignal,
} from '../common/temporal/digest-definitions';
import { SEARCH_ATTRIBUTES } from '../common/temporal/search-attributes';
import {
  addDigestEvent,
  digestSnapshot,
  isDigestDue,
  newDigestState,
  reconsiderOpenBatch,
  rememberDigestEvents,
  removeDigestEvent,
  reopenDigestBatch,
  takeDigestFlush,
  type DigestState,
} from './digest-batch';
import { STORE_RETRY } from './send-activities';
import { sendMessage, type DispatchRetryOptions, type FanOutOptions } from './send-message';

export interface DigestInput {
  digestId: string;
  userId: string;
  digestKey: string;
  /** What each flush's send runs with (the configuration's `fanOut` and `dispatchRetry`). */
  send: { fanOut: FanOutOptions; retry: DispatchRetryOptions };
  /** Carried across `continueAsNew`; absent on a digest's first run. */
  carried?: DigestState;
}

/** How a run of the digest ended: nothing pending (`idle`), or dropped by `DELETE /digests/:id`. */
export interface DigestOutcome {
  ended: 'idle' | 'discarded';
  flushCount: number;
}

/**
 * Signals a run takes before it continues as new. Each is a few events of history; few, because Temporal refuses the
 * `continueAsNew` of a run that a new signal reached meanwhile, and the run is then replayed whole before it tries
 * again: a short run makes that retry quick under a steady stream of events.
 */
export const EVENTS_PER_RUN = 250;

// A few keyed store calls each (a flush reads at most `maxEvents` events): seconds at most, so a worker that died in
// one is noticed within this timeout, and the retry writes what the first attempt wrote.
const { openDigest, recordDigestWaiting, flushDigest, recordDigestClosed } = proxyActivities<SendActivities>({
  startToCloseTimeout: '15 seconds',
  retry: STORE_RETRY,
});

/**
 * One digest: the events of one (user, digest key), started or fed by signal-with-start (docs/digests.md), so events
 * of the same instant meet here. It waits on a durable timer for the batch's flush time (or `maxEvents`, or
 * `POST /digests/:id/flush`), then sends the batch as an ordinary send whose id is derived from the digest and the
 * flush number. The run ends when nothing is pending; the next event starts another. Ids and times only in history.
 */
export async function digest(input: DigestInput): Promise<DigestOutcome> {
  const { digestId, userId, digestKey } = input;
  const state = input.carried ?? newDigestState();
  let signalsThisRun = 0;
  let flushNow = false;
  let discarded = false;
  setHandler(digestEventSignal, (event) => {
    signalsThisRun++;
    if (!discarded) addDigestEvent(state, event, Date.now());
  });
  setHandler(removeDigestEventSignal, ({ eventId }) => {
    removeDigestEvent(state, eventId);
  });
  setHandler(flushDigestNowSignal, () => {
    flushNow = true;
  });
  setHandler(discardDigestSignal, () => {
    discarded = true;
  });
  setHandler(pendingEventsQuery, () => digestSnapshot(digestId, state));

  if (!input.carried) {
    const opened = await openDigest({ digestId, userId, digestKey });
    state.flushCount = Math.max(state.flushCount, opened.flushCount);
    if (opened.lastFlushAt !== null) state.lastFlushAt = opened.lastFlushAt;
    reconsiderOpenBatch(state);
  }

  for (;;) {
    if (discarded) {
      const dropped = state.pending.map((event) => event.eventId);
      await recordDigestClosed({ digestId, status: 'discarded', discardedEventIds: dropped });
      log.info('digest discarded', { digestId, dropped: dropped.length });
      return { ended: 'discarded', flushCount: state.flushCount };
    }
    if (state.pending.length === 0) {
      flushNow = false;
      if (state.storeSaysWaiting) {
        // Absent from histories recorded before batches had an inbox.
        const closed = await recordDigestClosed({ digestId, status: 'idle' });
        state.storeSaysWaiting = false;
        if (closed?.reopened) reopenDigestBatch(state, closed.reopened.events, closed.reopened.flushAt, Date.now());
        continue;
      }
      // Nothing pending: the run ends. Temporal refuses to complete it while a new signal waits, and runs it again
      // with that signal, so an event that arrives now is not lost.
      return { ended: 'idle', flushCount: state.flushCount };
    }
    // Before a flush: while events come faster than flushes go, each turn has one due, and the history would grow.
    if (signalsThisRun >= EVENTS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      log.info('digest continues as new', { digestId, pending: state.pending.length });
      await continueAsNew<typeof digest>({ ...input, carried: state });
    }
    if (flushNow || isDigestDue(state, Date.now())) {
      flushNow = false;
      await flush(input, state);
      continue;
    }
    if (!state.storeSaysWaiting) {
      state.storeSaysWaiting = true;
      await recordDigestWaiting({
        digestId,
        flushAt: state.flushAt!,
        pendingCount: state.pending.length,
        maxEvents: state.settings?.maxEvents,
        joinable: !state.settings?.sliding,
      });
      continue;
    }
    // Woken only when the plan changes, not by each event: an event that joins a fixed window costs its signal
    // handler alone, and the loop (each turn of which the SDK's sandbox keeps a little of) turns a few times a flush.
    const { flushAt, openedAt } = state;
    await condition(
      () =>
        discarded ||
        flushNow ||
        state.pending.length === 0 ||
        state.pending.length >= (state.settings?.maxEvents ?? Infinity) ||
        state.openedAt !== openedAt ||
        state.flushAt !== flushAt ||
        signalsThisRun >= EVENTS_PER_RUN,
      Math.max(flushAt! - Date.now(), 1),
    );
  }
}

/** Sends the batch's first `maxEvents` events as one send (`flushDigest` stores it, then it starts by its id). */
async function flush(input: DigestInput, state: DigestState): Promise<void> {
  const { digestId, userId } = input;
  const maxEvents = state.settings?.maxEvents;
  const { events, flushNumber } = takeDigestFlush(state, Date.now());
  const sendId = digestFlushSendId(digestId, flushNumber);
  const morePending = state.pending.length > 0;
  // The store's status after this flush is the flush's to write.
  state.storeSaysWaiting = morePending;
  const { send, inboxEventIds, carriedOver } = await flushDigest({
    digestId,
    userId,
    sendId,
    flushNumber,
    events,
    morePending,
    maxEvents,
  });
  // Both absent from histories recorded before batches had an inbox.
  if (inboxEventIds) rememberDigestEvents(state, inboxEventIds);
  for (const event of carriedOver ?? []) addDigestEvent(state, event, Date.now());
  if (!send) {
    log.info('digest flush had nothing left to send', { digestId, flushNumber });
    return;
  }
  try {
    // Abandoned when the digest's run ends: the send runs on by itself, like any other.
    await startChild(sendMessage, {
      workflowId: sendId,
      args: [{ sendId, channels: send.channels, fanOut: input.send.fanOut, retry: input.send.retry }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.channels, value: send.channels },
        ...(send.templateId ? [{ key: SEARCH_ATTRIBUTES.templateId, value: send.templateId }] : []),
      ],
      memo: { digestId, flushNumber, events: send.eventCount, channels: send.channels },
    });
  } catch (error) {
    // Started before under this id: the same flush, which goes once.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  log.info('digest flushed', { digestId, flushNumber, sendId, events: send.eventCount });
}
