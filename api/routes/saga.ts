import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppConfig } from '../../common/config';
import { HttpError } from '../../common/errors';
import { sendFlowManagerEvent } from '../../common/flow-manager';
import { describeZodError, unvalidatable } from '../errors';
import { sagaCommandSchema } from '../schemas/saga';
import { sendBodySchema } from '../schemas/send';
import { SagaCommandReader } from '../services/saga-command';
import type { SendService } from '../services/send-service';

/**
 * `POST /saga/send` (spec §4): a Flow Manager command becomes a send whose workflow (`saga-<sagaId>`) ends by
 * sending the Flow Manager its success or fail event. An invalid command answers 4xx and, when a fail label
 * is configured, sends the fail event at once.
 */
export const sagaRoutes: FastifyPluginAsyncZod<{ sends: SendService; config: AppConfig }> = async (
  app,
  { sends, config },
) => {
  const flowManager = config.service.flowManagerConfiguration;
  const reader = new SagaCommandReader(flowManager);

  app.post(
    '/saga/send',
    {
      schema: {
        tags: ['send'],
        summary: 'Send from a Flow Manager command',
        description:
          '200 with an empty body once the saga workflow has started; a redelivered command starts nothing new.',
        body: sagaCommandSchema,
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
      const sendBody = reader.toSendBody(request.body);
      let body: ReturnType<typeof sendBodySchema.safeParse>;
      try {
        body = sendBodySchema.safeParse(sendBody);
      } catch (error) {
        throw unvalidatable('body', error);
      }
      if (!body.success) throw new HttpError(400, describeZodError(body.error));
      const sendRequest = await sends.prepare(body.data);
      const started = await sends.start(sendRequest, {
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
