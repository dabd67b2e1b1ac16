import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { conflict } from '../../common/domain/http-errors';
import type { DeliveryCounts, DeliveryStatus, SendDocument, SendStatus } from '../../common/domain/send-types';
import type { DeliveriesRepository } from '../../common/store/deliveries-repository';
import {
  CANCEL_READ_MAX_AGE_MS,
  type SendCancellationsRepository,
} from '../../common/store/send-cancellations-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import { cancelSendSignal, NOT_SCHEDULED, rescheduleUpdate } from '../../common/temporal/send-signals';
import { progressQuery } from '../../workflows';
import { sendStatusUrl } from './send-result';

export interface SendLaterDeps {
  sends: SendsRepository;
  ledger: DeliveriesRepository;
  cancellations: SendCancellationsRepository;
  temporal: Client;
}

/** The answer of a cancel: where the send stood when the cancel took hold. */
export interface CancelledSend {
  sendId: string;
  status: 'cancelled';
  /** `scheduled` (nothing was dispatched) or `running`. */
  cancelledWhile: 'scheduled' | 'running';
  deliveries: {
    /** Sent (or delivered, read) before the cancel took hold. */
    sentBefore: number;
    /** At most this many were with a provider or waiting for a retry: they finish and are recorded. */
    inFlight: number;
    /** Never handed to a provider; null when the audience is not known (a scheduled send never resolves it). */
    cancelled: number | null;
  };
  statusUrl: string;
}

/** A moved scheduled send. */
export interface RescheduledSend {
  sendId: string;
  status: 'scheduled';
  sendAt: string;
  statusUrl: string;
}

const SENT: DeliveryStatus[] = ['sent', 'delivered', 'read'];
const total = (counts: DeliveryCounts, statuses?: DeliveryStatus[]): number =>
  Object.values(counts)
    .flatMap((perStatus) => Object.entries(perStatus ?? {}) as [DeliveryStatus, number][])
    .filter(([status]) => !statuses || statuses.includes(status))
    .reduce((sum, [, count]) => sum + count, 0);

/**
 * Moving and cancelling sends (docs/operating-sends.md "Send later and cancel"). A cancel is first a record in
 * `send_cancellations`, which the scheduled send reads when it fires and every dispatch reads before each provider
 * call: written before anything else is told, it holds even for a send whose workflow Temporal's visibility does not
 * show yet. The signal only wakes a scheduled send's timer.
 */
export class SendLater {
  constructor(private readonly deps: SendLaterDeps) {}

  /** The status a send has now: `cancelled` as soon as it has a cancel record, before its workflow ends. */
  async statusOf(send: SendDocument): Promise<SendStatus> {
    if (send.status !== 'scheduled' && send.status !== 'running') return send.status;
    return (await this.deps.cancellations.isCancelled(send._id)) ? 'cancelled' : send.status;
  }

