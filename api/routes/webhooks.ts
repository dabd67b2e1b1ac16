import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQueryString } from 'node:querystring';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CallbackEvents, type CallbackPayload } from '../../common/callback-events';
import { CONVERSATION_SIGNALS, type DeliveryStatusSignal } from '../../common/conversations';
import { CredentialsCipher } from '../../common/credentials-cipher';
import { DeliveryReports, type DeliveryReport } from '../../common/delivery-reports';
import { HttpError } from '../../common/errors';
import { MessageRequestsRepository, parseMessageAddressKey } from '../../common/message-requests';
import { whatsappInboundWebhookPath } from '../../common/providers-repository';
import { publicBaseUrl, verifyWebhookToken } from '../../common/webhook-urls';
import { postMessageCallbacks } from '../../workflows';
import { errorResponses } from '../schemas/common';
import { providerName } from '../schemas/providers';
import { InboundMessages } from '../services/inbound-messages';

const TWILIO_STATUS_PATH = '/webhooks/twilio/status';
const INFOBIP_REPORTS_PATH = '/webhooks/infobip/reports';

const webhookQuery = z.object({
  token: z.string().max(200).optional(),
  provider: z.string().max(200).optional().describe('The registered provider the report is about'),
});

/** Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL it called and its POST fields sorted by name. */
export function twilioSignature(authToken: string, url: string, fields: Record<string, string>): string {
  const signed = Object.keys(fields)
    .sort()
    .reduce((text, name) => text + name + fields[name], url);
  return createHmac('sha1', authToken).update(signed, 'utf8').digest('base64');
}

const sameText = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** Twilio's message statuses that are news to us; `queued`, `sending`, `sent` we knew when it answered. */
const TWILIO_STATUSES: Record<string, DeliveryReport['status']> = {
  delivered: 'delivered',
  read: 'read',
  undelivered: 'failed',
  failed: 'failed',
};

/** Infobip's status groups that end a message; `PENDING` says nothing new. */
const INFOBIP_FINAL_GROUPS: Record<string, DeliveryReport['status']> = {
  DELIVERED: 'delivered',
  UNDELIVERABLE: 'failed',
  REJECTED: 'failed',
  EXPIRED: 'failed',
};

const infobipReportsBody = z.object({
  results: z
    .array(
      z
        .object({
          messageId: z.string().min(1),
          status: z.object({ groupName: z.string(), name: z.string().optional() }).loose().optional(),
          error: z.object({ groupName: z.string().optional(), name: z.string().optional() }).loose().optional(),
          seenAt: z.string().optional(),
        })
        .loose(),
    )
    .max(1000),
});

/** Infobip's inbound WhatsApp messages (its MO format): several results per call, each one customer message. */
const infobipInboundBody = z
  .object({
    results: z
      .array(
        z
          .object({
            messageId: z.string().min(1).max(200),
            from: z.string().min(1).max(64).describe("The customer's number"),
            to: z.string().min(1).max(64).describe('The business number written to'),
            integrationType: z.string().optional(),
            receivedAt: z.string().max(64).optional(),
            pairedMessageId: z.string().max(200).nullable().optional(),
            message: z
              .object({
                type: z.string().min(1).max(64),
                text: z.string().max(65_536).optional(),
                payload: z.string().max(65_536).optional(),
                title: z.string().max(65_536).optional(),
                caption: z.string().max(65_536).optional(),
              })
              .loose(),
          })
          .loose(),
      )
      .max(1000),
    messageCount: z.number().int().optional(),
    pendingMessageCount: z.number().int().optional(),
  })
  .loose();

/** Conversation ids (`conv-<uuid>`, README "Two-way WhatsApp"): the ledger's request id of a conversation's messages. */
const CONVERSATION_ID_PREFIX = 'conv-';

