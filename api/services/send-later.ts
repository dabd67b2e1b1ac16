import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { conflict, HttpError } from '../../common/domain/http-errors';
import type { DeliveryCounts, DeliveryStatus, SendDocument, SendStatus } from '../../common/domain/send-types';
import type { DeliveriesRepository } from '../../common/store/deliveries-repository';
import {
  CANCEL_READ_MAX_AGE_MS,
  type SendCancellationsRepository,
} from '../../common/store/send-cancellations-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import type {
  MessageRequestDocument,
  MessageRequestsRepository,
} from '../../common/store/messaging/message-requests-repository';
import { cancelSendSignal, NOT_SCHEDULED, rescheduleUpdate } from '../../common/temporal/send-signals';
import { progressQuery } from '../../workflows';
import { sendStatusUrl } from './send-result';

export interface SendLaterDeps {
  sends: SendsRepository;
  messageRequests: MessageRequestsRepository;
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

/** The answer of a cancel of a `POST /messages` request: as a send's, by its request id. */
export type CancelledRequest = Omit<CancelledSend, 'sendId'> & { requestId: string };

/** A moved scheduled send. */
export interface RescheduledSend {
  sendId: string;
  status: 'scheduled';
  sendAt: string;
  statusUrl: string;
}

const SENT: DeliveryStatus[] = ['sent', 'delivered', 'read'];

const requestStatusUrl = (requestId: string) => `/messages/${encodeURIComponent(requestId)}`;

/** A cancel of something that ended since it was listed: nothing is left to cancel (undefined). */
async function endedMeanwhile<T>(cancelling: Promise<T>): Promise<T | undefined> {
  try {
    return await cancelling;
  } catch (error) {
    if (error instanceof HttpError && error.statusCode === 409) return undefined;
    throw error;
  }
}
const total = (counts: DeliveryCounts, statuses?: DeliveryStatus[]): number =>
  Object.values(counts)
    .flatMap((perStatus) => Object.entries(perStatus ?? {}) as [DeliveryStatus, number][])
    .filter(([status]) => !statuses || statuses.includes(status))
    .reduce((sum, [, count]) => sum + count, 0);

/**
 * Moving and cancelling sends (docs/operating-sends.md "Send later and cancel"). A cancel is first a record in
 * `send_cancellations`, which the scheduled send reads when it fires and every dispatch reads before each provider
 * call: written before anything else is told, it holds even for a send whose workflow Temporal's visibility does not
 * show yet. The signal only wakes a send's timer (its `sendAt`, or the end of its users' quiet hours).
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
    const moved = await this.moveWorkflow(send.workflowId, sendAt, 'sendId');
    await this.deps.sends.rescheduled(send._id, new Date(moved));
    return { sendId: send._id, status: 'scheduled', sendAt: moved, statusUrl: sendStatusUrl(send._id) };
  }

  /** `PATCH /messages/:requestId`: as `reschedule`, for a `POST /messages` request. */
  async rescheduleRequest(
    request: MessageRequestDocument,
    sendAt: Date,
  ): Promise<Omit<RescheduledSend, 'sendId'> & { requestId: string }> {
    const cancelled = await this.deps.cancellations.isCancelled(request._id);
    const status = cancelled && request.status === 'scheduled' ? 'cancelled' : request.status;
    if (status !== 'scheduled') {
      throw conflict(`requestId: request ${request._id} is ${status}; only a scheduled request moves`);
    }
    const moved = await this.moveWorkflow(request._id, sendAt, 'requestId');
    await this.deps.messageRequests.rescheduled(request._id, new Date(moved));
    return { requestId: request._id, status: 'scheduled', sendAt: moved, statusUrl: requestStatusUrl(request._id) };
  }

