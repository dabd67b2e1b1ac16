import { z } from 'zod';
import { CONVERSATION_STATUSES } from '../../common/domain/conversation-model';
import { phoneSchema } from './messages-schemas';
import { storableRecord } from './storable-schemas';
import { httpUrl, whatsappButtonSchema, whatsappMediaSchema } from './whatsapp-schemas';

/** The OS1 API's limits of `responseTimeout`: 10 seconds to 7 days. */
export const MIN_RESPONSE_TIMEOUT_S = 10;
export const MAX_RESPONSE_TIMEOUT_S = 7 * 24 * 3600;

const webhookSchema = z
  .object({
    url: httpUrl.describe('Receives the event as JSON, POSTed and signed'),
    secret: z
      .string()
      .min(1)
      .max(500)
      .describe('HMAC-SHA256 key of X-Signature over `${X-Timestamp}.${rawBody}`; never answered back'),
  })
  .strict();

/** A quick reply as the OS1 API writes it (`"track order"`), or the object forms of `POST /messages`. */
const conversationButton = z.union([
  z
    .string()
    .min(1)
    .max(2000)
    .transform((value) => ({ type: 'quickReply', value }) as const),
  whatsappButtonSchema,
]);

export const conversationBodySchema = z
  .object({
    from: z
      .string()
      .regex(/^\+?[\d\s().-]{3,20}$/, 'must be the business WhatsApp number, digits')
      .describe('The business WhatsApp number the message is sent from and the answer comes to'),
    message: z
      .object({
        template: z
          .string()
          .min(1)
          .max(200)
          .optional()
          .describe('An active whatsapp mode template; or name an enabled notification instead (`notification`)'),
        data: storableRecord.optional().describe('Values of the template placeholders'),
        media: whatsappMediaSchema
          .optional()
          .describe('document: pdf, doc or docx, at most 100 MB; image: jpg, jpeg or png, at most 5 MB; location'),
        buttons: z
          .array(conversationButton)
          .max(10)
          .optional()
          .describe('Quick replies as strings, or { "url": { "value" } } / { "quick reply": { "value" } }'),
      })
      .strict(),
    notification: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('An enabled notification, by name, whose whatsapp template is sent; instead of message.template'),
    provider: z.string().min(1).max(200).describe('A registered, active whatsapp provider (required)'),
    to: phoneSchema.describe("The customer's number"),
    acceptedResponses: z
      .array(
        z
          .object({
            messages: z.array(z.string().min(1).max(1000)).min(1).max(50),
            webhook: webhookSchema,
          })
          .strict(),
      )
      .max(20)
      .default([])
      .describe("Answers (case and whitespace aside) routed to the entry's webhook"),
    dynamicResponseRegex: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe('Other answers matching it go to webhook.defaultInbound; checked against catastrophic backtracking'),
    webhook: z
      .object({
        defaultInbound: webhookSchema.optional().describe('Answers matching dynamicResponseRegex'),
        status: webhookSchema.optional().describe('Delivery statuses of the message, the timeout, a failure'),
        invalidResponse: webhookSchema.optional().describe('Answers that match nothing'),
      })
      .strict()
      .default({}),
    responseTimeout: z
      .number()
      .int()
      .min(MIN_RESPONSE_TIMEOUT_S)
      .max(MAX_RESPONSE_TIMEOUT_S)
      .describe('Seconds the answer is waited for after the message is sent: 10 to 604800 (7 days)'),
    context: storableRecord.optional().describe('Sent back with every webhook call'),
    errorMessage: z.string().min(1).max(4096).optional().describe('Sent to the customer after an invalid answer'),
  })
  .strict();
export type ConversationBody = z.infer<typeof conversationBodySchema>;

export const conversationAcceptedSchema = z
  .object({
    conversationId: z.string().describe('Also the workflow id'),
    status: z.literal('sending'),
    statusUrl: z.string(),
  })
  .describe('Accepted: the conversation workflow sends the message and waits for the answer');

const transcriptEntry = z
  .object({
    kind: z.enum([
      'message_sent',
      'message_failed',
      'delivery_status',
      'answer',
      'webhook_call',
      'timed_out',
      'closed',
    ]),
    at: z.date(),
  })
  .catchall(z.unknown())
  .describe('One step: the message sent, an answer and its classification, a webhook call and its outcome, …');

const conversationSummary = {
  conversationId: z.string(),
  status: z.enum(CONVERSATION_STATUSES),
  provider: z.string(),
  from: z.string().describe('The business number, digits'),
  to: z.string().describe("The customer's number, E.164"),
  template: z.string(),
  responseTimeout: z.number().int(),
  createdAt: z.date(),
  updatedAt: z.date(),
  closedAt: z.date().nullable(),
};

export const conversationStatusSchema = z
  .object({
    ...conversationSummary,
    workflowId: z.string(),
    temporalUiUrl: z.string(),
    context: z.record(z.string(), z.unknown()),
    webhooks: z
      .array(z.object({ target: z.string(), url: z.string() }))
      .describe('Where each kind of event goes; the secrets are never answered'),
    transcript: z.array(transcriptEntry),
  })
  .describe('The conversation and its transcript, oldest step first');

export const conversationListSchema = z
  .object({ conversations: z.array(z.object(conversationSummary)) })
  .describe('A page of conversations, newest first');

export const conversationListQuerySchema = z.object({
  status: z.enum(CONVERSATION_STATUSES).optional(),
  to: z
    .string()
    .regex(/^\+?[\d\s().-]{3,20}$/)
    .optional()
    .describe("The customer's number, E.164"),
  from: z
    .string()
    .regex(/^\+?[\d\s().-]{3,20}$/)
    .optional()
    .describe('The business number'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  skip: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const conversationIdParams = z.object({ id: z.string().min(1).max(100) });
