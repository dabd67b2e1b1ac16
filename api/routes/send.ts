import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sendBodySchema, sendHeadersSchema, sendResponses } from '../schemas/send';
import type { SendService } from '../services/send-service';

export interface SendRoutesOptions {
  sends: SendService;
  sendWaitMs: number;
}

/** `POST /send` (spec §4). */
export const sendRoutes: FastifyPluginAsyncZod<SendRoutesOptions> = async (app, { sends, sendWaitMs }) => {
  app.post(
    '/send',
    {
      schema: {
        summary: 'Send a message to users over channels',
        description:
          'Answers 200 with the failures once the send has finished within SEND_WAIT_MS, otherwise 202 with a status URL. `Prefer: respond-async` answers 202 at once.',
        tags: ['send'],
        body: sendBodySchema,
        headers: sendHeadersSchema,
        response: sendResponses,
      },
    },
    async (request, reply) => {
      const sendRequest = await sends.prepare(request.body);
      const started = await sends.start(sendRequest, { idempotencyKey: request.headers['idempotency-key'] });
      request.log.info({ sendId: started.sendId, channels: sendRequest.channels }, 'send started');
      const respondAsync = /respond-async/i.test(request.headers.prefer ?? '');
      const outcome = await sends.await(started, respondAsync ? 0 : sendWaitMs);
      if (outcome.state === 'running')
        return reply.code(202).header('location', outcome.body.statusUrl).send(outcome.body);
      return reply.code(200).send(outcome.body);
    },
  );
};
