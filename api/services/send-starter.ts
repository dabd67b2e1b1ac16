import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { AppConfig } from '../../common/config/config';
import { conflict, HttpError } from '../../common/domain/http-errors';
import { idempotentSendId, newSendId, retrySendId, sagaSendId } from '../../common/temporal/workflow-ids';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';
import type { SendsRepository } from '../../common/store/sends-repository';
import type { SendDocument, SendKind, SendRequest } from '../../common/domain/send-types';
import { sagaSendMessage, sendMessage } from '../../workflows';
import type { SagaSendInput } from '../../workflows/saga-send';
import type { SendMessageInput } from '../../workflows/send-message';
import type { IdempotencyOptions } from './request-digest';
import { refusedSaga } from './saga-fail-events-service';

export type SagaOptions = SagaSendInput['saga'];

/** A send that waits (docs/operating-sends.md "Send later and cancel"). */
export interface SendLaterOptions {
  /** When it goes out; absent: at once. */
  sendAt?: Date;
  /** The key `POST /sends/cancel` cancels it by, stored with the send before its workflow starts. */
  cancellationKey?: string;
}

type SendWorkflow = typeof sendMessage | typeof sagaSendMessage;

export interface StartedSend {
  sendId: string;
  workflowId: string;
  /** A scheduled send: when it goes out (that of the first send, for a repeated idempotent request). */
  sendAt?: Date;
}

export interface SendStarterDeps {
  config: AppConfig;
  sends: SendsRepository;
  temporal: Client;
}

/**
 * Starts sends: stores the send document, then starts its workflow with the send id as workflow id (docs/internals.md).
 * A crash in between leaves a document without a workflow, which `SendReconciler` closes as `NOT_STARTED`.
 */
export class SendStarter {
  constructor(private readonly deps: SendStarterDeps) {}

  /**
   * Stores the send and starts its workflow. With an idempotency key (or a saga id) the ids are derived from
   * it and the workflow id is never reused, so a repeated request finds the first send instead of starting a
   * second one. A key already used for a different body is a 422 (docs/api.md).
   */
  async start(
    request: SendRequest,
    options: { idempotency?: IdempotencyOptions; saga?: SagaOptions; later?: SendLaterOptions } = {},
  ): Promise<StartedSend> {
    const { idempotency, saga, later = {} } = options;
    const sendId = saga ? sagaSendId(saga.sagaId) : idempotency ? idempotentSendId(idempotency.key) : newSendId();
    await this.record(sendId, saga ? 'saga' : 'send', request, {
      ...(saga ? { sagaId: saga.sagaId, ...(saga.eventsWhen ? { sagaEventsWhen: saga.eventsWhen } : {}) } : {}),
      ...(idempotency ? { requestDigest: idempotency.digest } : {}),
      ...(later.sendAt ? { status: 'scheduled', sendAt: later.sendAt } : {}),
      ...(later.cancellationKey !== undefined ? { cancellationKey: later.cancellationKey } : {}),
    });
    const stored = idempotency ? await this.assertSameRequest(sendId, idempotency) : null;
    // A repeated request (same key, same body) finds the first send: its sendAt, not one counted from now.
    const sendAt = stored ? stored.sendAt : later.sendAt;
    const input = this.workflowInput({
      sendId,
      channels: request.channels,
      ...(sendAt ? { sendAt: sendAt.toISOString() } : {}),
    });
    if (saga) {
      await this.startWorkflow(sagaSendMessage, { ...input, saga }, sendId, request, saga.sagaId);
    } else {
      await this.startWorkflow(sendMessage, input, sendId, request);
    }
    return { sendId, workflowId: sendId, ...(sendAt ? { sendAt } : {}) };
  }

  /**
   * Starts retry round `round` of a send that has ended (docs/operating-sends.md "Retry failed deliveries"): a new
   * workflow (`<sendId>-retry-<round>`) re-dispatches its failed deliveries, and both send documents name each other.
   */
  async startRetry(original: SendDocument, round: number): Promise<StartedSend> {
    const retryId = retrySendId(original._id, round);
    await this.record(retryId, 'retry', original.request, { retryOf: original._id });
    await this.deps.sends.linkRetry(original._id, retryId);
    const input = this.workflowInput({
      sendId: original._id,
      recordId: retryId,
      retryRound: round,
      channels: original.request.channels,
    });
    await this.startWorkflow(sendMessage, input, retryId, original.request, original.sagaId);
    return { sendId: retryId, workflowId: retryId };
  }

  /**
   * The send stored under this key was asked with the same body (the same digest). A send stored before digests
   * were kept has none and is taken as the same, as it always was.
   */
  private async assertSameRequest(sendId: string, idempotency: IdempotencyOptions): Promise<SendDocument | null> {
    const stored = await this.deps.sends.get(sendId);
    if (stored?.requestDigest !== undefined && stored.requestDigest !== idempotency.digest) {
      throw new HttpError(422, `Idempotency-Key: ${idempotency.key} was used for a different request`);
    }
    return stored;
  }

  private workflowInput(send: Omit<SendMessageInput, 'fanOut' | 'retry'>): SendMessageInput {
    return { ...send, fanOut: this.deps.config.service.fanOut, retry: this.deps.config.service.dispatchRetry };
  }

  private async record(
    sendId: string,
    kind: SendKind,
    request: SendRequest,
    extra: Partial<SendDocument>,
  ): Promise<void> {
    const now = new Date();
    await this.deps.sends.create({
      _id: sendId,
      workflowId: sendId,
      kind,
      request,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      ...extra,
    });
  }

  private async startWorkflow<W extends SendWorkflow>(
    workflow: W,
    input: Parameters<W>[0],
    workflowId: string,
    request: SendRequest,
    sagaId?: string,
  ) {
    const options = {
      workflowId,
      taskQueue: this.deps.config.env.TEMPORAL_TASK_QUEUE,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.channels, value: request.channels },
        ...(request.templateId ? [{ key: SEARCH_ATTRIBUTES.templateId, value: request.templateId }] : []),
        ...(sagaId ? [{ key: SEARCH_ATTRIBUTES.sagaId, value: sagaId }] : []),
        // A scheduled send shows as such from its start, before its first workflow task.
        ...(input.sendAt
          ? [
              { key: SEARCH_ATTRIBUTES.sendStatus, value: 'scheduled' },
              { key: SEARCH_ATTRIBUTES.scheduledFor, value: new Date(input.sendAt) },
            ]
          : []),
      ],
      // A summary for the UI, never message bodies or the audience itself.
      memo: {
        channels: request.channels,
        templateId: request.templateId ?? null,
        recipients: request.recipients.length,
        // Counts, not names: cluster names are the product team's and may name people (docs/operations.md "Encryption
        // of workflow data").
        clusters: request.clusters.length,
        attachments: request.emailAttachments.length,
        ...(input.retryRound ? { retryOf: input.sendId, retryRound: input.retryRound } : {}),
      },
    };
    try {
      await this.deps.temporal.workflow.start(workflow, { ...options, args: [input] as Parameters<W> });
    } catch (error) {
      // The same id started before: the same send (idempotency key, redelivered saga command).
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // Unless the fail event of a refused command for this saga took the id first (docs/operating-sends.md "Saga
      // sends"); the document just stored is closed as never started by the periodic reconciliation.
      const { type } = await this.deps.temporal.workflow.getHandle(workflowId).describe();
      if (type === workflow.name) return;
      throw sagaId ? refusedSaga(sagaId) : conflict(`sendId: ${workflowId} is taken by a ${type} workflow`);
    }
  }
}
