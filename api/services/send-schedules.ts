import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import type { AppConfig } from '../../common/config/config';
import { badRequest, conflict, HttpError, notFound } from '../../common/domain/http-errors';
import type { SendRequest, SendStatus } from '../../common/domain/send-types';
import type { MessageRequestsRepository } from '../../common/store/messaging/message-requests-repository';
import type {
  ScheduledMessagesRequest,
  SendSchedulesRepository,
  SendScheduleDocument,
} from '../../common/store/send-schedules-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';
import { scheduledSendWorkflowId } from '../../common/temporal/workflow-ids';
import { deliverMessages, sendMessage } from '../../workflows';
import type { DeliverMessagesInput } from '../../workflows/deliver-messages';
import type { SendMessageInput } from '../../workflows/send-message';
import type { ScheduleBody, SchedulePatch } from '../schemas/schedules-schemas';
import { temporalSpecOf } from './schedule-spec';
import type { SendPreparation } from './send-preparation';
import { sendStatusUrl } from './send-result';
import {
  deliverMessagesInput,
  requestChannels,
  requestMemo,
  type MessageRequests,
} from './messaging/message-requests-service';

/** How many firing times `GET /schedules` and `GET /schedules/:id` show. */
const NEXT_FIRINGS = 5;

export interface SendSchedulesDeps {
  config: AppConfig;
  temporal: Client;
  schedules: SendSchedulesRepository;
  sends: SendsRepository;
  preparation: SendPreparation;
  /** The checks of `POST /messages`, for a schedule of `/messages` requests. */
  messagePreparation: Pick<MessageRequests, 'prepare'>;
  messageRequests: MessageRequestsRepository;
}

/** Who created or changes a schedule of `/messages` requests: each firing's request is theirs, as if they posted it. */
export interface ScheduleCaller {
  apiKeyId: string | null;
  /** The application of the caller's key, the request's `appId` unless the body names one. */
  appId?: string;
}

/** What each firing makes: a send (`request`) or a `/messages` request (`messageRequest`). */
type Firing = Pick<SendScheduleDocument, 'request' | 'messageRequest'>;

/** A schedule as `GET /schedules` lists it. */
export interface ScheduleSummary {
  scheduleId: string;
  makes: 'send' | 'messages';
  spec: SendScheduleDocument['spec'];
  timezone: string;
  paused: boolean;
  channels: string[];
  templateId: string | null;
  nextFirings: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** A send or a `/messages` request a schedule started. */
export type FiredSend = ({ sendId: string } | { requestId: string }) & {
  firingTime: string;
  startedAt: string;
  status: SendStatus;
  statusUrl: string;
};

/** A schedule as `GET /schedules/:id` shows it: its summary, Temporal's counts and its last sends. */
export interface ScheduleDetail extends ScheduleSummary {
  note: string | null;
  catchupWindowSeconds: number;
  fired: number;
  missedCatchupWindow: number;
  skippedOverlap: number;
  lastSends: FiredSend[];
}

/**
 * Recurring sends (docs/operating-sends.md "Recurring sends") on Temporal Schedules. The send a firing makes is
 * stored once in `send_schedules` and checked as `POST /send` checks it; the schedule's action starts the ordinary
 * `sendMessage` workflow with the schedule's id as `firingOf`, under `sched-<scheduleId>`, to which Temporal appends
 * the firing time: each firing is a send of its own, started once, and records its own send document. A schedule of
 * `/messages` requests (`messages`) stores the request as `POST /messages` checks it and starts the ordinary
 * `deliverMessages` the same way: each firing records its own request, `GET /messages/<its id>`.
 */
export class SendSchedules {
  constructor(private readonly deps: SendSchedulesDeps) {}

  /** Creates the schedule; 400 naming the field and nothing created for a bad body, 409 when the id is taken. */
  async create(body: ScheduleBody, caller: ScheduleCaller): Promise<ScheduleDetail> {
    const scheduleId = body.scheduleId ?? randomUUID();
    const spec = temporalSpecOf(body.spec, body.timezone);
    const firing = await this.firingOf(scheduleId, body, caller);
    const now = new Date();
    const stored = {
      _id: scheduleId,
      ...firing,
      spec: body.spec,
      timezone: body.timezone,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.deps.schedules.create(stored))) throw conflict(`scheduleId: ${scheduleId} already exists`);
    try {
      await this.deps.temporal.schedule.create({ scheduleId, ...this.scheduleOptions(scheduleId, spec, firing) });
    } catch (error) {
      // The document is the schedule's only while Temporal holds the schedule too.
      await this.deps.schedules.delete(scheduleId);
      if (error instanceof ScheduleAlreadyRunning) throw conflict(`scheduleId: ${scheduleId} already exists`);
      throw specRefusal(error);
    }
    return this.describe(scheduleId);
  }

