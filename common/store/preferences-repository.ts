import type { Collection } from 'mongodb';
import type { Preferences, PreferencesPatch } from '../domain/preferences';
import type { Database } from './db';
import { findByIds } from './find-by-ids';

/** One user's preferences (`preferences`), keyed by the user's id as a string (the id sends name). */
export interface PreferencesDocument extends Preferences {
  _id: string;
  updatedAt: Date;
}

/** Users' preferences, one document per user that set any (`/users/:id/preferences`). */
export class PreferencesRepository {
  private readonly preferences: Collection<PreferencesDocument>;

  constructor(database: Pick<Database, 'preferences'>) {
    this.preferences = database.preferences;
  }

  /** The user's preferences, or null when they never set any (every delivery goes). */
  async get(userId: string): Promise<PreferencesDocument | null> {
    return this.preferences.findOne({ _id: userId });
  }

  /** Replaces the user's preferences whole (`PUT`): an upsert by `_id`, so a repeat leaves one document. */
  async set(userId: string, preferences: Preferences): Promise<PreferencesDocument> {
    const document: PreferencesDocument = { _id: userId, ...withoutUndefined(preferences), updatedAt: new Date() };
    await this.preferences.replaceOne({ _id: userId }, document, { upsert: true });
    return document;
  }

  /**
   * Changes only the settings `patch` names (`PATCH`), each by its own path, so two patches of different settings
   * both stay, without a read before the write. Category names hold no dot (the schema refuses one): a name is one
   * path segment.
   */
  async patch(userId: string, patch: PreferencesPatch): Promise<PreferencesDocument> {
    const set: Record<string, unknown> = { updatedAt: new Date() };
    for (const [channel, on] of Object.entries(patch.channels ?? {})) set[`channels.${channel}`] = on;
    for (const [category, setting] of Object.entries(patch.categories ?? {})) set[`categories.${category}`] = setting;
    if (patch.quietHours) set.quietHours = patch.quietHours;
    // A first patch creates the document with the settings it does not name empty.
    const setOnInsert: Record<string, unknown> = {};
    if (Object.keys(patch.channels ?? {}).length === 0) setOnInsert.channels = {};
    if (Object.keys(patch.categories ?? {}).length === 0) setOnInsert.categories = {};
    await this.preferences.updateOne(
      { _id: userId },
      {
        $set: set,
        ...(patch.quietHours === null ? { $unset: { quietHours: '' } } : {}),
        ...(Object.keys(setOnInsert).length > 0 ? { $setOnInsert: setOnInsert } : {}),
      },
      { upsert: true },
    );
    return (await this.get(userId))!;
  }

  /** The preferences of the given users who have any (a dispatch reads a whole batch's at once). */
  async forUsers(userIds: string[]): Promise<Map<string, Preferences>> {
    if (userIds.length === 0) return new Map();
    const found = await findByIds(this.preferences, userIds);
    return new Map(
      found.map(({ _id, channels, categories, quietHours }) => [
        _id,
        { channels: channels ?? {}, categories: categories ?? {}, ...(quietHours ? { quietHours } : {}) },
      ]),
    );
  }

  /** Removes the user's preferences (their erasure). */
  async remove(userId: string): Promise<void> {
    await this.preferences.deleteOne({ _id: userId });
  }
}

const withoutUndefined = (preferences: Preferences): Preferences => ({
  channels: preferences.channels,
  categories: preferences.categories,
  ...(preferences.quietHours ? { quietHours: preferences.quietHours } : {}),
});
