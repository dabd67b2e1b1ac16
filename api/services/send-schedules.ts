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
import type { SendSchedulesRepository, SendScheduleDocument } from '../../common/store/send-schedules-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';
import { scheduledSendWorkflowId } from '../../common/temporal/workflow-ids';
import { sendMessage } from '../../workflows';
import type { SendMessageInput } from '../../workflows/send-message';
import type { ScheduleBody, SchedulePatch } from '../schemas/schedules-schemas';
import { temporalSpecOf } from './schedule-spec';
import type { SendPreparation } from './send-preparation';
import { sendStatusUrl } from './send-result';

/** How many firing times `GET /schedules` and `GET /schedules/:id` show. */
const NEXT_FIRINGS = 5;

export interface SendSchedulesDeps {
  config: AppConfig;
  temporal: Client;
  schedules: SendSchedulesRepository;
  sends: SendsRepository;
  preparation: SendPreparation;
}

/** A schedule as `GET /schedules` lists it. */
export interface ScheduleSummary {
  scheduleId: string;
  spec: SendScheduleDocument['spec'];
  timezone: string;
  paused: boolean;
  channels: string[];
  templateId: string | null;
  nextFirings: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** A send a schedule started. */
export interface FiredSend {
  sendId: string;
  firingTime: string;
  startedAt: string;
  status: SendStatus;
  statusUrl: string;
}

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
 * the firing time: each firing is a send of its own, started once, and records its own send document.
 */
export class SendSchedules {
  constructor(private readonly deps: SendSchedulesDeps) {}

  /** Creates the schedule; 400 naming the field and nothing created for a bad body, 409 when the id is taken. */
  async create(body: ScheduleBody): Promise<ScheduleDetail> {
    const scheduleId = body.scheduleId ?? randomUUID();
    const spec = temporalSpecOf(body.spec, body.timezone);
    const request = await this.prepare(body.send);
    const now = new Date();
    const stored = {
      _id: scheduleId,
      request,
      spec: body.spec,
      timezone: body.timezone,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.deps.schedules.create(stored))) throw conflict(`scheduleId: ${scheduleId} already exists`);
    try {
      await this.deps.temporal.schedule.create({ scheduleId, ...this.scheduleOptions(scheduleId, spec, request) });
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
      description.info.recentActions.map(async ({ scheduledAt, takenAt, action }) => {
        const sendId = action.workflow.workflowId;
        const send = await this.deps.sends.get(sendId);
        return {
          sendId,
          firingTime: scheduledAt.toISOString(),
          startedAt: takenAt.toISOString(),
          // A firing records its document as its first step: until then it runs without one.
          status: send?.status ?? 'running',
          statusUrl: sendStatusUrl(sendId),
        };
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
  async update(scheduleId: string, patch: SchedulePatch): Promise<ScheduleDetail> {
    const stored = await this.stored(scheduleId);
    const times = patch.spec ?? stored.spec;
    const timezone = patch.timezone ?? stored.timezone;
    const spec = temporalSpecOf(times, timezone);
    const request = patch.send ? await this.prepare(patch.send) : stored.request;
    await this.temporalCall(scheduleId, (handle) =>
      handle
        .update((previous) => ({
          ...this.scheduleOptions(scheduleId, spec, request),
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
    await this.deps.schedules.update(scheduleId, {
      spec: times,
      timezone,
      ...(patch.send ? { request } : {}),
    });
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

  /** `POST /send`'s checks, its errors naming the field under `send.`. */
  private async prepare(send: ScheduleBody['send']): Promise<SendRequest> {
    try {
      return await this.deps.preparation.prepare(send);
    } catch (error) {
      if (error instanceof HttpError && error.statusCode < 500)
        throw new HttpError(error.statusCode, `send.${error.message}`);
      throw error;
    }
  }

  private scheduleOptions(
    scheduleId: string,
    spec: ScheduleSpec,
    request: SendRequest,
  ): Omit<ScheduleOptions, 'scheduleId'> {
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
      spec,
      action: {
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
      },
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        catchupWindow: config.service.schedules.catchupWindowSeconds * 1000,
      },
    };
  }
}

/** Temporal's refusal of a spec (a `TypeError` of its client) as a 400; anything else thrown on. */
function specRefusal(error: unknown): unknown {
  return error instanceof TypeError ? badRequest(`spec: ${error.message}`) : error;
}

function summaryOf(stored: SendScheduleDocument, description: ScheduleDescription | undefined): ScheduleSummary {
  return {
    scheduleId: stored._id,
    spec: stored.spec,
    timezone: stored.timezone,
    paused: description?.state.paused ?? false,
    channels: stored.request.channels,
    templateId: stored.request.templateId ?? null,
    nextFirings: (description?.info.nextActionTimes ?? []).slice(0, NEXT_FIRINGS).map((time) => time.toISOString()),
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