  async describe(scheduleId: string): Promise<ScheduleDetail> {
    const stored = await this.stored(scheduleId);
    const description = await this.temporalCall(scheduleId, (handle) => handle.describe());
    const lastSends = await Promise.all(
      description.info.recentActions.map(async ({ scheduledAt, takenAt, action }): Promise<FiredSend> => {
        const id = action.workflow.workflowId;
        const times = { firingTime: scheduledAt.toISOString(), startedAt: takenAt.toISOString() };
        // A firing records its document as its first step: until then it runs without one.
        if (stored.messageRequest) {
          const request = await this.deps.messageRequests.get(id);
          const statusUrl = `/messages/${encodeURIComponent(id)}`;
          return { requestId: id, ...times, status: request?.status ?? 'running', statusUrl };
        }
        const send = await this.deps.sends.get(id);
        return { sendId: id, ...times, status: send?.status ?? 'running', statusUrl: sendStatusUrl(id) };
      }),
    );
    return {
      ...summaryOf(stored, description),
      note: description.state.note || null,
      catchupWindowSeconds: Math.round(description.policies.catchupWindow / 1000),
      fired: description.info.numActionsTaken,
      missedCatchupWindow: description.info.numActionsMissedCatchupWindow,
      skippedOverlap: description.info.numActionsSkippedOverlap,
      lastSends,
    };
  }

  /** A page of schedules in id order, each with its state in Temporal (one describe each). */
  async list(limit: number, skip: number): Promise<ScheduleSummary[]> {
    const page = await this.deps.schedules.list(limit, skip);
    return Promise.all(
      page.map(async (stored) => {
        const description = await this.deps.temporal.schedule
          .getHandle(stored._id)
          .describe()
          .catch((error: unknown) => {
            if (error instanceof ScheduleNotFoundError) return undefined;
            throw error;
          });
        return summaryOf(stored, description);
      }),
    );
  }

  /** Changes the times, the time zone or the send of the firings to come; paused stays paused. */
  async update(scheduleId: string, patch: SchedulePatch, caller: ScheduleCaller): Promise<ScheduleDetail> {
    const stored = await this.stored(scheduleId);
    const times = patch.spec ?? stored.spec;
    const timezone = patch.timezone ?? stored.timezone;
    const spec = temporalSpecOf(times, timezone);
    // A schedule keeps making what it made: a send stays a send, a `/messages` request a request.
    if (patch.send && stored.messageRequest) throw badRequest(`send: schedule ${scheduleId} makes /messages requests`);
    if (patch.messages && stored.request) throw badRequest(`messages: schedule ${scheduleId} makes sends`);
    const changed = patch.send || patch.messages ? await this.firingOf(scheduleId, patch, caller) : undefined;
    const firing: Firing = changed ?? { request: stored.request, messageRequest: stored.messageRequest };
    await this.temporalCall(scheduleId, (handle) =>
      handle
        .update((previous) => ({
          ...this.scheduleOptions(scheduleId, spec, firing),
          state: {
            paused: previous.state.paused,
            note: previous.state.note,
            remainingActions: previous.state.remainingActions,
          },
        }))
        .catch((error: unknown) => {
          throw specRefusal(error);
        }),
    );
    await this.deps.schedules.update(scheduleId, { spec: times, timezone, ...changed });
    return this.describe(scheduleId);
  }

  async pause(scheduleId: string): Promise<ScheduleDetail> {
    await this.stored(scheduleId);
    await this.temporalCall(scheduleId, (handle) => handle.pause('paused through POST /schedules/:id/pause'));
    return this.describe(scheduleId);
  }

  async unpause(scheduleId: string): Promise<ScheduleDetail> {
    await this.stored(scheduleId);
    await this.temporalCall(scheduleId, (handle) => handle.unpause('unpaused through POST /schedules/:id/unpause'));
    return this.describe(scheduleId);
  }

  /** Fires once now, whatever the times (and even paused); skipped, like any firing, while the last send still runs. */
  async trigger(scheduleId: string): Promise<void> {
    await this.stored(scheduleId);
    await this.temporalCall(scheduleId, (handle) => handle.trigger());
  }

  /** Deletes the schedule: no firing after the answer; sends already started run to their end. */
  async delete(scheduleId: string): Promise<void> {
    await this.stored(scheduleId);
    await this.deps.temporal.schedule
      .getHandle(scheduleId)
      .delete()
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
    await this.deps.schedules.delete(scheduleId);
  }

  private async stored(scheduleId: string): Promise<SendScheduleDocument> {
    const stored = await this.deps.schedules.get(scheduleId);
    if (!stored) throw notFound(`scheduleId: no schedule ${scheduleId}`);
    return stored;
  }

  private async temporalCall<T>(scheduleId: string, call: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
    try {
      return await call(this.deps.temporal.schedule.getHandle(scheduleId));
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw notFound(`scheduleId: no schedule ${scheduleId}`);
      throw error;
    }
  }

