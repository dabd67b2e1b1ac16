import { z } from 'zod';
import { CHANNELS } from '../../common/config/config';
import { isoDurationMs } from '../../common/toolkit/iso-duration';
import { DIGEST_STATUSES } from '../../common/store/digests-repository';
import { MAX_DIGEST_EVENTS } from '../../common/temporal/digest-definitions';
import { objectIdString, templateSource } from './common-schemas';
import { categoryName } from './preferences-schemas';
import { paginationQuerySchema } from './pagination-schemas';
import { cancellationKeySchema } from './send-schemas';
import { storableRecord } from './storable-schemas';

/** The longest window, look-back or maximum window a digest takes. */
export const MAX_DIGEST_SPAN_MS = 31 * 86_400_000;

const duration = z.string().refine((text) => {
  const ms = isoDurationMs(text);
  return ms !== null && ms > 0 && ms <= MAX_DIGEST_SPAN_MS;
}, 'must be an ISO 8601 duration in days, hours, minutes and seconds (PT1H, P1D), above zero and at most P31D');

/** When a digest flushes (docs/digests.md); the rules between its fields are checked here too. */
export const digestRuleSchema = z
  .object({
    window: duration.optional().describe('Fixed from the first event (or moved by each event, with sliding)'),
    sliding: z.boolean().optional().describe('Each event moves the window’s end, never past maxWindow'),
    maxWindow: duration.optional().describe('With sliding: the latest end, from the first event'),
    lookBack: duration
      .optional()
      .describe('When nothing of this digest went in this span, the first event goes at once'),
    at: z
      .object({
        hour: z.number().int().min(0).max(23),
        minute: z.number().int().min(0).max(59),
        dayOfWeek: z.number().int().min(0).max(6).optional().describe('0 = Sunday … 6 = Saturday; absent: every day'),
      })
      .strict()
      .optional()
      .describe("Flush at this time of the user's time zone (its `timezone` field; UTC without one)"),
    maxEvents: z
      .number()
      .int()
      .min(1)
      .max(MAX_DIGEST_EVENTS)
      .optional()
      .describe('Reaching this many pending events flushes at once; default 100'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (rule.at) {
      for (const field of ['window', 'sliding', 'maxWindow', 'lookBack'] as const) {
        if (rule[field] !== undefined) issue(field, 'not with at: a scheduled digest flushes at its time');
      }
      return;
    }
    if (rule.window === undefined) issue('window', 'required unless at is given');
    if (rule.sliding && rule.maxWindow === undefined) issue('maxWindow', 'required with sliding: true');
    if (rule.maxWindow !== undefined && !rule.sliding) issue('maxWindow', 'only with sliding: true');
    if (rule.maxWindow !== undefined && rule.window !== undefined) {
      if (isoDurationMs(rule.maxWindow)! < isoDurationMs(rule.window)!) issue('maxWindow', 'shorter than window');
    }
  });
export type DigestRule = z.infer<typeof digestRuleSchema>;

/** The most users one event goes to. */
export const MAX_EVENT_RECIPIENTS = 1000;

/** `POST /events` (docs/digests.md). */
export const eventBodySchema = z
  .object({
    eventId: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('The idempotency key: a repeat answers the first answer; another body with it is a 422'),
    userId: z.string().min(1).optional().describe('The user; or recipients'),
    recipients: z
      .array(z.string().min(1))
      .min(1)
      .max(MAX_EVENT_RECIPIENTS)
      .optional()
      .describe('User ids, each with its own digest; or userId'),
    digestKey: z.string().min(1).max(200).describe('Events of one user and key go to one digest'),
    channels: z.array(z.enum(CHANNELS)).min(1).describe('Subset of activeChannels'),
    templateId: objectIdString.optional(),
    messageTitle: templateSource.optional().describe('Email subject and push title, when there is no templateId'),
    messageContent: templateSource.optional().describe('Body on every channel, when there is no templateId'),
    data: storableRecord.optional().describe("The event's data: {{data.events.[n].data.*}} in the digest's message"),
    category: categoryName
      .optional()
      .describe(
        "Matched against users' preferences at the flush; default: the template's. A flush takes its first event's",
      ),
    critical: z.boolean().optional().describe("true: the flush goes whatever the user's preferences say"),
    cancellationKey: cancellationKeySchema
      .optional()
      .describe('POST /sends/cancel with this key removes the event from the digests that have not flushed it'),
    digest: digestRuleSchema,
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.userId === undefined) === (body.recipients === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['userId'], message: 'give exactly one of userId and recipients' });
    }
  });
export type EventBody = z.infer<typeof eventBodySchema>;

export const eventAcceptedSchema = z
  .object({
    eventId: z.string(),
    digests: z.array(
      z.object({
        digestId: z.string(),
        flushAt: z
          .string()
          .nullable()
          .describe('When the digest holding the event flushes (or flushed); null when the digest did not say in time'),
      }),
    ),
  })
  .describe("The event is taken: each user's digest and when it flushes");

export const eventIdParams = z.object({ eventId: z.string().min(1).max(200) });
export const digestIdParams = z.object({ id: z.string().min(1).max(200) });

export const eventRemovedSchema = z
  .object({
    eventId: z.string(),
    removedFrom: z.array(z.string()).describe('The digests that had not flushed it yet'),
  })
  .describe('The event is removed from the digests that had not sent it');

export const digestsQuerySchema = paginationQuerySchema.extend({
  userId: z.string().min(1).optional(),
  digestKey: z.string().min(1).optional(),
  status: z.enum(DIGEST_STATUSES).optional(),
});

export const digestSummarySchema = z.object({
  digestId: z.string(),
  userId: z.string(),
  digestKey: z.string(),
  status: z.enum(DIGEST_STATUSES),
  flushAt: z.string().nullable(),
  flushCount: z.number().int(),
  lastFlushAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const digestDetailSchema = digestSummarySchema.extend({
  workflowId: z.string(),
  temporalUiUrl: z.string(),
  pendingEvents: z.array(
    z.object({ eventId: z.string(), receivedAt: z.string(), data: z.record(z.string(), z.unknown()) }),
  ),
  flushes: z.array(
    z.object({
      flushNumber: z.number().int(),
      sendId: z.string(),
      eventIds: z.array(z.string()),
      firstEventAt: z.string(),
      lastEventAt: z.string(),
      flushedAt: z.string(),
      sendStatus: z.string().nullable(),
    }),
  ),
});

export const digestActionSchema = z
  .object({ digestId: z.string(), pendingEvents: z.number().int().describe('The pending events it flushes or drops') })
  .describe('The digest was told');
