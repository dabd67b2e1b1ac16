import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DigestDocument } from '../../common/store/digests-repository';
import { errorResponses } from '../schemas/common-schemas';
import {
  digestActionSchema,
  digestDetailSchema,
  digestIdParams,
  digestsQuerySchema,
  digestSummarySchema,
  eventAcceptedSchema,
  eventBodySchema,
  eventIdParams,
  eventRemovedSchema,
} from '../schemas/digests-schemas';
import { z } from 'zod';

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

const digestSummary = (digest: DigestDocument, flushAt = digest.flushAt ?? null) => ({
  digestId: digest._id,
  userId: digest.userId,
  digestKey: digest.digestKey,
  status: digest.status,
  flushAt: iso(flushAt),
  flushCount: digest.flushCount,
  lastFlushAt: iso(digest.lastFlushAt),
  createdAt: digest.createdAt.toISOString(),
  updatedAt: digest.updatedAt.toISOString(),
});

const unknownDigest = errorResponses({ 400: 'Not a digest id', 404: 'No digest has this id' });

/**
 * Digests (docs/digests.md): `POST /events` gives an event to the digest of each of its users; `/digests` reads,
 * flushes and drops them; `DELETE /events/:eventId` takes one pending event out.
 */
export const digestRoutes: FastifyPluginAsyncZod = async (app) => {
  const { digestEvents, digestOperations } = app;
  const { digests } = app.repositories;

  app.post(
    '/events',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['digests'],
        operationId: 'acceptEvent',
        summary: 'Give an event to the digest of each of its users',
        description:
          'Answers 202 with the digest of each user and when it flushes. `eventId` is the idempotency key: a repeat answers the first answer, even while the first runs.',
        body: eventBodySchema,
        response: {
          202: eventAcceptedSchema,
          ...errorResponses({
            404: 'A user or the template does not exist',
            422: 'The eventId was used for a different event',
            503: 'MongoDB or Temporal cannot be reached',
          }),
        },
      },
    },
    async (request, reply) => {
      const answer = await digestEvents.accept(request.body);
      request.log.info({ eventId: answer.eventId, digests: answer.digests.length }, 'digest event accepted');
      return reply.code(202).send({
        eventId: answer.eventId,
        digests: answer.digests.map((digest) => ({ digestId: digest.digestId, flushAt: iso(digest.flushAt) })),
      });
    },
  );

  app.delete(
    '/events/:eventId',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['digests'],
        operationId: 'removeEvent',
        summary: 'Take a pending event out of its digests, which go on with the rest',
        params: eventIdParams,
        response: { 200: eventRemovedSchema, ...errorResponses({ 404: 'No event has this id' }) },
      },
    },
    async (request) => digestEvents.remove(request.params.eventId),
  );

  app.get(
    '/digests',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['digests'],
        operationId: 'listDigests',
        summary: 'List digests, most recently changed first, by user, key and status',
        querystring: digestsQuerySchema,
        response: {
          200: z.object({ digests: z.array(digestSummarySchema) }).describe('Digests, most recently changed first'),
        },
      },
    },
    async (request) => ({ digests: (await digests.list(request.query)).map((digest) => digestSummary(digest)) }),
  );

  app.get(
    '/digests/:id',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['digests'],
        operationId: 'getDigest',
        summary: 'A digest: its pending events, when they flush, and its latest flushes with their sends',
        params: digestIdParams,
        response: { 200: digestDetailSchema.describe('The digest as it stands now'), ...unknownDigest },
      },
    },
    async (request) => {
      const read = await digestOperations.read(request.params.id);
      return {
        ...digestSummary(read.stored, read.flushAt),
        workflowId: read.workflowId,
        temporalUiUrl: read.temporalUiUrl,
        pendingEvents: read.pendingEvents.map((event) => ({ ...event, receivedAt: event.receivedAt.toISOString() })),
        flushes: read.flushes.map((flush) => ({
          flushNumber: flush.flushNumber,
          sendId: flush._id,
          eventIds: flush.eventIds,
          firstEventAt: flush.firstEventAt.toISOString(),
          lastEventAt: flush.lastEventAt.toISOString(),
          flushedAt: flush.flushedAt.toISOString(),
          sendStatus: flush.sendStatus,
        })),
      };
    },
  );

  app.post(
    '/digests/:id/flush',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['digests'],
        operationId: 'flushDigest',
        summary: 'Send the pending events now',
        params: digestIdParams,
        response: {
          202: digestActionSchema,
          ...unknownDigest,
          ...errorResponses({ 409: 'The digest has no pending event' }),
        },
      },
    },
    async (request, reply) => reply.code(202).send(await digestOperations.flushNow(request.params.id)),
  );

  app.delete(
    '/digests/:id',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['digests'],
        operationId: 'discardDigest',
        summary: 'Drop the pending events unsent',
        params: digestIdParams,
        response: { 200: digestActionSchema, ...unknownDigest },
      },
    },
    async (request) => digestOperations.discard(request.params.id),
  );
};
