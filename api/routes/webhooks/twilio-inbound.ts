import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isOptInReply, isOptOutReply, normalAddress } from '../../../common/domain/suppression-address';
import { refuseUnlessToken, unauthorized, webhookQuery } from './webhook-token';

export const TWILIO_INBOUND_PATH = '/webhooks/twilio/inbound';

/**
 * Twilio's inbound SMS (the number's "A message comes in" webhook, an HTML form): a reply that is an opt-out keyword
 * alone (`STOP`, `UNSUBSCRIBE`, …) puts the sender's number on the sms suppression list, an opt-in one (`START`,
 * `UNSTOP`) takes off what such a reply put there. Any other text is taken and dropped: no conversation reads SMS.
 */
export const twilioInboundRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config } = app;
  const { suppressions } = app.repositories;

  app.post(
    TWILIO_INBOUND_PATH,
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'twilioInboundSms',
        summary: "Twilio's inbound SMS: STOP suppresses the sender's number for sms, START takes it back",
        querystring: webhookQuery.pick({ token: true }),
        body: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
        security: [],
        response: { 204: z.undefined().describe('Taken; no reply is sent'), ...unauthorized },
      },
    },
    async (request, reply) => {
      refuseUnlessToken(config.env, TWILIO_INBOUND_PATH, request.query.token);
      const field = (name: string) => {
        const value = request.body[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const text = field('Body') ?? '';
      const from = field('From');
      const sender = from === undefined ? null : normalAddress('sms', from);
      if (sender !== null && isOptOutReply(text)) {
        await suppressions.add('sms', sender, 'the customer replied STOP', 'inbound-stop');
        request.log.info('an sms number opted out by reply');
      } else if (sender !== null && isOptInReply(text)) {
        if (await suppressions.removeAddedBy('sms', sender, 'inbound-stop'))
          request.log.info('an sms number opted in again by reply');
      }
      return reply.code(204).send();
    },
  );
};