  /** The `reschedule` update; the workflow's refusal (it has fired, or was cancelled) is a 409 naming `field`. */
  private async moveWorkflow(workflowId: string, sendAt: Date, field: string): Promise<string> {
    try {
      const moved = await this.deps.temporal.workflow
        .getHandle(workflowId)
        .executeUpdate(rescheduleUpdate, { args: [{ sendAt: sendAt.toISOString() }] });
      return moved.sendAt;
    } catch (error) {
      const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === NOT_SCHEDULED) {
        throw conflict(`${field}: ${cause.message}`);
      }
      throw error;
    }
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
      await this.deps.cancellations.record(send._id, cancellationKey, send.sendAt);
    }
    // The signal wakes a send waiting for its time or for quiet hours to end; a running one stops by the record alone.
    if (send.status === 'scheduled' || send.status === 'running') await this.wake(send.workflowId);
    // A dispatch reads the record at most this long after it was written: from then on no provider call starts.
    if (send.status === 'running') await sleep(CANCEL_READ_MAX_AGE_MS + 100);
    return this.whereItStood((await this.deps.sends.get(send._id)) ?? send);
  }

  /**
   * `DELETE /messages/:requestId`: as `cancel`, for a `POST /messages` request; its addresses not sent yet are recorded
   * `cancelled` (and get no callback after their `queued`).
   */
  async cancelRequest(request: MessageRequestDocument, cancellationKey?: string): Promise<CancelledRequest> {
    const cancelledBefore = await this.deps.cancellations.get(request._id);
    if (!cancelledBefore) {
      if (request.status !== 'scheduled' && request.status !== 'running') {
        throw conflict(
          `requestId: request ${request._id} is ${request.status}; only a scheduled or running request is cancelled`,
        );
      }
      await this.deps.cancellations.record(request._id, cancellationKey, request.sendAt);
    }
    if (request.status === 'scheduled') await this.wake(request._id);
    if (request.status === 'running') await sleep(CANCEL_READ_MAX_AGE_MS + 100);
    const now = (await this.deps.messageRequests.get(request._id)) ?? request;
    const base = { requestId: now._id, status: 'cancelled' as const, statusUrl: requestStatusUrl(now._id) };
    const [counts, claimed] = await Promise.all([
      this.deps.ledger.counts(now._id),
      this.deps.ledger.claimedDeliveries(now._id),
    ]);
    const recorded = total(counts);
    const neverFired =
      recorded === 0 &&
      claimed === 0 &&
      now.sendAt !== undefined &&
      (now.status === 'scheduled' || now.status === 'cancelled');
    if (neverFired) {
      return { ...base, cancelledWhile: 'scheduled', deliveries: { sentBefore: 0, inFlight: 0, cancelled: null } };
    }
    const addresses = now.messages.reduce((sum, message) => sum + message.to.length, 0);
    const inFlight = Math.max(0, claimed - recorded) + total(counts, ['pending']);
    const settled = recorded - total(counts, ['pending', 'cancelled']);
    return {
      ...base,
      cancelledWhile: 'running',
      deliveries: {
        sentBefore: total(counts, SENT),
        inFlight,
        cancelled: Math.max(0, addresses - settled - inFlight),
      },
    };
  }

  /** Cancels every scheduled or running send and `POST /messages` request of `cancellationKey`, oldest first. */
  async cancelByKey(cancellationKey: string): Promise<{ sends: CancelledSend[]; requests: CancelledRequest[] }> {
    const [sendIds, requestIds] = await Promise.all([
      this.deps.sends.cancellableByKey(cancellationKey),
      this.deps.messageRequests.cancellableByKey(cancellationKey),
    ]);
    // Every record first, so that each send stops as soon as possible; the answers after.
    const sends: CancelledSend[] = [];
    const requests: CancelledRequest[] = [];
    await Promise.all([
      ...sendIds.map(async ({ _id }) => {
        const send = await this.deps.sends.get(_id);
        const cancelled = send && (await endedMeanwhile(this.cancel(send, cancellationKey)));
        if (cancelled) sends.push(cancelled);
      }),
      ...requestIds.map(async ({ _id }) => {
        const request = await this.deps.messageRequests.get(_id);
        const cancelled = request && (await endedMeanwhile(this.cancelRequest(request, cancellationKey)));
        if (cancelled) requests.push(cancelled);
      }),
    ]);
    const order = (ids: { _id: string }[]) => new Map(ids.map(({ _id }, index) => [_id, index]));
    const sendOrder = order(sendIds);
    const requestOrder = order(requestIds);
    sends.sort((a, b) => sendOrder.get(a.sendId)! - sendOrder.get(b.sendId)!);
    requests.sort((a, b) => requestOrder.get(a.requestId)! - requestOrder.get(b.requestId)!);
    return { sends, requests };
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
    // A retry's deliveries stay keyed by the send it retries.
    const ledgerId = send.retryOf ?? send._id;
    const [counts, claimed, progress] = await Promise.all([
      this.deps.ledger.counts(ledgerId),
      this.deps.ledger.claimedDeliveries(ledgerId),
      this.deps.temporal.workflow
        .getHandle(send.workflowId)
        .query(progressQuery)
        .catch(() => null),
    ]);
    const recorded = total(counts);
    const inFlight = Math.max(0, claimed - recorded) + total(counts, ['pending']);
    const sentBefore = total(counts, SENT);
    // Deferred deliveries wait for quiet hours: the cancel takes them too.
    const settled = recorded - total(counts, ['pending', 'cancelled', 'deferred']);
    const channels = send.request.channels.length;
    const expected =
      send.audience && progress ? (send.audience.recipients + progress.missingRecipients) * channels : undefined;
    const cancelled = expected === undefined ? null : Math.max(0, expected - settled - inFlight);
    return { ...base, cancelledWhile: 'running', deliveries: { sentBefore, inFlight, cancelled } };
  }
}
