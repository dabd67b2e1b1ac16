import { z } from 'zod';
import { CHANNELS } from '../../common/config/config';
import type { DeliveryStatus, SendKind, SendStatus } from '../../common/domain/send-types';
import { cancellationKeySchema, failureSchema, scheduleFields } from './send-schemas';

const sendStatus = z.enum(['scheduled', 'running', 'completed', 'failed', 'cancelled']) satisfies z.ZodType<SendStatus>;
const deliveryStatus = z.enum([
  'pending',
  'sent',
  'failed',
  'skipped',
  'delivered',
  'read',
  'cancelled',
  'deferred',
]) satisfies z.ZodType<DeliveryStatus>;
const sendKind = z.enum(['send', 'saga', 'retry', 'digest']) satisfies z.ZodType<SendKind>;

export const sendIdParams = z.object({ sendId: z.string().min(1).max(300) });

export const sendsQuerySchema = z.object({
  status: sendStatus.optional().describe('scheduled: listed in sendAt order, soonest first'),
  from: z.iso.datetime({ offset: true }).optional().describe('created at or after (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('created before (ISO 8601)'),
  after: z.iso.datetime({ offset: true }).optional().describe('sendAt at or after (ISO 8601): scheduled sends'),
  before: z.iso.datetime({ offset: true }).optional().describe('sendAt before (ISO 8601): scheduled sends'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  skip: z.coerce.number().int().min(0).max(100000).default(0),
});

export const deliveriesQuerySchema = z.object({
  status: deliveryStatus.optional(),
  channel: z.enum(CHANNELS).optional(),
  cursor: z.string().max(500).optional().describe("The previous page's nextCursor"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const countsSchema = z
  .partialRecord(z.enum(CHANNELS), z.partialRecord(deliveryStatus, z.number().int()))
  .describe('Deliveries per channel and status');

/** A send in `GET /sends`: the document without its request's audience and data. */
export const sendSummarySchema = z.object({
  sendId: z.string(),
  kind: sendKind,
  status: sendStatus,
  workflowId: z.string(),
  channels: z.array(z.enum(CHANNELS)),
  templateId: z.string().nullable(),
  recipients: z.number().int().nullable().describe('Users found; null until the audience is taken'),
  counts: countsSchema.nullable().describe('Deliveries per channel and status once the send has ended'),
  retryOf: z.string().nullable().describe('For a retry: the send whose failed deliveries it re-dispatches'),
  createdAt: z.date(),
  completedAt: z.date().nullable(),
  sendAt: z.date().nullable().describe('A scheduled send: when it goes out (went out, once it has fired)'),
  cancellationKey: z.string().nullable(),
});

/** The workflow's `progress` query (workflows/send-message.ts `SendProgress`), while the send runs. */
const progressSchema = z.object({
  after: z.string().nullable(),
  pageCount: z.number().int().nullable(),
  recipientsResolved: z.number().int(),
  pagesDone: z.number().int(),
  dispatchesDone: z.number().int(),
  missingRecipients: z.number().int(),
  done: z.boolean(),
});

/** `GET /sends/:sendId`: the summary with the ledger's counts, the first failures and the live progress. */
export const sendDetailSchema = sendSummarySchema.extend({
  temporalUiUrl: z.string(),
  counts: countsSchema.describe("The ledger's counts; a retry's are those of the send it retries"),
  failures: z.array(failureSchema).describe('The first 100 failed deliveries'),
  progress: progressSchema.nullable().describe('While running: what the workflow has done so far'),
  nextReleaseAt: z
    .string()
    .nullable()
    .describe(
      "While deliveries are deferred by their users' quiet hours: when the next of them are released (ISO 8601, UTC)",
    ),
  retries: z.array(z.string()).describe('The ids of its retries, newest last'),
  closedBy: z
    .string()
    .nullable()
    .describe('Why a send reads failed without having finished: its workflow status (TERMINATED, …) or NOT_STARTED'),
  error: z
    .string()
    .nullable()
    .describe('Why the send failed as a whole: its audience snapshot failed for good (e.g. a user too large to copy)'),
});

/** A ledger entry (common/domain/send-types.ts `DeliveryDocument` without its `_id`). */
const deliverySchema = z.looseObject({
  sendId: z.string(),
  userId: z.string(),
  channel: z.enum(CHANNELS),
  status: deliveryStatus,
  attempts: z.number().int(),
  providerMessageId: z.string().optional(),
  error: z.string().nullish(),
  code: z.string().nullish(),
  permanent: z.boolean().optional(),
  retryRound: z.number().int().optional(),
  critical: z.boolean().optional().describe("A critical send's delivery: it ignored the user's preferences"),
  createdAt: z.date(),
  updatedAt: z.date(),
  sentAt: z.date().optional(),
});

export const deliveriesPageSchema = z.object({
  deliveries: z.array(deliverySchema),
  nextCursor: z.string().nullable().describe('Pass it back as cursor; null after the last page'),
});

/** `PATCH /sends/:sendId`: the new time of a scheduled send. */
export const rescheduleBodySchema = z.object({ ...scheduleFields }).strict();

export const rescheduledSchema = z.object({
  sendId: z.string(),
  status: z.literal('scheduled'),
  sendAt: z.string().describe('When it now goes out (ISO 8601, UTC), as the workflow took it'),
  statusUrl: z.string(),
});

/** The answer of `DELETE /sends/:sendId`, and each send of `POST /sends/cancel`. */
export const cancelledSendSchema = z.object({
  sendId: z.string(),
  status: z.literal('cancelled'),
  cancelledWhile: z.enum(['scheduled', 'running']),
  deliveries: z.object({
    sentBefore: z.number().int().describe('Sent before the cancel took hold'),
    inFlight: z
      .number()
      .int()
      .describe('At most this many were with a provider or waiting for a retry; they finish and are recorded'),
    cancelled: z
      .number()
      .int()
      .nullable()
      .describe('Never handed to a provider; null when the audience was never resolved (a scheduled send)'),
  }),
  statusUrl: z.string(),
});

export const cancelByKeyBodySchema = z.object({ cancellationKey: cancellationKeySchema }).strict();

/** The answer of `DELETE /messages/:requestId`, and each request of `POST /sends/cancel`. */
export const cancelledRequestSchema = cancelledSendSchema.omit({ sendId: true }).extend({ requestId: z.string() });

/** `PATCH /messages/:requestId`'s answer. */
export const rescheduledRequestSchema = rescheduledSchema.omit({ sendId: true }).extend({ requestId: z.string() });
