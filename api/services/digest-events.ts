import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AppConfig } from '../../common/config/config';
import { nextWallClockTime } from '../../common/domain/digest-schedule';
import { isoDurationMs } from '../../common/toolkit/iso-duration';
import { HttpError, notFound } from '../../common/domain/http-errors';
import { timezoneOfUser } from '../../common/domain/user-timezone';
import {
  joinableEnd,
  type DigestDocument,
  type DigestEventAnswer,
  type DigestEventDocument,
  type DigestsRepository,
} from '../../common/store/digests-repository';
import type { UsersRepository } from '../../common/store/users-repository';
import {
  DEFAULT_DIGEST_EVENTS,
  digestEventSignal,
  flushDigestNowSignal,
  pendingEventsQuery,
  removeDigestEventSignal,
  type DigestEvent,
  type DigestSettings,
} from '../../common/temporal/digest-definitions';
import { digestId, newDigestEventId } from '../../common/temporal/workflow-ids';
import { mapWithConcurrency } from '../../common/toolkit/concurrency';
import { digest } from '../../workflows';
import type { DigestRule, EventBody } from '../schemas/digests-schemas';
import { messagesRequestDigest } from './request-digest';
import type { SendPreparation } from './send-preparation';

/** Signals and queries in flight at once for an event's recipients. */
const DIGESTS_IN_FLIGHT = 16;

/** How long `POST /events` waits for a digest to say when it flushes; then it answers `flushAt: null`. */
const FLUSH_AT_WAIT_MS = 2000;

/**
 * How far ahead a waiting batch's end must be for an event to join it through the store: the margin covers the
 * clocks of the API and Temporal, and an event that comes later goes by signal, as the batch's end is near.
 */
const JOIN_MARGIN_MS = 1000;

/**
 * How long a repeated `POST /events` waits for the first request's answer: longer than the first takes to hand its
 * event to the digests, so a repeat answers what the first answered.
 */
const FIRST_ANSWER_WAIT_MS = FLUSH_AT_WAIT_MS + 3000;
const FIRST_ANSWER_POLL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface DigestEventsDeps {
  config: AppConfig;
  temporal: Client;
  digests: DigestsRepository;
  users: UsersRepository;
  sendPreparation: SendPreparation;
}

/**
 * `POST /events` and `DELETE /events/:eventId` (docs/digests.md): checks an event whole, records it once under its id,
 * and hands it to the digest of each of its users: by signal-with-start, which two events of the same instant cannot
 * split into two digests, or into the inbox of a batch the digest waits on.
 */
export class DigestEvents {
  constructor(private readonly deps: DigestEventsDeps) {}

