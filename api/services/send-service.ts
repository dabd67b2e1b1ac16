import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { z } from 'zod';
import type { AppConfig } from '../../common/config';
import type { Database } from '../../common/db';
import { badRequest, conflict, HttpError, notFound } from '../../common/errors';
import type { FilesServiceClient } from '../../common/files-service';
import { idempotentSendId, newSendId, retrySendId, sagaSendId } from '../../common/ids';
import type { Ledger } from '../../common/ledger';
import type { SendsRepository } from '../../common/sends-repository';
import { CompiledContent, MissingContentError } from '../../common/message-content';
import { MessageRenderer, TemplateSyntaxError } from '../../common/rendering';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import type { TemplatesRepository } from '../../common/templates-repository';
import type { Failure, SendDocument, SendKind, SendRequest, SendSummary } from '../../common/types';
import { sagaSendMessage, sendMessage } from '../../workflows';
import type { FanOutOptions, SagaSendInput, SendMessageInput } from '../../workflows/send-message';
import type { SendBody } from '../schemas/send';
import { assertStorableSize } from '../schemas/storable';

/** `/send` answers with at most this many failures; `/sends/:id/deliveries?status=failed` pages through all. */
const MAX_FAILURES_IN_RESPONSE = 10000;

const isEmail = (value: string) => z.email().safeParse(value).success;
const unique = <T>(items: T[]) => [...new Set(items)];

export type SagaOptions = SagaSendInput['saga'];

type SendWorkflow = typeof sendMessage | typeof sagaSendMessage;

export interface StartedSend {
  sendId: string;
  workflowId: string;
}

export type SendOutcome =
  | { state: 'completed'; body: { failures: Failure[]; sendId: string; workflowId: string; recipients: number } }
  | { state: 'running'; body: { sendId: string; workflowId: string; status: 'running'; statusUrl: string } };

/**
 * The behaviour of `POST /send` (spec §4) apart from HTTP: validates a request against the configuration,
 * the templates and the Files Service, stores it, starts its workflow, and waits for its result.
 * Every check runs before anything is stored or started, so a 4xx starts nothing.
 */
/** How old a send document without a workflow must be before it counts as never started (not yet starting). */
export const NOT_STARTED_GRACE_MS = 60_000;

export class SendService {
  private readonly renderer: MessageRenderer;

  constructor(
    private readonly deps: {
      config: AppConfig;
      database: Database;
      ledger: Ledger;
      sends: SendsRepository;
      templates: TemplatesRepository;
      files: FilesServiceClient;
      temporal: Client;
    },
  ) {
    this.renderer = new MessageRenderer(deps.config.env.DEFAULT_LOCALE);
  }

  /** Validates the cross-field rules and normalizes the body; throws `HttpError` naming the field. */
  async prepare(body: SendBody): Promise<SendRequest> {
    const { activeChannels } = this.deps.config.service;
    const inactive = body.channels.filter((channel) => !activeChannels.includes(channel));
    if (inactive.length > 0) {
      throw badRequest(`channels: ${inactive.join(', ')} not active (activeChannels: ${activeChannels.join(', ')})`);
    }
    const recipients = unique(body.recipients ?? []);
    const clusters = unique(body.clusters ?? []);
    if (recipients.length === 0 && clusters.length === 0) {
      throw badRequest('recipients: at least one of recipients or clusters must be a non-empty list');
    }
    if (!body.templateId) {
      if (body.messageTitle === undefined) throw badRequest('messageTitle: required when templateId is not given');
      if (body.messageContent === undefined) throw badRequest('messageContent: required when templateId is not given');
    }
    const template = body.templateId ? await this.deps.templates.findById(body.templateId) : null;
    if (body.templateId && !template) throw notFound(`templateId: template ${body.templateId} not found`);

    const request: SendRequest = {
      channels: unique(body.channels),
      recipients,
      clusters,
      ...(template
        ? { templateId: body.templateId }
        : { messageTitle: body.messageTitle, messageContent: body.messageContent }),
      data: body.data ?? {},
      emailAttachments: unique([
        ...(body.emailAttachments ?? []),
        ...(template?.emailAttachments ?? []).map((a) => a.file),
      ]),
      emailCarbonCopies: unique((body.emailCarbonCopies ?? []).filter(isEmail)),
      emailBlindCarbonCopies: unique((body.emailBlindCarbonCopies ?? []).filter(isEmail)),
      ...(body.emailSender ? { emailSender: body.emailSender } : {}),
    };
    try {
      new CompiledContent(request, template, this.renderer);
    } catch (error) {
      if (error instanceof TemplateSyntaxError || error instanceof MissingContentError) throw badRequest(error.message);
      throw error;
    }
    // The request is stored whole in the send document (a saga's data holds its whole command besides).
    assertStorableSize(request);
    await this.checkAttachments(request, (body.emailAttachments ?? []).length > 0);
    return request;
  }

