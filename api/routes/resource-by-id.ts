import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../common/errors';
import { errorResponses } from '../schemas/common';

type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

/**
 * What the routes of a resource addressed by `/:id` share (users, templates): the documented 404, the guard that
 * turns "nothing has this id" into it, and the `DELETE` route, which is the same for both.
 */
export function resourceById(resource: 'user' | 'template', idParams: z.ZodObject<{ id: z.ZodType<string> }>) {
  const unknownId = errorResponses({ 404: `No ${resource} has this id` });
  /** What the repository found for `id` (a document, a deletion), or the 404 naming the id. */
  const found = <T>(result: T | null | false, id: string): T => {
    if (!result) throw notFound(`id: ${resource} ${id} not found`);
    return result;
  };
  /** `DELETE /<resource>s/:id`: 204, or 404 when nothing has this id. */
  const registerDelete = (app: ZodApp, operationId: string, remove: (id: string) => Promise<boolean>) =>
    app.delete(
      `/${resource}s/:id`,
      {
        config: { scope: 'admin' },
        schema: {
          tags: [`${resource}s`],
          operationId,
          summary: `Delete a ${resource}`,
          params: idParams,
          response: { 204: z.undefined().describe('Deleted; no body'), ...unknownId },
        },
      },
      async (request, reply) => {
        found(await remove(request.params.id), request.params.id);
        return reply.code(204).send();
      },
    );
  return { unknownId, found, registerDelete };
}
