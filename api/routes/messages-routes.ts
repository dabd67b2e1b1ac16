import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CALLBACK_STATUSES } from '../../common/store/messaging/callback-events-repository';
import { badRequest, conflict, HttpError, notFound } from '../../common/domain/http-errors';
import { MESSAGE_CHANNELS } from '../../common/store/messaging/message-requests-repository';
import { callbackSecret, MissingWebhookSecretError } from '../../common/http/webhook-urls';
import { MESSAGE_BODY_LIMIT_BYTES } from '../request-errors';
import { errorResponses } from '../schemas/common-schemas';
import {
  callbackSecretSchema,
  messagesAcceptedSchema,
  messagesBodySchema,
  messageRequestSummarySchema,
  messagesHeadersSchema,
  messagesListQuerySchema,
  messagesStatusSchema,
  notificationMessagesBodySchema,
  requestIdParams,
} from '../schemas/messages-schemas';
import { requestApp } from '../plugins/auth-plugin';
import { assertAppOwns, refuseDirectSendOfApp, refuseUnlessEnabled } from '../services/messaging/app-notifications';
import { approvedVersionOf } from '../services/messaging/notification-approval';
import { describeRequest, summarizeRequest } from '../services/messaging/message-requests-service';
import { messagesRequestDigest, type IdempotencyOptions } from '../services/request-digest';
import { resolveSendAt } from '../services/send-at';
import { cancelledRequestSchema, rescheduleBodySchema, rescheduledRequestSchema } from '../schemas/sends-schemas';

/** The request's `Idempotency-Key` with the digest of its body (and of the notification named, if any). */
function idempotencyOf(key: string | undefined, body: unknown): IdempotencyOptions | undefined {
  return key === undefined ? undefined : { key, digest: messagesRequestDigest(body) };
}

const refusals = errorResponses({
  400: 'A field is malformed: too many addresses, a bad email or phone, a template of another channel',
  404: 'A template or provider named does not exist',
  409: 'A template or provider named is inactive',
  422: 'The Idempotency-Key was used for a different request',
  503: 'WEBHOOK_SECRET is unset (callbacks), or MongoDB or Temporal cannot be reached',
});

/**
 * OS1-style sends to raw addresses (docs/os1-messaging.md, the OS1 sendMessage): `POST /messages`, by
 * notification `POST /messages/notifications`, `GET /messages/:requestId`, and the caller's callback secret.
 */