  /** Attachments must exist and fit in 15 MB before anything starts (spec §4). */
  private async checkAttachments(request: SendRequest, requestedAny: boolean): Promise<void> {
    if (request.emailAttachments.length === 0) return;
    if (!this.deps.files.configured) {
      if (requestedAny || request.channels.includes('email')) {
        throw badRequest('emailAttachments: attachments need a Files Service, and FILE_SERVICE_URL is not set');
      }
      return;
    }
    try {
      await this.deps.files.downloadAll(request.emailAttachments);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(503, `emailAttachments: the Files Service cannot be reached: ${(error as Error).message}`);
    }
  }

  fanOut(): FanOutOptions {
    return this.deps.config.service.fanOut;
  }

  /**
   * Stores the send and starts its workflow. With an idempotency key (or a saga id) the ids are derived from
   * it and the workflow id is never reused, so a repeated request finds the first send instead of starting a
   * second one.
   */
  async start(
    request: SendRequest,
    options: { idempotencyKey?: string; saga?: SagaOptions } = {},
  ): Promise<StartedSend> {
    const sendId = options.saga
      ? sagaSendId(options.saga.sagaId)
      : options.idempotencyKey
        ? idempotentSendId(options.idempotencyKey)
        : newSendId();
    await this.record(sendId, options.saga ? 'saga' : 'send', request, {
      ...(options.saga ? { sagaId: options.saga.sagaId } : {}),
    });
    const input: SendMessageInput = {
      sendId,
      channels: request.channels,
      fanOut: this.fanOut(),
      retry: this.deps.config.service.dispatchRetry,
    };
    if (options.saga) {
      const saga: SagaSendInput = { ...input, saga: options.saga };
      await this.startWorkflow(sagaSendMessage, saga, sendId, request, options.saga.sagaId);
    } else {
      await this.startWorkflow(sendMessage, input, sendId, request);
    }
    return { sendId, workflowId: sendId };
  }

