import { z } from 'zod';
import { paginationQuerySchema } from './pagination-schemas';
import { CALLBACK_STATUSES } from '../../common/store/messaging/callback-events-repository';
import { MESSAGE_CHANNELS } from '../../common/store/messaging/message-requests-repository';
import { categoryName } from './preferences-schemas';
import { storableRecord } from './storable-schemas';
import { cancellationKeySchema, scheduleFields } from './send-schemas';

/** A request's status: `scheduled` while it waits for its `sendAt`, `cancelled` once cancelled. */
const requestStatus = z.enum(['scheduled', 'running', 'completed', 'failed', 'cancelled']);
import { whatsappButtonSchema, whatsappMediaSchema } from './whatsapp-schemas';

/** At most this many addresses per message object, `to`, `cc` and `bcc` together (the OS1 limit). */
export const MAX_ADDRESSES_PER_MESSAGE = 50;
/** At most this many message objects per request, all channels together. */
export const MAX_MESSAGES_PER_REQUEST = 1000;

/** The OS1 API's email address pattern (`^[a-zA-Z0-9._+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,6}$`). */
export const OS1_EMAIL_PATTERN = /^[a-zA-Z0-9._+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,6}$/;

const email = z.string().regex(OS1_EMAIL_PATTERN, `must match ${OS1_EMAIL_PATTERN.source} (the OS1 address pattern)`);

/** A phone number as OS1 writes it; normalized to E.164 by `MessagePreparation`. */
export const phoneSchema = z
  .object({
    countryCode: z.string().regex(/^\+?\d{1,4}$/, 'must be a country calling code, e.g. "91" or "+1"'),
    number: z.string().regex(/^[\d\s().-]{3,20}$/, 'must be a phone number of digits'),
  })
  .strict();

/** An empty string is what OS1 clients send for "none" (`"provider": ""`, `"from": ""`). */
const optionalText = z
  .string()
  .max(200)
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const messageFields = {
  data: storableRecord.optional().describe('Values of the template placeholders: {{orderId}}'),
  from: optionalText,
  senderId: optionalText,
  originationNumber: optionalText,
  provider: optionalText.describe(
    'A registered provider; default: the tenant default of the channel, then the configured one',
  ),
};

const smsMessage = z
  .object({ template: z.string().min(1).max(200), ...messageFields, to: z.array(phoneSchema).min(1) })
  .strict();
const emailMessage = z
  .object({
    template: z.string().min(1).max(200),
    ...messageFields,
    to: z.array(email).min(1),
    cc: z.array(email).optional(),
    bcc: z.array(email).optional(),
    category: categoryName.optional().describe('Named in the one-click unsubscribe link the email carries'),
    critical: z.boolean().optional().describe('true: no unsubscribe link (the address is still skipped if suppressed)'),
  })
  .strict();
const whatsappMessage = z
  .object({
    template: z.string().min(1).max(200),
    ...messageFields,
    to: z.array(phoneSchema).min(1),
    media: whatsappMediaSchema.optional(),
    buttons: z.array(whatsappButtonSchema).max(10).optional(),
  })
  .strict();

export const callbackSchema = z
  .object({
    url: z
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'must be an http(s) URL')
      .describe('Receives every status change, signed (docs/os1-messaging.md)'),
    meta: storableRecord.optional().describe('Sent back with every callback'),
  })
  .strict();

const channelArrays = {
  sms: z.array(smsMessage).optional(),
  email: z.array(emailMessage).optional(),
  whatsapp: z.array(whatsappMessage).optional(),
  callback: callbackSchema.optional(),
  ...scheduleFields,
  cancellationKey: cancellationKeySchema.optional(),
};

/** `POST /messages` (the OS1 sendMessage); counts across channels are checked by `MessagePreparation`. */
export const messagesBodySchema = z
  .object({
    ...channelArrays,
    appId: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('The application sending: its placeholders fill the templates, and GET /messages?appId= finds it'),
  })
  .strict();
export type MessagesBody = z.infer<typeof messagesBodySchema>;

const withoutTemplate = <T extends z.ZodObject>(schema: T) => schema.omit({ template: true } as never);