  /** Accepts the event, or answers again what its first acceptance answered. */
  async accept(body: EventBody): Promise<DigestEventAnswer> {
    const { users, digests, sendPreparation } = this.deps;
    const userIds = body.userId !== undefined ? [body.userId] : [...new Set(body.recipients)];
    const userField = body.userId !== undefined ? 'userId' : 'recipients';
    // An event for one user reads that user's digest beside the checks: the batch it may join.
    const oneDigest = userIds.length === 1 && !body.digest.sliding ? digestId(userIds[0], body.digestKey) : undefined;
    // Every check before anything is recorded: a 4xx leaves no trace.
    const [prepared, found, seen] = await Promise.all([
      sendPreparation.prepare({
        channels: body.channels,
        recipients: userIds,
        templateId: body.templateId,
        messageTitle: body.messageTitle,
        messageContent: body.messageContent,
        data: body.data,
        category: body.category,
        critical: body.critical,
      }),
      users.byIds(userIds),
      oneDigest ? digests.get(oneDigest) : null,
    ]);
    const missing = userIds.filter((id) => !found.has(id));
    if (missing.length > 0) throw notFound(`${userField}: no user ${missing.slice(0, 5).join(', ')}`);

    const { recipients: _recipients, clusters: _clusters, data, ...send } = prepared;
    const eventId = body.eventId ?? newDigestEventId();
    const receivedAt = new Date();
    const batchEnd = seen ? joinableEnd(seen, new Date(receivedAt.getTime() + JOIN_MARGIN_MS)) : null;
    const event: DigestEventDocument = {
      _id: eventId,
      // The whole body: the same event id with anything else in it is another event.
      requestDigest: messagesRequestDigest(body),
      userIds,
      digestKey: body.digestKey,
      send,
      data,
      ...(body.cancellationKey !== undefined ? { cancellationKey: body.cancellationKey } : {}),
      // The answer if the event joins the batch it read: stored with the event, which saves the answer's own write.
      ...(batchEnd && oneDigest
        ? { answer: { eventId, digests: [{ digestId: oneDigest, flushAt: batchEnd }] }, answeredBeforeHandOff: true }
        : {}),
      receivedAt,
      createdAt: receivedAt,
    };
    const earlier = await digests.insertEvent(event);
    if (earlier && earlier.requestDigest !== event.requestDigest) {
      throw new HttpError(422, `eventId: ${event._id} was used for a different event`);
    }
    if (earlier?.answer && !earlier.answeredBeforeHandOff) return earlier.answer;
    // A first acceptance, or a repeat of one that has not answered yet (still running, or stopped before it did, or
    // before its hand-off): the digests take an event they already hold once, so giving it again doubles nothing.
    const accepted = earlier ?? event;
    const timeZones = new Map([...found].map(([id, user]) => [id, this.timeZoneOf(user)]));
    const settingsFor = (userId: string) => settingsOf(body.digest, accepted.receivedAt, timeZones.get(userId));
    // The digest read beside the checks: it is not read again. After a failed push, none to join: signalled below.
    let seenDigest = oneDigest ? seen : undefined;
    if (accepted.answeredBeforeHandOff && accepted.answer) {
      const [{ digestId: id, flushAt }] = accepted.answer.digests;
      const handed = handedEvent(accepted, settingsFor(userIds[0]));
      if (await this.joinBatch(id, handed, flushAt!)) return accepted.answer;
      // The batch closed between the read and the push: the event is signalled below, and its answer replaced.
      seenDigest = null;
    }
    const answers = await mapWithConcurrency(accepted.userIds, DIGESTS_IN_FLIGHT, (userId) =>
      this.handToDigest(accepted, userId, settingsFor(userId), seenDigest),
    );
    const answer = { eventId: accepted._id, digests: answers.filter((digest) => digest !== undefined) };
    if (!earlier || earlier.answeredBeforeHandOff) {
      await digests.recordAnswer(accepted._id, answer);
      return answer;
    }
    // A repeat before the first request answered: that answer, once stored. None by then means the first stopped
    // before it answered, and this answer is the first.
    const first = await this.storedAnswer(accepted._id);
    if (first) return first;
    await digests.recordAnswer(accepted._id, answer);
    return answer;
  }

  /** The answer stored for the event, waited for up to `FIRST_ANSWER_WAIT_MS`. */
  private async storedAnswer(eventId: string): Promise<DigestEventAnswer | undefined> {
    const until = Date.now() + FIRST_ANSWER_WAIT_MS;
    for (;;) {
      const answer = await this.deps.digests.answerOf(eventId);
      if (answer || Date.now() >= until) return answer;
      await sleep(FIRST_ANSWER_POLL_MS);
    }
  }

