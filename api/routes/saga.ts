import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../../common/errors';
import { sendFlowManagerEvent } from '../../common/flow-manager';
import { MESSAGE_BODY_LIMIT_BYTES, parseRequestPart } from '../errors';
import { errorResponses } from '../schemas/common';
import { sagaCommandSchema } from '../schemas/saga';
import { sendBodySchema } from '../schemas/send';
import { SagaCommandReader } from '../services/saga-command';

/**
 * `POST /saga/send` (README "Saga sends"): a Flow Manager command becomes a send whose workflow (`saga-<sagaId>`) ends
 * by sending the Flow Manager its success or fail event. An invalid command answers 4xx and, when a fail label is
 * configured, sends the fail event at once.
 */
export const sagaRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, sendPreparation, sendStarter } = app;
  const flowManager = config.service.flowManagerConfiguration;
  const reader = new SagaCommandReader(flowManager);

  app.post(
    '/saga/send',
    {
      config: { scope: 'send' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['send'],
        operationId: 'sagaSend',
        summary: 'Send from a Flow Manager command',
        description:
          '200 with an empty body once the saga workflow has started; a redelivered command starts nothing new.',
        body: sagaCommandSchema,
        response: {
          200: z.undefined().describe('The saga send has started (or had, for a redelivered command); no body'),
          ...errorResponses({
            404: 'The command names no template',
            503: 'The Files Service cannot be reached to check the attachments',
          }),
        },
      },
      onError: async (request, _reply, error) => {
        const sagaId = (request.body as { key?: unknown } | undefined)?.key;
        const isClientError =
          error instanceof HttpError ? error.statusCode < 500 : (error as { statusCode?: number }).statusCode === 400;
        if (!flowManager?.failEventLabel || typeof sagaId !== 'string' || !sagaId || !isClientError) return;
        try {
          await sendFlowManagerEvent(config, { sagaId, messageLabel: flowManager.failEventLabel });
        } catch (notifyError) {
          request.log.error(
            { err: notifyError, sagaId },
            'the fail event for an invalid saga command was not delivered',
          );
        }
      },
    },
    async (request, reply) => {
      const body = parseRequestPart(sendBodySchema, reader.toSendBody(request.body), 'body');
      if ('error' in body) throw body.error;
      const sendRequest = await sendPreparation.prepare(body.value);
      const started = await sendStarter.start(sendRequest, {
        saga: {
          sagaId: request.body.key,
          successEventLabel: flowManager?.successEventLabel,
          failEventLabel: flowManager?.failEventLabel,
        },
      });
      request.log.info({ sendId: started.sendId, sagaId: request.body.key }, 'saga send started');
      return reply.code(200).send();
    },
  );
};