/** `POST /messages/notifications`: the notification's templates are used, so messages name none. */
export const notificationMessagesBodySchema = z
  .object({
    notification: z.string().min(1).max(200).describe('The name of an enabled notification'),
    sms: z.array(withoutTemplate(smsMessage)).optional(),
    email: z.array(withoutTemplate(emailMessage)).optional(),
    whatsapp: z.array(withoutTemplate(whatsappMessage)).optional(),
    callback: callbackSchema.optional(),
    ...scheduleFields,
    cancellationKey: cancellationKeySchema.optional(),
  })
  .strict();
export type NotificationMessagesBody = z.infer<typeof notificationMessagesBodySchema>;

export const messagesAcceptedSchema = z
  .object({
    requestId: z.string(),
    workflowId: z.string(),
    statusUrl: z.string(),
    status: z.literal('scheduled').optional().describe('Present for a scheduled request, which waits for sendAt'),
    sendAt: z.string().optional().describe('A scheduled request: when it goes out (ISO 8601, UTC)'),
    messages: z.array(
      z.object({
        messageId: z.string(),
        channel: z.enum(MESSAGE_CHANNELS),
        to: z.array(z.string()).describe('E.164 numbers or email addresses'),
        status: z.literal('queued'),
      }),
    ),
  })
  .describe('Accepted: one workflow sends every message');

const addressStatus = z.object({
  to: z.string(),
  status: z.enum(['pending', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled', 'deferred']),
  code: z.string().nullable(),
  error: z.string().nullable(),
  providerMessageId: z.string().nullable(),
  updatedAt: z.date().nullable(),
});

export const messagesStatusSchema = z
  .object({
    requestId: z.string(),
    workflowId: z.string(),
    status: requestStatus,
    sendAt: z.date().nullable(),
    notification: z.string().nullable(),
    temporalUiUrl: z.string(),
    callback: z
      .object({
        url: z.string(),
        events: z.object({ pending: z.number().int(), delivered: z.number().int(), expired: z.number().int() }),
      })
      .nullable(),
    messages: z.array(
      z.object({
        messageId: z.string(),
        channel: z.enum(MESSAGE_CHANNELS),
        template: z.string(),
        templateVersion: z
          .number()
          .int()
          .nullable()
          .describe("The template's version sent: the one its notification approved; null: the latest when sent"),
        provider: z.string().nullable(),
        addresses: z.array(addressStatus),
      }),
    ),
    createdAt: z.date(),
    completedAt: z.date().nullable(),
  })
  .describe("The request, each address's status, the callbacks posted");

export const messagesHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'Repeating the request answers the same request id and sends nothing twice; the key with a different body is a 422',
    ),
});

/** 200: a firing of a schedule of requests is `sched-<scheduleId>-<firing time>`, up to 127 characters. */
export const requestIdParams = z.object({ requestId: z.string().min(1).max(200) });

export const callbackSecretSchema = z
  .object({
    secret: z.string().describe('HMAC-SHA256 key of X-Signature over `${X-Timestamp}.${rawBody}`'),
    statuses: z.array(z.enum(CALLBACK_STATUSES)),
  })
  .describe("This API key's callback signing secret");

/** The OS1 WhatsApp button, shared with `POST /conversations`. */

/** `GET /messages`: which requests, a page of them (the same paging as the other lists). */
export const messagesListQuerySchema = paginationQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  status: requestStatus.optional().describe('scheduled: listed in sendAt order, soonest first'),
  appId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Requests of this application: sent by its notifications, or naming it in POST /messages'),
  from: z.iso.datetime({ offset: true }).optional().describe('created at or after (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('created before (ISO 8601)'),
  after: z.iso.datetime({ offset: true }).optional().describe('sendAt at or after (ISO 8601): scheduled requests'),
  before: z.iso.datetime({ offset: true }).optional().describe('sendAt before (ISO 8601): scheduled requests'),
});

/** A request in `GET /messages`, without its messages' data and addresses. */
export const messageRequestSummarySchema = z.object({
  requestId: z.string(),
  workflowId: z.string(),
  status: requestStatus,
  sendAt: z.date().nullable(),
  cancellationKey: z.string().nullable(),
  appId: z
    .string()
    .nullable()
    .describe("The notification's application, or the appId a direct POST /messages named; null when it named none"),
  notification: z.string().nullable(),
  messages: z.number().int().describe('Message objects in the request'),
  channels: z.array(z.enum(MESSAGE_CHANNELS)),
  statusUrl: z.string().describe("GET it for each address's status"),
  createdAt: z.date(),
  completedAt: z.date().nullable(),
});