  /** Removes the event from the digests that have not flushed it; they go on with the rest. */
  async remove(eventId: string): Promise<{ eventId: string; removedFrom: string[] }> {
    const { digests, temporal } = this.deps;
    const event = await digests.getEvent(eventId);
    if (!event) throw notFound(`eventId: no event ${eventId}`);
    await digests.markEventRemoved(eventId);
    const pendingIn = event.userIds
      .map((userId) => digestId(userId, event.digestKey))
      .filter((id) => event.flushedIn?.[id] === undefined);
    await mapWithConcurrency(pendingIn, DIGESTS_IN_FLIGHT, async (id) => {
      try {
        await temporal.workflow.getHandle(id).signal(removeDigestEventSignal, { eventId });
      } catch (error) {
        // A digest with nothing pending has ended: there is nothing to remove from it.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    });
    return { eventId, removedFrom: pendingIn };
  }

  /**
   * `POST /sends/cancel`'s part in digests: removes each event of `cancellationKey` from the digests that have not
   * flushed it, as `DELETE /events/:eventId` does; an event every digest has flushed is left as it is.
   */
  async removeByKey(cancellationKey: string): Promise<{ eventId: string; removedFrom: string[] }[]> {
    const { digests } = this.deps;
    const removed = [];
    for (const { _id } of await digests.unremovedEventsByKey(cancellationKey)) {
      const event = await digests.getEvent(_id);
      const pending = event?.userIds.some(
        (userId) => event.flushedIn?.[digestId(userId, event.digestKey)] === undefined,
      );
      if (pending) removed.push(await this.remove(_id));
    }
    return removed;
  }

  /** The user's time zone for a scheduled digest, as quiet hours read it: its own, else `defaultTimezone`. */
  private timeZoneOf(user: Record<string, unknown>): string {
    const { userFields, defaultTimezone } = this.deps.config.service;
    return timezoneOfUser(user, userFields.timezone, defaultTimezone);
  }

  /**
   * Hands the event to the user's digest and answers when the event's batch flushes. While the store shows the digest
   * waiting on a fixed end far enough ahead, the event joins that batch through the store (two keyed calls, no round
   * trip through Temporal or the worker: the way most events of a busy digest take); its flush takes it. Otherwise (a
   * new batch, a sliding window, an end too near, a batch that closed meanwhile) it is signalled, starting the digest
   * if need be, and the digest is asked when it flushes, for at most `FLUSH_AT_WAIT_MS`.
   */
  private async handToDigest(
    event: DigestEventDocument,
    userId: string,
    settings: DigestSettings,
    /** The user's digest as the caller read it (null: nothing to join); read here when undefined. */
    seen?: DigestDocument | null,
  ): Promise<{ digestId: string; flushAt: Date | null }> {
    const { config, temporal, digests } = this.deps;
    const id = digestId(userId, event.digestKey);
    const handed = handedEvent(event, settings);
    if (!settings.sliding) {
      const stored = seen === undefined ? await digests.get(id) : seen;
      const batchEnd = stored && joinableEnd(stored, new Date(Date.now() + JOIN_MARGIN_MS));
      if (batchEnd && (await this.joinBatch(id, handed, batchEnd))) return { digestId: id, flushAt: batchEnd };
    }
    const handle = await temporal.workflow.signalWithStart(digest, {
      workflowId: id,
      taskQueue: config.env.TEMPORAL_TASK_QUEUE,
      args: [
        {
          digestId: id,
          userId,
          digestKey: event.digestKey,
          send: { fanOut: config.service.fanOut, retry: config.service.dispatchRetry },
        },
      ],
      signal: digestEventSignal,
      signalArgs: [handed],
      // Ids for the UI, never the events' data.
      memo: { userId, digestKey: event.digestKey },
    });
    const snapshot = await temporal
      .withDeadline(Date.now() + FLUSH_AT_WAIT_MS, () => handle.query(pendingEventsQuery))
      .catch(() => null);
    const flushAt = snapshot
      ? snapshot.pendingEventIds.includes(event._id)
        ? snapshot.flushAt
        : snapshot.lastFlushAt
      : null;
    return { digestId: id, flushAt: flushAt === null ? null : new Date(flushAt) };
  }

  /**
   * Pushes the event into the inbox of the batch seen waiting on `batchEnd`; whether it joined. A batch the push brought
   * to `maxEvents` flushes at once, as the workflow does when it counts them itself.
   */
  private async joinBatch(id: string, handed: DigestEvent, batchEnd: Date): Promise<boolean> {
    const joined = await this.deps.digests.pushToInbox(id, handed, batchEnd);
    if (joined?.full) await this.flushFullBatch(id);
    return joined !== null;
  }

  private async flushFullBatch(id: string): Promise<void> {
    try {
      await this.deps.temporal.workflow.getHandle(id).signal(flushDigestNowSignal);
    } catch (error) {
      // Ended meanwhile: then it flushed the batch already.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}

/** The event as a digest takes it, by signal or through its inbox: ids and times, never data. */
const handedEvent = (event: DigestEventDocument, settings: DigestSettings): DigestEvent => ({
  eventId: event._id,
  receivedAt: event.receivedAt.getTime(),
  settings,
});

/** The digest's rule in milliseconds; a scheduled one's next time in the user's time zone, from the event's arrival. */
export function settingsOf(rule: DigestRule, receivedAt: Date, timeZone = 'UTC'): DigestSettings {
  const ms = (duration: string | undefined) => (duration === undefined ? undefined : isoDurationMs(duration)!);
  const settings: DigestSettings = { maxEvents: rule.maxEvents ?? DEFAULT_DIGEST_EVENTS };
  if (rule.at) settings.atFlushAt = nextWallClockTime(receivedAt, rule.at, timeZone).getTime();
  if (rule.window !== undefined) settings.windowMs = ms(rule.window);
  if (rule.sliding) settings.sliding = true;
  if (rule.maxWindow !== undefined) settings.maxWindowMs = ms(rule.maxWindow);
  if (rule.lookBack !== undefined) settings.lookBackMs = ms(rule.lookBack);
  return settings;
}
