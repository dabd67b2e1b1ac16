import type { FastifyError, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../../common/domain/http-errors';
import { httpErrorFor, isTemporalUnreachable, MESSAGE_BODY_LIMIT_BYTES, parseRequestPart } from '../request-errors';
import { errorResponses } from '../schemas/common-schemas';
import { sagaCommandSchema, sagaIdOf } from '../schemas/saga-schemas';
import { sendBodySchema } from '../schemas/send-schemas';
import { resolveSendAt } from '../services/send-at';
import { SagaCommandReader } from '../services/saga-command';

/** The reason kept with a fail event (its workflow's input): the answer the command got, cut to this length. */
const REASON_MAX_CHARS = 500;

/**
 * `POST /saga/send` (docs/operating-sends.md "Saga sends"): a Flow Manager command becomes a send whose workflow
 * (`saga-<sagaId>`) sends the Flow Manager its success event as it starts (`eventsWhen: "started"`, the default), or
 * its success or fail event as it ends (`"finished"`). A command answered 4xx or 5xx sends the fail event, when a
 * fail label is configured, through a workflow of its own (`SagaFailEvents`) that retries it until the Flow Manager
 * answers 2xx; when neither Temporal nor MongoDB can take it the answer is a 503 and a redelivery carries it.
 */
export const sagaRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, sendPreparation, sendStarter, sagaFailEvents } = app;
  const flowManager = config.service.flowManagerConfiguration;
  const failEventLabel = flowManager?.failEventLabel;
  const reader = new SagaCommandReader(flowManager);

  /** Records the fail event of a refused command, then lets the app's error handler answer (a 503 if it could not). */
  const refuse = async (error: FastifyError, request: FastifyRequest): Promise<never> => {
    const sagaId = sagaIdOf(request.body);
    if (!failEventLabel || sagaId === undefined) throw error;
    const answer = httpErrorFor(error);
    const reason = `${answer.statusCode} ${answer.message}`.slice(0, REASON_MAX_CHARS);
    try {
      const recorded = await sagaFailEvents.record(
        { sagaId, messageLabel: failEventLabel, reason },
        { temporalDown: isTemporalUnreachable(error) },
      );
      request.log.info({ sagaId, statusCode: answer.statusCode, failEvent: recorded.how }, 'saga command refused');
      if (recorded.how === 'queued' && recorded.startError) {
        request.log.warn({ err: recorded.startError, sagaId }, 'Temporal did not take the fail event: it is queued');
      }
    } catch (recordError) {
      request.log.error({ err: recordError, sagaId }, 'the fail event of a refused saga command could not be recorded');
      throw new HttpError(
        503,
        `${answer.message} (and its fail event could not be recorded: Temporal and MongoDB cannot be reached; redeliver the command)`,
      );
    }
    throw error;
  };

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
          '200 with an empty body once the saga workflow has started; a redelivered command starts nothing new. The success event goes once the send has started (flowManagerConfiguration.eventsWhen "started", the default) or when it ends ("finished", which sends the fail event instead when every delivery failed). Any other answer sends the fail event, when one is configured.',
        body: sagaCommandSchema,
        response: {
          200: z.undefined().describe('The saga send has started (or had, for a redelivered command); no body'),
          ...errorResponses({
            404: 'The command names no template',
            409: 'An earlier command for this saga was refused: its fail event is the saga’s outcome',
            503: 'The Files Service, MongoDB or Temporal cannot be reached',
          }),
        },
      },
      errorHandler: refuse,
    },
    async (request, reply) => {
      const body = parseRequestPart(sendBodySchema, reader.toSendBody(request.body), 'body');
      if ('error' in body) throw body.error;
      const sendAt = resolveSendAt({ sendAt: body.value.sendAt }, new Date());
      const sendRequest = await sendPreparation.prepare(body.value);
      if (failEventLabel) await sagaFailEvents.assertNotRefused(request.body.key);
      const started = await sendStarter.start(sendRequest, {
        saga: {
          sagaId: request.body.key,
          successEventLabel: flowManager?.successEventLabel,
          failEventLabel,
          eventsWhen: flowManager?.eventsWhen ?? 'started',
        },
        later: { sendAt },
      });
      request.log.info({ sendId: started.sendId, sagaId: request.body.key }, 'saga send started');
      return reply.code(200).send();
    },
  );
};