export const messageRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, messageRequests, sendLater } = app;
  const { notifications, templates } = app.repositories;
  const storedRequest = async (requestId: string) => {
    const stored = await app.repositories.messageRequests.get(requestId);
    if (!stored) throw notFound(`requestId: request ${requestId} not found`);
    return stored;
  };

  app.post(
    '/messages',
    {
      config: { scope: 'send', appForbidden: 'the body names another application than the key' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['messages'],
        operationId: 'sendMessages',
        summary: 'Send templated messages to raw addresses over sms, email and whatsapp, in bulk',
        description:
          'At most 1,000 message objects, each to at most 50 addresses (to, cc and bcc together). Answers 202 at once; every status change of every address is POSTed to callback.url, signed. The keys of an application that registered a notification send with POST /messages/notifications instead (409).',
        headers: messagesHeadersSchema,
        body: messagesBodySchema,
        response: {
          202: messagesAcceptedSchema,
          ...refusals,
          ...errorResponses({
            409: "A template or provider named is inactive, or the key's application registered notifications: it sends with POST /messages/notifications",
          }),
        },
      },
    },
    async (request, reply) => {
      const keyApp = requestApp(request);
      await refuseDirectSendOfApp(notifications, keyApp, 'authorization', 'POST /messages/notifications');
      // A key of an application sends as that application: its placeholders, and `GET /messages?appId=` finds it.
      if (request.body.appId !== undefined) assertAppOwns(keyApp, request.body.appId, 'appId');
      const accepted = await messageRequests.accept(request.body, {
        apiKeyId: request.apiKey?.id ?? null,
        appId: request.body.appId ?? keyApp ?? undefined,
        idempotency: idempotencyOf(request.headers['idempotency-key'], request.body),
      });
      request.log.info({ requestId: accepted.requestId, messages: accepted.messages.length }, 'messages accepted');
      return reply.code(202).header('location', accepted.statusUrl).send(accepted);
    },
  );

  app.post(
    '/messages/notifications',
    {
      config: { scope: 'send', appForbidden: 'the notification belongs to another application than the key' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['messages'],
        operationId: 'sendNotificationMessages',
        summary: 'Send by an enabled notification: its templates, per channel',
        headers: messagesHeadersSchema,
        body: notificationMessagesBodySchema,
        response: {
          202: messagesAcceptedSchema,
          ...refusals,
          ...errorResponses({
            404: 'No notification has this name',
            409: 'The notification is not enabled, has no template for a channel sent to, or one is inactive',
          }),
        },
      },
    },
    async (request, reply) => {
      const { notification: name, ...rest } = request.body;
      const notification = await notifications.findByName(name);
      if (!notification) throw notFound(`notification: no notification is named "${name}"`);
      assertAppOwns(requestApp(request), notification.appId, 'notification');
      refuseUnlessEnabled(notification, 'notification');
      const withTemplates = Object.fromEntries(
        await Promise.all(
          MESSAGE_CHANNELS.filter((channel) => rest[channel] !== undefined).map(async (channel) => {
            const templateName = notification.templates[channel];
            if (!templateName) throw conflict(`${channel}: notification "${name}" has no ${channel} template`);
            const template = await templates.findModeTemplate(templateName);
            if (!template) throw conflict(`${channel}: template "${templateName}" of notification "${name}" is gone`);
            if (!template.isActive)
              throw conflict(`${channel}: template "${templateName}" of notification "${name}" is inactive`);
            // The content its enable approved, whatever the template says now.
            const templateVersion = approvedVersionOf(notification, channel);
            // A message's own category wins over its notification's, which wins over its template's.
            const category = notification.category ?? template.category;
            return [
              channel,
              rest[channel]!.map((message) => ({
                ...(category !== undefined ? { category } : {}),
                ...message,
                template: templateName,
                templateVersion,
              })),
            ];
          }),
        ),
      );
      const { callback, sendAt, delay, cancellationKey } = rest;
      const accepted = await messageRequests.accept(
        { callback, sendAt, delay, cancellationKey, ...withTemplates },
        {
          apiKeyId: request.apiKey?.id ?? null,
          notification: name,
          appId: notification.appId,
          idempotency: idempotencyOf(request.headers['idempotency-key'], request.body),
        },
      );
      return reply.code(202).header('location', accepted.statusUrl).send(accepted);
    },
  );

  app.get(
    '/messages',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['messages'],
        operationId: 'listMessageRequests',
        summary: 'Recent POST /messages requests, newest first, by status, application and time',
        querystring: messagesListQuerySchema,
        response: { 200: messageRequestSummarySchema.array().describe('Requests, newest first') },
      },
    },
    async (request) => {
      const { status, appId, from, to, after, before, limit, skip } = request.query;
      const page = await messageRequests.list({
        status,
        appId,
        from: from ? new Date(from) : undefined,
        to: to ? new Date(to) : undefined,
        sendAtFrom: after ? new Date(after) : undefined,
        sendAtTo: before ? new Date(before) : undefined,
        limit,
        skip,
      });
      return page.map(summarizeRequest);
    },
  );

  app.get(
    '/messages/:requestId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['messages'],
        operationId: 'getMessages',
        summary: "A request's messages, each address's status, its callbacks",
        params: requestIdParams,
        response: { 200: messagesStatusSchema, ...errorResponses({ 404: 'No request has this id' }) },
      },
    },
    async (request) => {
      const { requestId } = request.params;
      const found = await messageRequests.status(requestId);
      if (!found) throw notFound(`requestId: request ${requestId} not found`);
      const temporalUiUrl = `${config.env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(requestId)}`;
      return describeRequest(found.request, found.entries, found.events, temporalUiUrl);
    },
  );

  app.patch(
    '/messages/:requestId',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['messages'],
        operationId: 'rescheduleMessages',
        summary: 'Move a scheduled request to a new sendAt (or delay from now)',
        params: requestIdParams,
        body: rescheduleBodySchema,
        response: {
          200: rescheduledRequestSchema.describe('The request now waits for sendAt'),
          ...errorResponses({
            404: 'No request has this id',
            409: 'The request is no longer scheduled: the message names its status',
          }),
        },
      },
    },
    async (request) => {
      const sendAt = resolveSendAt(request.body, new Date());
      if (!sendAt) throw badRequest('sendAt: give sendAt or delay');
      return sendLater.rescheduleRequest(await storedRequest(request.params.requestId), sendAt);
    },
  );

  app.delete(
    '/messages/:requestId',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['messages'],
        operationId: 'cancelMessages',
        summary: 'Cancel a scheduled or running request: no further message goes to a provider',
        params: requestIdParams,
        response: {
          200: cancelledRequestSchema.describe('Cancelled (again: the same answer)'),
          ...errorResponses({
            404: 'No request has this id',
            409: 'The request has ended: the message names its status',
          }),
        },
      },
    },
    async (request) => sendLater.cancelRequest(await storedRequest(request.params.requestId)),
  );

  app.get(
    '/callbacks/secret',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['messages'],
        operationId: 'getCallbackSecret',
        summary: "The secret that signs this API key's callbacks",
        description:
          'Each callback carries X-Timestamp and X-Signature: sha256=<hex of HMAC-SHA256(secret, `${X-Timestamp}.${rawBody}`)>.',
        response: { 200: callbackSecretSchema, ...errorResponses({ 503: 'WEBHOOK_SECRET is unset' }) },
      },
    },
    async (request) => {
      try {
        return { secret: callbackSecret(config.env, request.apiKey?.id ?? null), statuses: [...CALLBACK_STATUSES] };
      } catch (error) {
        if (error instanceof MissingWebhookSecretError) throw new HttpError(503, `WEBHOOK_SECRET: ${error.message}`);
        throw error;
      }
    },
  );
};
