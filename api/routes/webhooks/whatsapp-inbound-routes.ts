import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../../../common/domain/http-errors';
import { whatsappInboundWebhookPath } from '../../../common/store/providers-repository';
import { errorResponses } from '../../schemas/common-schemas';
import { providerName } from '../../schemas/providers-schemas';
import type { InboundMessages } from '../../services/messaging/inbound-messages-service';
import { refuseUnlessToken, webhookQuery } from './webhook-token';

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
                url: z.string().max(4096).optional(),
                latitude: z.number().min(-90).max(90).optional(),
                longitude: z.number().min(-180).max(180).optional(),
                name: z.string().max(1000).optional(),
                address: z.string().max(1000).optional(),
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

export const whatsappInboundRoutes: FastifyPluginAsyncZod<{ inbound: InboundMessages }> = async (app, { inbound }) => {
  const { config } = app;
  const { providers } = app.repositories;

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
        refuseUnlessToken(
          config.env,
          whatsappInboundWebhookPath(String(provider)),
          typeof token === 'string' ? token : undefined,
        );
      },
    },
    async (request) => {
      const name = request.params.provider;
      refuseUnlessToken(config.env, whatsappInboundWebhookPath(name), request.query.token);
      const provider = await providers.get(name);
      if (provider?.channel !== 'whatsapp')
        throw new HttpError(404, `provider: no WhatsApp provider is named "${name}"`);
      return inbound.receive(provider, request.body.results);
    },
  );
};
