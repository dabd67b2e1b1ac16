import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Scope } from '../../common/config/api-keys';
import { notFound } from '../../common/domain/http-errors';
import { errorResponses } from '../schemas/common-schemas';

type ZodApp = Parameters<FastifyPluginAsyncZod>[0];

/**
 * What the routes of a resource addressed by `/:id` share (users, templates, notifications): the documented 404, the
 * guard that turns "nothing has this id" into it, and the `GET` and `DELETE` routes of one, which are the same for
 * each.
 */
export function resourceById(
  resource: 'user' | 'template' | 'notification',
  idParams: z.ZodObject<{ id: z.ZodType<string> }>,
  /** The scope of `DELETE /<resource>s/:id` (`templates` for templates). */
  deleteScope: Scope = 'admin',
) {
  const unknownId = errorResponses({ 404: `No ${resource} has this id` });
  /** What the repository found for `id` (a document, a deletion), or the 404 naming the id. */
  const found = <T>(result: T | null | false, id: string): T => {
    if (!result) throw notFound(`id: ${resource} ${id} not found`);
    return result;
  };
  /** The options of a route on `/<resource>s/:id`: its scope, its documentation, its answers and the 404. */
  const byIdOptions = <R extends Record<number, z.ZodType>>(
    scope: Scope,
    operationId: string,
    summary: string,
    response: R,
  ) => ({
    config: { scope },
    schema: { tags: [`${resource}s`], operationId, summary, params: idParams, response: { ...response, ...unknownId } },
  });
  const url = `/${resource}s/:id`;
  /** `GET /<resource>s/:id`: the document as `present` shapes it (and `answer` documents it), or 404. */
  const registerGet = <D>(
    app: ZodApp,
    operationId: string,
    answer: z.ZodType,
    findById: (id: string) => Promise<D | null>,
    present: (document: D) => unknown,
  ) =>
    app.get(
      url,
      byIdOptions('read', operationId, `A ${resource}`, { 200: answer.describe(`The ${resource}`) }),
      async (request) => present(found(await findById(request.params.id), request.params.id)),
    );
  /** `DELETE /<resource>s/:id`: 204, or 404 when nothing has this id. */
  const registerDelete = (app: ZodApp, operationId: string, remove: (id: string) => Promise<boolean>) =>
    app.delete(
      url,
      byIdOptions(deleteScope, operationId, `Delete a ${resource}`, {
        204: z.undefined().describe('Deleted; no body'),
      }),
      async (request, reply) => {
        found(await remove(request.params.id), request.params.id);
        return reply.code(204).send();
      },
    );
  return { unknownId, found, registerGet, registerDelete };
}
