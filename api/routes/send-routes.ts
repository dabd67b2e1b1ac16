import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MESSAGE_BODY_LIMIT_BYTES } from '../request-errors';
import { errorResponses } from '../schemas/common-schemas';
import { z } from 'zod';
import {
  sendAcceptedSchema,
  sendBodySchema,
  sendCompletedSchema,
  sendHeadersSchema,
  sendScheduledSchema,
} from '../schemas/send-schemas';
import { requestDigest } from '../services/request-digest';
import { sendStatusUrl } from '../services/send-result';
import { resolveSendAt } from '../services/send-at';

/** `POST /send` (docs/api.md). */
export const sendRoutes: FastifyPluginAsyncZod = async (app) => {
  const { sendPreparation, sendStarter, sendResults } = app;
  const waitMs = app.config.env.SEND_WAIT_MS;

  app.post(
    '/send',
    {
      config: { scope: 'send' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['send'],
        operationId: 'send',
        summary: 'Send a message to users over channels',
        description:
          'Answers 200 with the failures once the send has finished within SEND_WAIT_MS, otherwise 202 with a status URL. `Prefer: respond-async` answers 202 at once, and so does a send scheduled by `sendAt` or `delay`.',
        body: sendBodySchema,
        headers: sendHeadersSchema,
        response: {
          200: sendCompletedSchema,
          202: z
            .union([sendAcceptedSchema, sendScheduledSchema])
            .describe('The send runs on, or waits for sendAt (scheduled); follow statusUrl'),
          ...errorResponses({
            404: 'templateId names no template',
            422: 'The Idempotency-Key was used for a different request',
            503: 'The Files Service, MongoDB or Temporal cannot be reached',
          }),
        },
      },
    },
    async (request, reply) => {
      const sendAt = resolveSendAt(request.body, new Date());
      const sendRequest = await sendPreparation.prepare(request.body);
      const key = request.headers['idempotency-key'];
      const idempotency = key === undefined ? undefined : { key, digest: requestDigest(request.body) };
      const { cancellationKey } = request.body;
      const started = await sendStarter.start(sendRequest, { idempotency, later: { sendAt, cancellationKey } });
      request.log.info({ sendId: started.sendId, channels: sendRequest.channels, sendAt }, 'send started');
      if (started.sendAt) {
        const statusUrl = sendStatusUrl(started.sendId);
        const body = { ...started, status: 'scheduled' as const, sendAt: started.sendAt.toISOString(), statusUrl };
        return reply.code(202).header('location', statusUrl).send(body);
      }
      const respondAsync = /respond-async/i.test(request.headers.prefer ?? '');
      const outcome = await sendResults.waitFor(started, respondAsync ? 0 : waitMs);
      if (outcome.state === 'running')
        return reply.code(202).header('location', outcome.body.statusUrl).send(outcome.body);
      return reply.code(200).send(outcome.body);
    },
  );
};
