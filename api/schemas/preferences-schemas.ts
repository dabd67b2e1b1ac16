import { z } from 'zod';
import { CHANNELS, type Channel } from '../../common/config/config';
import { CATEGORY_NAME, WEEKDAYS } from '../../common/domain/preferences';

/** At most this many categories in one user's preferences. */
export const MAX_CATEGORIES = 100;

export const categoryName = z
  .string()
  .regex(CATEGORY_NAME, 'must be a letter or digit then letters, digits, _, : or -, at most 64 characters');

/** On or off per channel; an unknown channel is refused by name. */
const channelSwitches = z
  .object(Object.fromEntries(CHANNELS.map((channel) => [channel, z.boolean().optional()])))
  .strict() as z.ZodType<Partial<Record<Channel, boolean>>>;

const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM (00:00 to 23:59)');

const quietHours = z
  .object({
    start: timeOfDay,
    end: timeOfDay,
    days: z.array(z.enum(WEEKDAYS)).min(1).optional().describe('The days the window starts on; default: every day'),
  })
  .strict()
  .refine((hours) => hours.start !== hours.end, { path: ['end'], message: 'must differ from start' });

const categories = z.record(z.string(), z.union([z.boolean(), channelSwitches])).superRefine((record, context) => {
  // Checked here rather than by the record's key schema, whose issue names neither the key nor the reason.
  const names = Object.keys(record);
  if (names.length > MAX_CATEGORIES) context.addIssue({ code: 'custom', message: `at most ${MAX_CATEGORIES}` });
  for (const name of names) {
    if (!CATEGORY_NAME.test(name)) {
      context.addIssue({ code: 'custom', path: [name], message: `must be a category name (${CATEGORY_NAME.source})` });
    }
  }
});

const preferencesShape = {
  channels: channelSwitches.describe('On or off per channel; a channel not named is on'),
  categories: categories.describe('Per category: on/off on every channel, or {<channel>: boolean}'),
  quietHours: quietHours.describe("A daily window in the user's timezone (stored; see docs/preferences.md)"),
};

/** `PUT /users/:id/preferences`: the preferences replaced whole. */
export const preferencesBodySchema = z
  .object({
    channels: preferencesShape.channels.default({}),
    categories: preferencesShape.categories.default({}),
    quietHours: preferencesShape.quietHours.optional(),
  })
  .strict();

/** `PATCH /users/:id/preferences`: each channel and category named replaces its own setting; `quietHours: null` removes it. */
export const preferencesPatchSchema = z
  .object({
    channels: preferencesShape.channels.optional(),
    categories: preferencesShape.categories.optional(),
    quietHours: preferencesShape.quietHours.nullable().optional(),
  })
  .strict();

/** A user's preferences as the API answers them. */
export const preferencesSchema = z
  .object({
    userId: z.string(),
    channels: z.partialRecord(z.enum(CHANNELS), z.boolean()),
    categories: z.record(z.string(), z.union([z.boolean(), z.partialRecord(z.enum(CHANNELS), z.boolean())])),
    quietHours: z.object({ start: z.string(), end: z.string(), days: z.array(z.string()).optional() }).optional(),
    updatedAt: z.date().nullable().describe('null: the user never set any (every delivery goes)'),
  })
  .describe("The user's preferences");
