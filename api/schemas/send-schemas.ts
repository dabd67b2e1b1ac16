import { z } from 'zod';
import { CHANNELS } from '../../common/config/config';
import { isoDurationMs } from '../../common/toolkit/iso-duration';
import { filesServiceName, objectIdString, templateSource } from './common-schemas';
import { categoryName } from './preferences-schemas';
import { storableRecord } from './storable-schemas';

const stringList = z.array(z.string());

/** A throttle's window as `POST /send` takes it, in milliseconds: the same durations as a template's throttle. */
const isoDuration = z
  .string()
  .refine((text) => isoDurationMs(text) !== null, 'must be an ISO 8601 duration such as PT1H or P1D')
  .transform((text) => isoDurationMs(text)!);

/** The list fields of a `/send` body: each value a list, its order and repeats of no meaning to the send. */
export const SEND_LIST_FIELDS = [
  'channels',
  'recipients',
  'clusters',
  'emailAttachments',
  'emailCarbonCopies',
  'emailBlindCarbonCopies',
] as const;

/** When a scheduled send goes out: `sendAt` or `delay`, not both (`api/services/send-at.ts` checks the rest). */
export const scheduleFields = {
  sendAt: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Send later, at this RFC 3339 date-time with an offset: in the future, at most 366 days ahead'),
  delay: z
    .string()
    .max(100)
    .optional()
    .describe('Send later, after this ISO 8601 duration (PT30M, P1DT2H; at most 366 days); not with sendAt'),
};

/** The caller's key that `POST /sends/cancel` cancels every send of. */
export const cancellationKeySchema = z
  .string()
  .min(1)
  .max(128)
  .describe('POST /sends/cancel with this key cancels every scheduled or running send that carries it');

/** `POST /send` body, the Mia contract (docs/api.md); cross-field rules live in `SendPreparation.prepare`. */
export const sendBodySchema = z
  .object({
    channels: z.array(z.enum(CHANNELS)).min(1).describe('Subset of activeChannels'),
    recipients: z.array(z.string().min(1)).optional().describe('User ids; required without clusters'),
    clusters: z.array(z.string().min(1)).optional().describe('Cluster names; required without recipients'),
    messageTitle: templateSource.optional().describe('Email subject and push title, when there is no templateId'),
    messageContent: templateSource.optional().describe('Body on every channel, when there is no templateId'),
    templateId: objectIdString.optional(),
    data: storableRecord.optional().describe('Interpolation data: {{data.*}}'),
    emailAttachments: z.array(filesServiceName).optional().describe('Files Service names; 15 MB in all'),
    emailCarbonCopies: stringList.optional().describe('Invalid addresses are dropped'),
    emailBlindCarbonCopies: stringList.optional().describe('Invalid addresses are dropped'),
    emailSender: z.email().optional().describe('Overrides sender.email'),
    providers: z
      .partialRecord(z.enum(CHANNELS), z.string().min(1).max(200))
      .optional()
      .describe(
        'A registered provider per channel (`/providers`); default: the tenant default, then the configured one',
      ),
    ...scheduleFields,
    cancellationKey: cancellationKeySchema.optional(),
    category: categoryName.optional().describe("Matched against users' preferences; default: the template's"),
    critical: z.boolean().optional().describe("true: goes whatever the users' preferences say"),
    quietHours: z
      .literal('skip')
      .optional()
      .describe("skip: a delivery inside its user's quiet hours is skipped QUIET_HOURS instead of going"),
    throttle: z
      .object({
        limit: z.number().int().min(1).max(1000),
        window: isoDuration.refine((ms) => ms >= 60_000, 'must be at least a minute (PT1M)'),
        key: z.string().min(1).max(200).optional(),
      })
      .strict()
      .optional()
      .describe(
        'At most limit deliveries per user, channel and key in any window (ISO 8601, e.g. PT1H); the rest skipped',
      ),
  })
  .strict();
export type SendBody = z.infer<typeof sendBodySchema>;

/** A (user, channel) that failed: after its retries, or a recipient id that matches no user (`USER_NOT_FOUND`). */
export const failureSchema = z.object({
  userId: z.string(),
  channel: z.enum(CHANNELS),
  error: z.string(),
  code: z.string().nullish().describe("The provider's own code, HTTP_<status>, USER_NOT_FOUND, …"),
});

export const sendCompletedSchema = z
  .object({
    failures: z.array(failureSchema),
    sendId: z.string(),
    workflowId: z.string(),
    recipients: z.number().int().describe('Users found'),
  })
  .describe('The send has ended');

export const sendAcceptedSchema = z
  .object({
    sendId: z.string(),
    workflowId: z.string(),
    status: z.literal('running'),
    statusUrl: z.string().describe('GET it for the status; also the Location header'),
  })
  .describe('The send runs on; follow statusUrl');

export const sendScheduledSchema = z
  .object({
    sendId: z.string(),
    workflowId: z.string(),
    status: z.literal('scheduled'),
    sendAt: z.string().describe('When it goes out (ISO 8601, UTC)'),
    statusUrl: z.string().describe('GET it for the status; also the Location header'),
  })
  .describe('The send waits for sendAt; PATCH or DELETE statusUrl to move or cancel it');

export const sendHeadersSchema = z.object({
  prefer: z.string().optional().describe('respond-async: answer 202 at once'),
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Repeating the request returns the same send; the key with a different body is a 422'),
});
