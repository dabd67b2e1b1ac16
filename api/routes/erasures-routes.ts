import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { parseCodecKeys } from '../../common/crypto/encryption-codec';
import { erase } from '../../common/store/erasure';
import { errorResponses } from '../schemas/common-schemas';
import { erasureBodySchema, erasureResultSchema } from '../schemas/erasures-schemas';

/**
 * `POST /erasures` (docs/operations.md "Erasure"): erases one person from every collection that holds them, and says
 * what it touched. `DELETE /users/:id` deletes the user's document alone; this is what erases.
 */
export const erasureRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, database, temporal } = app;
  const [hashKey] = parseCodecKeys(config.env.TEMPORAL_CODEC_KEYS!);
  const stopConversation = async (conversationId: string) => {
    try {
      await temporal.workflow.getHandle(conversationId).terminate('erasure of its customer (POST /erasures)');
    } catch (error) {
      // Closed already, or never started: nothing runs that could read what is erased.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  };

  app.post(
    '/erasures',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['erasures'],
        operationId: 'createErasure',
        summary: "Erase a person's data: a user id, or an email address or phone number",
        description:
          "Deletes what exists for the person alone and masks them (`erased`) in records that other people's " +
          'accounting needs. A repeat touches nothing. Temporal histories are not changed (docs/operations.md "Erasure").',
        body: erasureBodySchema,
        response: { 200: erasureResultSchema.describe('What was erased'), ...errorResponses({ 400: 'Bad body' }) },
      },
    },
    async (request) => {
      const subject =
        request.body.userId !== undefined ? { userId: request.body.userId } : { address: request.body.address! };
      const { erasureId, touched } = await erase(database, subject, {
        fields: config.service.userFields,
        hashKey,
        stopConversation,
      });
      request.log.info({ erasureId, touched }, 'erasure done');
      return { erasureId, ...subject, touched };
    },
  );
};
