import type { Collection } from 'mongodb';
import { isDuplicateKey, type Database } from './db';
import type { SendRequest } from '../domain/send-types';
import type { MessageChannel, MessageRequestDocument, StoredMessage } from './messaging/message-requests-repository';

/**
 * When a recurring send fires, as the caller wrote it (`POST /schedules`): one of `calendar`, `cron` and `every`, within
 * `startAt`–`endAt` (RFC 3339). Temporal holds it translated.
 */
export interface ScheduleTimes {
  calendar?: CalendarEntry[];
  cron?: string;
  every?: string;
  startAt?: string;
  endAt?: string;
}

/** One `calendar` entry: a firing at `hour:minute` on the days that match every field given. */
export interface CalendarEntry {
  hour: number | number[];
  minute: number | number[];
  /** 0 = Sunday … 6 = Saturday; absent: any. */
  dayOfWeek?: number | number[];
  dayOfMonth?: number | number[];
  /** 1 = January … 12 = December; absent: any. */
  month?: number | number[];
}

/**
 * The `POST /messages` request each firing of a recurring send makes, checked and normalized as `POST /messages`
 * stores it; its message ids are `sched-<scheduleId>-<n>`, a firing's own `<requestId>-<n>`.
 */
export interface ScheduledMessagesRequest extends Pick<
  MessageRequestDocument,
  'appId' | 'apiKeyId' | 'callback' | 'cancellationKey'
> {
  messages: StoredMessage[];
  /** The channels of its messages, kept apart so that a list of schedules needs no message. */
  channels: MessageChannel[];
}

/**
 * One recurring send (`send_schedules`, `_id` = the schedule id): the send or the `/messages` request each firing
 * makes, stored once here and copied into each firing's own document, never into workflow history.
 */
export interface SendScheduleDocument {
  _id: string;
  /** The `POST /send` body, checked and normalized as `POST /send` stores it; absent when it makes `messageRequest`. */
  request?: SendRequest;
  /** A schedule of `/messages` requests (`POST /schedules` with `messages`): the request each firing makes. */
  messageRequest?: ScheduledMessagesRequest;
  spec: ScheduleTimes;
  timezone: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The `send_schedules` collection; every write is keyed by the schedule id. */
export class SendSchedulesRepository {
  private readonly collection: Collection<SendScheduleDocument>;

  constructor(database: Pick<Database, 'sendSchedules'>) {
    this.collection = database.sendSchedules;
  }

  /** Stores a new schedule; false when its id is taken. */
  async create(schedule: SendScheduleDocument): Promise<boolean> {
    try {
      await this.collection.insertOne(schedule);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  get(scheduleId: string): Promise<SendScheduleDocument | null> {
    return this.collection.findOne({ _id: scheduleId });
  }

  /** A page of schedules in id order, without their requests' recipients, data and messages (they can be large). */
  list(limit: number, skip: number): Promise<SendScheduleDocument[]> {
    return this.collection
      .find({}, { projection: { 'request.recipients': 0, 'request.data': 0, 'messageRequest.messages': 0 } })
      .sort({ _id: 1 })
      .skip(skip)
      .limit(limit)
      .toArray();
  }

  async update(
    scheduleId: string,
    fields: Partial<Pick<SendScheduleDocument, 'request' | 'messageRequest' | 'spec' | 'timezone'>>,
  ): Promise<void> {
    await this.collection.updateOne({ _id: scheduleId }, { $set: { ...fields, updatedAt: new Date() } });
  }

  async delete(scheduleId: string): Promise<void> {
    await this.collection.deleteOne({ _id: scheduleId });
  }
}
