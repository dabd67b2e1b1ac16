import { createHash } from 'node:crypto';
import { ObjectId, type Collection, type Filter } from 'mongodb';
import { isDuplicateKey, type Database } from './db';
import { isObjectIdHex } from '../temporal/workflow-ids';
import type { TemplateMode } from './templates-repository';

/** A notification's review: `pending` from creation until an admin enables or disables it (docs/api.md). */
export const NOTIFICATION_STATUSES = ['pending', 'enabled', 'disabled'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * A notification an application registered for a tenant admin's review (the OS1 createNotifications): the mode
 * template it sends on each channel, by name. `POST /messages/notifications` sends it only while it is `enabled`.
 */
export interface NotificationDocument {
  _id: ObjectId;
  appId: string;
  name: string;
  description?: string;
  templates: Partial<Record<TemplateMode, string>>;
  /** Its messages' category, unless a message names its own; it wins over its templates' (docs/preferences.md). */
  category?: string;
  status: NotificationStatus;
  createdAt: Date;
  updatedAt: Date;
  /** When an admin last changed its status; absent while it was never reviewed. */
  reviewedAt?: Date;
  /**
   * The version of each channel's template the last enable approved: what the notification sends, whatever the
   * template's content is now. Absent on a notification enabled before versions were kept, which sends the latest.
   */
  approvedVersions?: Partial<Record<TemplateMode, number>>;
}

/**
 * The `_id` of the notification named `name`: the first 12 bytes of sha256('notification:' + name), so the store
 * keeps names unique and a notification is found by name with a point lookup (as mode templates).
 */
export const notificationId = (name: string): ObjectId =>
  new ObjectId(createHash('sha256').update(`notification:${name}`).digest().subarray(0, 12));

/** The notifications under admin review (`/notifications`). */
export class NotificationsRepository {
  private readonly notifications: Collection<NotificationDocument>;

  constructor(database: Pick<Database, 'notifications'>) {
    this.notifications = database.notifications;
  }

  /** The notification with this 24-hex id; null for an unknown or malformed one. */
  findById(id: string): Promise<NotificationDocument | null> {
    if (!isObjectIdHex(id)) return Promise.resolve(null);
    return this.notifications.findOne({ _id: new ObjectId(id) });
  }

  /** The notification named `name`, whatever its status; null when none. */
  findByName(name: string): Promise<NotificationDocument | null> {
    return this.notifications.findOne({ _id: notificationId(name) });
  }

  /**
   * Whether `appId` registered a notification, whatever its status: then its sends go by notification only. One
   * document at most is read, by the `by_app` index (common/store/db.ts).
   */
  async appHasNotification(appId: string): Promise<boolean> {
    const found = await this.notifications
      .find({ appId }, { projection: { _id: 1 } })
      .limit(1)
      .toArray();
    return found.length > 0;
  }

  list(filter: { appId?: string; status?: NotificationStatus; limit: number; skip: number }) {
    const query: Filter<NotificationDocument> = {
      ...(filter.appId !== undefined ? { appId: filter.appId } : {}),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
    };
    return this.notifications.find(query).sort({ _id: 1 }).skip(filter.skip).limit(filter.limit).toArray();
  }

  /** The document `insert` stores for these fields: `pending`, its id derived from its name. */
  newDocument(
    fields: Pick<NotificationDocument, 'appId' | 'name' | 'description' | 'templates' | 'category'>,
  ): NotificationDocument {
    const now = new Date();
    return { _id: notificationId(fields.name), ...fields, status: 'pending', createdAt: now, updatedAt: now };
  }

  /** False when a notification of this name exists: the store refused its `_id`. */
  async insert(notification: NotificationDocument): Promise<boolean> {
    try {
      await this.notifications.insertOne(notification);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /**
   * An admin enables the notification, approving these versions of its templates: always written, so that enabling an
   * enabled notification approves its templates' current versions. Null for an unknown id.
   */
  async enable(
    id: string,
    approvedVersions: Partial<Record<TemplateMode, number>>,
  ): Promise<NotificationDocument | null> {
    if (!isObjectIdHex(id)) return null;
    const now = new Date();
    return this.notifications.findOneAndUpdate(
      { _id: new ObjectId(id) },
      { $set: { status: 'enabled', approvedVersions, reviewedAt: now, updatedAt: now } },
      { returnDocument: 'after' },
    );
  }

  /** An admin's review: the notification as it now is (unchanged when it had that status), or null for an unknown id. */
  async review(id: string, status: Exclude<NotificationStatus, 'pending'>): Promise<NotificationDocument | null> {
    if (!isObjectIdHex(id)) return null;
    const now = new Date();
    const changed = await this.notifications.findOneAndUpdate(
      { _id: new ObjectId(id), status: { $ne: status } },
      { $set: { status, reviewedAt: now, updatedAt: now } },
      { returnDocument: 'after' },
    );
    return changed ?? this.findById(id);
  }

  /** False when no notification has this id. */
  async remove(id: string): Promise<boolean> {
    if (!isObjectIdHex(id)) return false;
    return (await this.notifications.deleteOne({ _id: new ObjectId(id) })).deletedCount > 0;
  }
}