/**
 * The providers' delivery reports (README "OS1-style messaging"): each webhook checks that the call comes from whom
 * this service gave the URL to (the `token` only this service computes; Twilio's signature with the account's auth
 * token as well), answers at once, moves the ledger entry the provider's message id names forward (sent → delivered
 * → read, or failed), and owes the request's callback one event per change, posted by a `postMessageCallbacks`
 * workflow whose id names the change, so a repeated report starts nothing.
 */
export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, database, temporal } = app;
  const { providers } = app.repositories;
  const reports = new DeliveryReports(database);
  const callbackEvents = new CallbackEvents(database);
  const requests = new MessageRequestsRepository(database);
  const cipher = new CredentialsCipher(config.env.PROVIDER_CREDENTIALS_KEYS);
  const retryWindowMs = config.service.callbacks.retryWindowMinutes * 60_000;
  const inbound = new InboundMessages(database, temporal, { taskQueue: config.env.TEMPORAL_TASK_QUEUE, retryWindowMs });

  // Twilio posts HTML forms; parsed here only, for these routes.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, parseQueryString(body as string)),
  );

  const refuseUnlessToken = (path: string, token: string | undefined) => {
    if (!verifyWebhookToken(config.env, path, token))
      throw new HttpError(401, 'token: this webhook URL was not issued by this service');
  };

  async function owe(report: DeliveryReport): Promise<void> {
    const moved = await reports.apply(report);
    if (!moved) return;
    if (moved.requestId.startsWith(CONVERSATION_ID_PREFIX)) return signalConversation(moved.requestId, report);
    const request = await requests.get(moved.requestId);
    if (!request?.callback) return;
    const [, channel, addressKey] = moved.deliveryKey.split('|');
    const { n, addressIndex } = parseMessageAddressKey(addressKey);
    const message = request.messages.find((candidate) => candidate.n === n && candidate.channel === channel);
    if (!message) return;
    const payload: CallbackPayload = {
      eventId: `${moved.deliveryKey}|${report.status}`,
      requestId: request._id,
      messageId: message.messageId,
      channel: message.channel,
      to: message.to[addressIndex],
      status: report.status,
      providerMessageId: report.providerMessageId,
      ...(report.code ? { code: report.code } : {}),
      ...(report.error ? { error: report.error } : {}),
      timestamp: new Date().toISOString(),
    };
    await callbackEvents.add([payload], [moved.deliveryKey]);
    try {
      await temporal.workflow.start(postMessageCallbacks, {
        workflowId: `callbacks-${payload.eventId}`,
        taskQueue: config.env.TEMPORAL_TASK_QUEUE,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ requestId: request._id, retryWindowMs }],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  /** A report of a conversation's message goes to the conversation, which posts it to its status webhook. */
  async function signalConversation(conversationId: string, report: DeliveryReport): Promise<void> {
    const signal: DeliveryStatusSignal = {
      providerMessageId: report.providerMessageId,
      status: report.status,
      ...(report.code ? { code: report.code } : {}),
    };
    try {
      await temporal.workflow.getHandle(conversationId).signal(CONVERSATION_SIGNALS.deliveryStatus, signal);
    } catch (error) {
      // A conversation that has ended has no one left to tell; the ledger holds the status.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }

  /** The auth token Twilio signed with: the registered provider's, or the configured account's. */
  async function twilioAuthToken(providerName: string | undefined): Promise<string | undefined> {
    if (providerName === undefined) return config.env.TWILIO_AUTH_TOKEN;
    const provider = await providers.get(providerName);
    if (provider?.providerType !== 'twilio') return undefined;
    const credentials = cipher.decrypt(provider.credentials);
    return typeof credentials.authToken === 'string' ? credentials.authToken : undefined;
  }

  const unauthorized = errorResponses({ 401: 'The token or the provider signature is missing or wrong' });

  app.post(
    TWILIO_STATUS_PATH,
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'twilioStatusCallback',
        summary: "Twilio's message status callbacks (StatusCallback), signed X-Twilio-Signature",
        querystring: webhookQuery,
        body: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
        security: [],
        response: { 204: z.undefined().describe('Taken; no body'), ...unauthorized },
      },
    },
    async (request, reply) => {
      refuseUnlessToken(TWILIO_STATUS_PATH, request.query.token);
      const fields = Object.fromEntries(
        Object.entries(request.body).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
      );
      const authToken = await twilioAuthToken(request.query.provider);
      const presented = request.headers['x-twilio-signature'];
      const expected = authToken && twilioSignature(authToken, `${publicBaseUrl(config.env)}${request.url}`, fields);
      if (!expected || typeof presented !== 'string' || !sameText(presented, expected))
        throw new HttpError(401, 'x-twilio-signature: missing, or not signed with the account auth token');
      const status = TWILIO_STATUSES[fields.MessageStatus ?? ''];
      if (status && fields.MessageSid) {
        await owe({
          provider: 'twilio',
          providerMessageId: fields.MessageSid,
          status,
          ...(status === 'failed'
            ? {
                code: fields.ErrorCode ? `TWILIO_${fields.ErrorCode}` : 'TWILIO_UNDELIVERED',
                error: fields.ErrorMessage ?? fields.MessageStatus,
              }
            : {}),
        });
      }
      return reply.code(204).send();
    },
  );

  app.post(
    INFOBIP_REPORTS_PATH,
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'infobipReports',
        summary: "Infobip's delivery and seen reports (notifyUrl), several results per call",
        querystring: webhookQuery,
        body: infobipReportsBody,
        security: [],
        response: { 204: z.undefined().describe('Taken; no body'), ...unauthorized },
      },
    },
    async (request, reply) => {
      refuseUnlessToken(INFOBIP_REPORTS_PATH, request.query.token);
      for (const result of request.body.results) {
        const status = result.seenAt ? 'read' : INFOBIP_FINAL_GROUPS[result.status?.groupName ?? ''];
        if (!status) continue;
        await owe({
          provider: 'infobip',
          providerMessageId: result.messageId,
          status,
          ...(status === 'failed'
            ? {
                code: `INFOBIP_${result.error?.name ?? result.status?.name ?? result.status?.groupName}`,
                error: result.status?.name ?? 'undeliverable',
              }
            : {}),
        });
      }
      return reply.code(204).send();
    },
  );

  const inboundPath = (provider: string) => whatsappInboundWebhookPath(provider);

  app.post(
    '/webhooks/whatsapp/:provider/communications',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'whatsappInbound',
        summary:
          "A WhatsApp provider's inbound messages (Infobip's format, several per call): each recorded once, routed " +
          "to the customer's open conversation or to the provider's default inbound webhook",
        params: z.object({
          provider: providerName.describe('The registered WhatsApp provider the URL was issued for'),
        }),
        querystring: webhookQuery.pick({ token: true }),
        body: infobipInboundBody,
        security: [],
        response: {
          200: z
            .object({
              received: z.number().int().describe('Messages recorded and routed by this call'),
              repeated: z.number().int().describe('Messages already taken by an earlier call, skipped'),
            })
            .describe('Taken'),
          ...errorResponses({
            401: 'The token is missing or not the one issued for this provider',
            404: 'No WhatsApp provider has this name',
          }),
        },
      },
      // The token first: a forged call learns nothing from the body's validation.
      preValidation: async (request) => {
        const { provider } = request.params as { provider?: string };
        const { token } = request.query as { token?: unknown };
        refuseUnlessToken(inboundPath(String(provider)), typeof token === 'string' ? token : undefined);
      },
    },
    async (request) => {
      const name = request.params.provider;
      refuseUnlessToken(inboundPath(name), request.query.token);
      const provider = await providers.get(name);
      if (provider?.channel !== 'whatsapp')
        throw new HttpError(404, `provider: no WhatsApp provider is named "${name}"`);
      return inbound.receive(provider, request.body.results);
    },
  );
};