  /**
   * What each firing makes, checked as `POST /send` or `POST /messages` checks it, errors naming the field under
   * `send.` or `messages.`.
   */
  private async firingOf(
    scheduleId: string,
    body: Pick<ScheduleBody, 'send' | 'messages'>,
    caller: ScheduleCaller,
  ): Promise<Firing> {
    if (body.send) return { request: await refusalsUnder('send', this.deps.preparation.prepare(body.send)) };
    if (!body.messages) throw badRequest('send: give send (a POST /send body) or messages (a POST /messages body)');
    const { appId = caller.appId, callback, cancellationKey } = body.messages;
    // Made of the firings' common prefix; each firing's request numbers its messages under its own id.
    const messages = await refusalsUnder(
      'messages',
      this.deps.messagePreparation.prepare(body.messages, scheduledSendWorkflowId(scheduleId)),
    );
    const messageRequest: ScheduledMessagesRequest = {
      messages,
      channels: requestChannels(messages),
      apiKeyId: caller.apiKeyId,
      ...(appId !== undefined ? { appId } : {}),
      ...(callback ? { callback: { url: callback.url, meta: callback.meta ?? {} } } : {}),
      ...(cancellationKey !== undefined ? { cancellationKey } : {}),
    };
    return { messageRequest };
  }

  private scheduleOptions(scheduleId: string, spec: ScheduleSpec, firing: Firing): Omit<ScheduleOptions, 'scheduleId'> {
    const policies = {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: this.deps.config.service.schedules.catchupWindowSeconds * 1000,
    };
    if (firing.messageRequest)
      return { spec, action: this.messagesAction(scheduleId, firing.messageRequest), policies };
    if (!firing.request) throw new Error(`schedule ${scheduleId} makes neither a send nor a /messages request`);
    return { spec, action: this.sendAction(scheduleId, firing.request), policies };
  }

  /** Each firing starts `deliverMessages` as `POST /messages` does, under its own id (its workflow id). */
  private messagesAction(scheduleId: string, request: ScheduledMessagesRequest): ScheduleOptions['action'] {
    const { config } = this.deps;
    const workflowId = scheduledSendWorkflowId(scheduleId);
    // The same for every firing; the firing takes its request id from its workflow id (workflows/recurring-send.ts).
    const input: DeliverMessagesInput = {
      ...deliverMessagesInput(config, workflowId, request.messages, request.callback !== undefined),
      firingOf: scheduleId,
    };
    return {
      type: 'startWorkflow',
      workflowType: deliverMessages,
      workflowId,
      taskQueue: config.env.TEMPORAL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.channels, value: request.channels }],
      memo: { ...requestMemo(request.messages, undefined), scheduleId },
    };
  }

  private sendAction(scheduleId: string, request: SendRequest): ScheduleOptions['action'] {
    const { config } = this.deps;
    const workflowId = scheduledSendWorkflowId(scheduleId);
    // The same for every firing; the firing takes its send id from its workflow id (workflows/recurring-send.ts).
    const input: SendMessageInput = {
      sendId: workflowId,
      channels: request.channels,
      fanOut: config.service.fanOut,
      retry: config.service.dispatchRetry,
      firingOf: scheduleId,
    };
    return {
      type: 'startWorkflow',
      workflowType: sendMessage,
      workflowId,
      taskQueue: config.env.TEMPORAL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.channels, value: request.channels },
        ...(request.templateId ? [{ key: SEARCH_ATTRIBUTES.templateId, value: request.templateId }] : []),
      ],
      // A summary for the UI, as a send started by the API has; never message bodies or the audience itself.
      memo: {
        channels: request.channels,
        templateId: request.templateId ?? null,
        recipients: request.recipients.length,
        clusters: request.clusters.length,
        scheduleId,
      },
    };
  }
}

/** A check's 4xx refusal with its field named under `prefix.` (`messages.sms[0].to[0]: …`). */
async function refusalsUnder<T>(prefix: string, check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (error) {
    if (error instanceof HttpError && error.statusCode < 500)
      throw new HttpError(error.statusCode, `${prefix}.${error.message}`);
    throw error;
  }
}

/** Temporal's refusal of a spec (a `TypeError` of its client) as a 400; anything else thrown on. */
function specRefusal(error: unknown): unknown {
  return error instanceof TypeError ? badRequest(`spec: ${error.message}`) : error;
}

function summaryOf(stored: SendScheduleDocument, description: ScheduleDescription | undefined): ScheduleSummary {
  return {
    scheduleId: stored._id,
    makes: stored.messageRequest ? 'messages' : 'send',
    spec: stored.spec,
    timezone: stored.timezone,
    paused: description?.state.paused ?? false,
    channels: stored.messageRequest?.channels ?? stored.request?.channels ?? [],
    templateId: stored.request?.templateId ?? null,
    nextFirings: (description?.info.nextActionTimes ?? []).slice(0, NEXT_FIRINGS).map((time) => time.toISOString()),
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
