import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../../common/domain/http-errors';
import { errorResponses } from '../schemas/common-schemas';
import {
  conversationAcceptedSchema,
  conversationBodySchema,
  conversationIdParams,
  conversationListQuerySchema,
  conversationListSchema,
  conversationStatusSchema,
} from '../schemas/conversations-schemas';
import { requestApp } from '../plugins/auth-plugin';
import { Conversations, describeConversation, summarize } from '../services/messaging/conversations-service';

/**
 * Two-way WhatsApp (docs/whatsapp.md, the OS1 send2WayMessage): `POST /conversations` sends a template
 * and waits for the customer's answer in a `conversation` workflow; `GET /conversations/:id` and `GET /conversations`
 * read them.
 */
export const conversationRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, temporal } = app;
  const { templates, providers } = app.repositories;
  const conversations = new Conversations({
    config,
    conversations: app.repositories.conversations,
    templates,
    notifications: app.repositories.notifications,
    providers,
    temporal,
  });
  app.addHook('onClose', () => conversations.close());
  // Not awaited at boot: a store that is slow to answer must not hold the API's start; reads wait for it.
  conversations.ensureIndexes().catch((error: unknown) => app.log.warn({ err: error }, 'conversation indexes'));

  app.post(
    '/conversations',
    {
      config: { scope: 'send', appForbidden: 'the notification belongs to another application than the key' },
      schema: {
        tags: ['conversations'],
        operationId: 'startConversation',
        summary: "Send a WhatsApp template and route the customer's answer to your webhooks (send2WayMessage)",
        description:
          'Answers 202 at once. The answer (or the timeout) is POSTed to the matching webhook, signed with its secret: X-Signature: sha256=<hex of HMAC-SHA256(secret, `${X-Timestamp}.${rawBody}`)>. One open conversation per (business number, customer): a second is a 409 whose message names the open one.',
        body: conversationBodySchema,
        response: {
          202: conversationAcceptedSchema,
          ...errorResponses({
            400: 'A field is malformed: a phone, a webhook URL, a media type or size, the regex, responseTimeout',
            404: 'The template, notification or provider named does not exist',
            409: "The template or provider is inactive, the notification is not enabled, the key's application must name a notification, or a conversation with this customer is open (its id named)",
            503: 'CUSTOMER_HASH_SECRET or PROVIDER_CREDENTIALS_KEYS is unset, or MongoDB or Temporal cannot be reached',
          }),
        },
      },
    },
    async (request, reply) => {
      const accepted = await conversations.accept(request.body, requestApp(request));
      request.log.info({ conversationId: accepted.conversationId }, 'conversation accepted');
      return reply.code(202).header('location', accepted.statusUrl).send(accepted);
    },
  );

  app.get(
    '/conversations/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['conversations'],
        operationId: 'getConversation',
        summary: 'A conversation: its status, timestamps and transcript',
        params: conversationIdParams,
        response: { 200: conversationStatusSchema, ...errorResponses({ 404: 'No conversation has this id' }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const found = await conversations.get(id);
      if (!found) throw notFound(`id: conversation ${id} not found`);
      const temporalUiUrl = `${config.env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(id)}`;
      return describeConversation(found.document, found.transcript, temporalUiUrl);
    },
  );

  app.get(
    '/conversations',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['conversations'],
        operationId: 'listConversations',
        summary: 'List conversations, newest first, by status, customer and business number',
        querystring: conversationListQuerySchema,
        response: { 200: conversationListSchema },
      },
    },
    async (request) => ({ conversations: (await conversations.list(request.query)).map(summarize) }),
  );
};
