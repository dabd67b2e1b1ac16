import { z } from 'zod';
import { SCHEDULE_ID_PATTERN } from '../../common/temporal/workflow-ids';
import { messagesBodySchema } from './messages-schemas';
import { sendBodySchema } from './send-schemas';

/** A calendar field: one value or a list of them, each within `min`–`max`. */
const calendarField = (min: number, max: number, what: string) =>
  z.union([z.number().int().min(min).max(max), z.array(z.number().int().min(min).max(max)).min(1)]).describe(what);

const calendarEntrySchema = z
  .object({
    hour: calendarField(0, 23, 'Hour of the day, 0-23, or a list'),
    minute: calendarField(0, 59, 'Minute of the hour, 0-59, or a list'),
    dayOfWeek: calendarField(0, 6, '0 = Sunday … 6 = Saturday, or a list; absent: any').optional(),
    dayOfMonth: calendarField(1, 31, '1-31, or a list; absent: any').optional(),
    month: calendarField(1, 12, '1 = January … 12 = December, or a list; absent: any').optional(),
  })
  .strict();

const TIMES_KINDS = ['calendar', 'cron', 'every'] as const;

/** When a recurring send fires: exactly one of `calendar`, `cron` and `every`, within `startAt`–`endAt`. */
export const scheduleTimesSchema = z
  .object({
    calendar: z.array(calendarEntrySchema).min(1).max(100).optional().describe("Fires at each entry's times"),
    cron: z.string().max(200).optional().describe('Five fields: minute hour day-of-month month day-of-week'),
    every: z.string().max(50).optional().describe('An ISO 8601 duration of weeks, days, hours, minutes, seconds'),
    startAt: z.iso.datetime({ offset: true }).optional().describe('No firing before (RFC 3339)'),
    endAt: z.iso.datetime({ offset: true }).optional().describe('No firing after (RFC 3339)'),
  })
  .strict()
  .superRefine((times, context) => {
    const given = TIMES_KINDS.filter((kind) => times[kind] !== undefined);
    if (given.length !== 1) {
      context.addIssue({
        code: 'custom',
        message: `exactly one of calendar, cron and every is needed (${given.length ? given.join(' and ') + ' given' : 'none given'})`,
      });
    }
  })
  .describe('When the send fires');

const timezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .describe('IANA time zone of calendar and cron times (Europe/Rome); default UTC');

/** A firing's send goes when the schedule says: the one-off `sendAt` and `delay` are refused as unknown keys. */
const recurringSendBodySchema = sendBodySchema.omit({ sendAt: true, delay: true });
const recurringMessagesBodySchema = messagesBodySchema.omit({ sendAt: true, delay: true });

/** A schedule makes a send or a `/messages` request at each firing, never both. */
const oneFiringBody = (body: { send?: unknown; messages?: unknown }, context: z.RefinementCtx, needed: boolean) => {
  if (body.send !== undefined && body.messages !== undefined) {
    context.addIssue({ code: 'custom', path: ['messages'], message: 'give send or messages, not both' });
  } else if (needed && body.send === undefined && body.messages === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['send'],
      message: 'give send (a POST /send body) or messages (a POST /messages body)',
    });
  }
};

export const scheduleBodySchema = z
  .object({
    scheduleId: z
      .string()
      .regex(SCHEDULE_ID_PATTERN, 'must be 1 to 100 letters, digits, _ or -')
      .optional()
      .describe('Default: a new uuid'),
    spec: scheduleTimesSchema,
    timezone: timezoneSchema.default('UTC'),
    send: recurringSendBodySchema.optional().describe('The body POST /send would take: each firing sends it'),
    messages: recurringMessagesBodySchema
      .optional()
      .describe('The body POST /messages would take, instead of send: each firing makes that request'),
  })
  .strict()
  .superRefine((body, context) => oneFiringBody(body, context, true));
export type ScheduleBody = z.infer<typeof scheduleBodySchema>;

export const schedulePatchSchema = z
  .object({
    spec: scheduleTimesSchema.optional(),
    timezone: timezoneSchema.optional(),
    send: recurringSendBodySchema.optional().describe('Replaces the send of the firings to come'),
    messages: recurringMessagesBodySchema
      .optional()
      .describe('Replaces the /messages request of the firings to come (a schedule of requests)'),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one of spec, timezone, send and messages')
  .superRefine((patch, context) => oneFiringBody(patch, context, false));
export type SchedulePatch = z.infer<typeof schedulePatchSchema>;

export const scheduleIdParams = z.object({ scheduleId: z.string().regex(SCHEDULE_ID_PATTERN, 'not a schedule id') });

export const schedulesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  skip: z.coerce.number().int().min(0).default(0),
});

const firing = {
  firingTime: z.string().describe('The time the firing was due'),
  startedAt: z.string(),
  status: z.enum(['scheduled', 'running', 'completed', 'failed', 'cancelled']),
  statusUrl: z.string(),
};
const firedSendSchema = z.union([
  z.object({ sendId: z.string().describe('A schedule of sends: the send of the firing'), ...firing }),
  z.object({
    requestId: z.string().describe('A schedule of /messages requests: the request of the firing'),
    ...firing,
  }),
]);

export const scheduleSummarySchema = z.object({
  scheduleId: z.string(),
  makes: z.enum(['send', 'messages']).describe('What each firing makes: a send (send) or a /messages request'),
  spec: z.unknown().describe('As given'),
  timezone: z.string(),
  paused: z.boolean(),
  channels: z.array(z.string()),
  templateId: z.string().nullable(),
  nextFirings: z.array(z.string()).describe('The next 5 firing times'),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const scheduleDetailSchema = scheduleSummarySchema.extend({
  note: z.string().nullable().describe('Why it was paused, when it was'),
  catchupWindowSeconds: z.number(),
  fired: z.number().int().describe('Firings taken, manual triggers included'),
  missedCatchupWindow: z.number().int().describe('Firings skipped because Temporal was out longer than the window'),
  skippedOverlap: z.number().int().describe('Firings skipped because the previous send still ran'),
  lastSends: z
    .array(firedSendSchema)
    .describe('The last sends or /messages requests of the firings, oldest first (at most 10)'),
});