  /**
   * A send whose document says `running` but whose workflow has closed without finishing it (terminated,
   * cancelled, timed out, failed: an operator's action or a bug) is closed here as `failed`, with the ledger's
   * counts and the workflow's status in `closedBy`. So is a document whose workflow never started (the API
   * died between storing the send and starting it; the client got no 2xx and nothing was sent): after a
   * grace period, `closedBy: "NOT_STARTED"`. Without this they would read `running` forever and refuse
   * retries. A workflow still running, or a Temporal cluster that does not answer, leaves the document as it is.
   */
  async reconcile(send: SendDocument): Promise<SendDocument> {
    if (send.status !== 'running') return send;
    let closedBy: string;
    let closedAt: Date;
    try {
      const description = await this.deps.temporal.workflow.getHandle(send.workflowId).describe();
      const status = description.status.name;
      if (status === 'RUNNING' || status === 'COMPLETED' || status === 'CONTINUED_AS_NEW') return send;
      closedBy = status;
      closedAt = description.closeTime ?? new Date();
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) return send;
      if (Date.now() - send.createdAt.getTime() < NOT_STARTED_GRACE_MS) return send;
      closedBy = 'NOT_STARTED';
      closedAt = new Date();
    }
    const counts = await this.deps.ledger.counts(send.retryOf ?? send._id);
    const closed = { status: 'failed' as const, counts, closedBy, completedAt: closedAt };
    await this.deps.sends.update(send._id, closed);
    return { ...send, ...closed };
  }

  /** Closes the `running` sends whose workflow is gone (see `reconcile`); the API runs it at start. */
  async reconcileRunning(): Promise<number> {
    let closed = 0;
    for (const send of await this.deps.sends.list({ status: 'running', limit: 1000, skip: 0 })) {
      if ((await this.reconcile(send)).status !== 'running') closed++;
    }
    return closed;
  }

  /**
   * `POST /sends/:sendId/retry`: a new workflow (`<sendId>-retry-<n>`) re-dispatches the send's failed
   * deliveries with the current provider configuration; both send documents name each other.
   */
  async retry(sendId: string): Promise<StartedSend & { retryOf: string }> {
    const send = await this.deps.sends.get(sendId);
    if (!send) throw notFound(`sendId: send ${sendId} not found`);
    const originalId = send.retryOf ?? send._id;
    const stored = send.retryOf ? await this.deps.sends.get(originalId) : send;
    if (!stored) throw notFound(`sendId: send ${originalId} not found`);
    const original = await this.reconcile(stored);
    if (original.status === 'running') throw conflict(`sendId: send ${originalId} is still running`);
    if ((await this.deps.ledger.retryableFailures(originalId)) === 0) {
      throw conflict(`sendId: send ${originalId} has no failed deliveries to retry`);
    }
    const round = (original.retries?.length ?? 0) + 1;
    const retryId = retrySendId(originalId, round);
    await this.record(retryId, 'retry', original.request, { retryOf: originalId });
    await this.deps.sends.linkRetry(originalId, retryId);
    const input: SendMessageInput = {
      sendId: originalId,
      recordId: retryId,
      retryRound: round,
      channels: original.request.channels,
      fanOut: this.fanOut(),
      retry: this.deps.config.service.dispatchRetry,
    };
    await this.startWorkflow(sendMessage, input, retryId, original.request, original.sagaId);
    return { sendId: retryId, workflowId: retryId, retryOf: originalId };
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
      ],
      // A summary for the UI, never message bodies or the audience itself.
      memo: {
        channels: request.channels,
        templateId: request.templateId ?? null,
        recipients: request.recipients.length,
        // Temporal refuses a memo over 2 MB; names are cut so that long ones cannot fail the start.
        clusters: request.clusters.slice(0, 20).map((cluster) => cluster.slice(0, 100)),
        attachments: request.emailAttachments.length,
        ...(input.retryRound ? { retryOf: input.sendId, retryRound: input.retryRound } : {}),
      },
    };
    try {
      await this.deps.temporal.workflow.start(workflow, { ...options, args: [input] as Parameters<W> });
    } catch (error) {
      // The same id started before: the same send (idempotency key, redelivered saga command).
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  statusUrl(sendId: string): string {
    return `/sends/${encodeURIComponent(sendId)}`;
  }

  /** Waits up to `waitMs` for the send to finish: its result when it does, a 202 body when it does not. */
  async await(started: StartedSend, waitMs: number): Promise<SendOutcome> {
    const running: SendOutcome = {
      state: 'running',
      body: { ...started, status: 'running', statusUrl: this.statusUrl(started.sendId) },
    };
    if (waitMs <= 0) return running;
    const handle = this.deps.temporal.workflow.getHandle(started.workflowId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)));
    try {
      const summary = await Promise.race([handle.result() as Promise<SendSummary>, timeout]);
      if (!summary) return running;
      const failures =
        summary.failureCount > summary.failures.length
          ? await this.deps.ledger.failures(started.sendId, MAX_FAILURES_IN_RESPONSE)
          : summary.failures;
      return {
        state: 'completed',
        body: { failures, sendId: started.sendId, workflowId: started.workflowId, recipients: summary.recipients },
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
