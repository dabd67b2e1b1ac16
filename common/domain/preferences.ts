import type { Channel } from '../config/config';

export { CATEGORY_NAME } from '../config/config';

/** The days quiet hours may name, Monday first. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One category's setting: on or off on every channel, or per channel (a channel it does not name falls through). */
export type CategorySetting = boolean | Partial<Record<Channel, boolean>>;

/** A change of some settings (`PATCH`): each channel and category given replaces its own; `quietHours: null` removes it. */
export interface PreferencesPatch {
  channels?: Preferences['channels'];
  categories?: Preferences['categories'];
  quietHours?: Preferences['quietHours'] | null;
}

/** What one user chose (`/users/:id/preferences`); a setting absent is no choice, and the next less specific one rules. */
export interface Preferences {
  channels: Partial<Record<Channel, boolean>>;
  categories: Record<string, CategorySetting>;
  quietHours?: { start: string; end: string; days?: Weekday[] };
}

export const NO_PREFERENCES: Preferences = { channels: {}, categories: {} };

/** Which setting decided a delivery, most specific first; `default` when the user chose nothing that applies. */
export type PreferenceRule = 'category-channel' | 'category' | 'channel' | 'default';

export interface PreferenceDecision {
  allowed: boolean;
  rule: PreferenceRule;
}

/**
 * Whether a user's preferences let a delivery on `channel` of `category` (none: a send without category) go: the most
 * specific setting wins — the category's setting for this channel, then the category's own on/off, then the channel's,
 * and a delivery nobody turned off goes (default on). Pure, so the table in docs/preferences.md is tested as it reads.
 */
export function decideByPreferences(
  preferences: Preferences,
  channel: Channel,
  category: string | undefined,
): PreferenceDecision {
  const setting = category === undefined ? undefined : ownValue(preferences.categories, category);
  if (typeof setting === 'object' && setting !== null) {
    const perChannel = ownValue(setting, channel);
    if (typeof perChannel === 'boolean') return { allowed: perChannel, rule: 'category-channel' };
  }
  if (typeof setting === 'boolean') return { allowed: setting, rule: 'category' };
  const channelSetting = ownValue(preferences.channels, channel);
  if (typeof channelSetting === 'boolean') return { allowed: channelSetting, rule: 'channel' };
  return { allowed: true, rule: 'default' };
}

/** A key's own value: a category named `constructor` or `__proto__` must not read the object's prototype. */
function ownValue<T>(record: Partial<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/**
 * Whether a send ignores preferences: it says `critical: true`, or its category is one the configuration lists in
 * `criticalCategories` (a password reset, a security alert: what a user cannot turn off).
 */
export function isCriticalSend(
  send: { critical?: boolean; category?: string },
  criticalCategories: readonly string[],
): boolean {
  return send.critical === true || (send.category !== undefined && criticalCategories.includes(send.category));
}