  /** Moves a scheduled send to `sendAt` through its workflow's update; 409 naming its status once it has fired. */
  async reschedule(send: SendDocument, sendAt: Date): Promise<RescheduledSend> {
    const status = await this.statusOf(send);
    if (status !== 'scheduled') throw conflict(`sendId: send ${send._id} is ${status}; only a scheduled send moves`);
    let moved: { sendAt: string };
    try {
      moved = await this.deps.temporal.workflow
        .getHandle(send.workflowId)
        .executeUpdate(rescheduleUpdate, { args: [{ sendAt: sendAt.toISOString() }] });
    } catch (error) {
      const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === NOT_SCHEDULED) {
        throw conflict(`sendId: ${cause.message}`);
      }
      throw error;
    }
    await this.deps.sends.rescheduled(send._id, new Date(moved.sendAt));
    return { sendId: send._id, status: 'scheduled', sendAt: moved.sendAt, statusUrl: sendStatusUrl(send._id) };
  }

  /**
   * Cancels a scheduled or running send: records the cancel, wakes a scheduled send, waits until every dispatch has
   * seen it, and says where the send stood. Cancelling again answers the same way; a send that ended otherwise is a 409.
   */
  async cancel(send: SendDocument, cancellationKey?: string): Promise<CancelledSend> {
    const cancelledBefore = await this.deps.cancellations.get(send._id);
    if (!cancelledBefore) {
      if (send.status !== 'scheduled' && send.status !== 'running') {
        throw conflict(`sendId: send ${send._id} is ${send.status}; only a scheduled or running send is cancelled`);
      }
      await this.deps.cancellations.record(send._id, cancellationKey);
    }
    // Only a send still waiting has the handler; a running one stops by the record alone.
    if (send.status === 'scheduled') await this.wake(send.workflowId);
    // A dispatch reads the record at most this long after it was written: from then on no provider call starts.
    if (send.status === 'running') await sleep(CANCEL_READ_MAX_AGE_MS + 100);
    return this.whereItStood((await this.deps.sends.get(send._id)) ?? send);
  }

  /** Cancels every scheduled or running send of `cancellationKey`, oldest first. */
  async cancelByKey(cancellationKey: string): Promise<CancelledSend[]> {
    const found = await this.deps.sends.cancellableByKey(cancellationKey);
    const cancelled: CancelledSend[] = [];
    for (const { _id } of found) {
      const send = await this.deps.sends.get(_id);
      if (!send) continue;
      try {
        cancelled.push(await this.cancel(send, cancellationKey));
      } catch (error) {
        // Ended since it was listed: nothing is left to cancel.
        if (!(error instanceof Error && 'statusCode' in error && error.statusCode === 409)) throw error;
      }
    }
    return cancelled;
  }

  private async wake(workflowId: string): Promise<void> {
    try {
      await this.deps.temporal.workflow.getHandle(workflowId).signal(cancelSendSignal);
    } catch (error) {
      // The workflow has ended (or never started): the record is what stops it.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }

  /**
   * Where a cancelled send stood: what its ledger had sent, what its first run had claimed without recording it yet
   * (in flight), and the rest of its audience, which no provider sees. Exact once its workflow has ended.
   */
  private async whereItStood(send: SendDocument): Promise<CancelledSend> {
    // A scheduled send cancelled before it fired ends with no audience taken and nothing in its ledger.
    const neverFired =
      send.status === 'scheduled' ||
      (send.status === 'cancelled' && send.sendAt !== undefined && !send.audience && total(send.counts ?? {}) === 0);
    const base = { sendId: send._id, status: 'cancelled' as const, statusUrl: sendStatusUrl(send._id) };
    if (neverFired) {
      return { ...base, cancelledWhile: 'scheduled', deliveries: { sentBefore: 0, inFlight: 0, cancelled: null } };
    }
    if (send.status !== 'running' && send.counts) {
      const { counts } = send;
      const deliveries = { sentBefore: total(counts, SENT), inFlight: 0, cancelled: total(counts, ['cancelled']) };
      return { ...base, cancelledWhile: 'running', deliveries };
    }
    const [counts, claimed, progress] = await Promise.all([
      this.deps.ledger.counts(send._id),
      this.deps.ledger.claimedDeliveries(send._id),
      this.deps.temporal.workflow
        .getHandle(send.workflowId)
        .query(progressQuery)
        .catch(() => null),
    ]);
    const recorded = total(counts);
    const inFlight = Math.max(0, claimed - recorded) + total(counts, ['pending']);
    const sentBefore = total(counts, SENT);
    const settled = recorded - total(counts, ['pending', 'cancelled']);
    const channels = send.request.channels.length;
    const expected =
      send.audience && progress ? (send.audience.recipients + progress.missingRecipients) * channels : undefined;
    const cancelled = expected === undefined ? null : Math.max(0, expected - settled - inFlight);
    return { ...base, cancelledWhile: 'running', deliveries: { sentBefore, inFlight, cancelled } };
  }
}
