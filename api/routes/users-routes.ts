import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceConfig } from '../../common/config/config';
import { conflict } from '../../common/domain/http-errors';
import { userIdToString, type UserDocument } from '../../common/store/users-repository';
import { errorResponses } from '../schemas/common-schemas';
import { resourceById } from './resource-by-id';
import { paginationQuerySchema } from '../schemas/pagination-schemas';
import { assertStorableSize, refineStorableDocument } from '../schemas/storable-schemas';

/**
 * The users schemas follow `userFields`: with `{ emailAddress: "email" }` the address is validated under `email`.
 * Other fields pass through (templates read them as `user.*`), as long as the database can store them. A user as
 * the API answers it has its ids as strings and every other field as stored: the collection is the product team's,
 * and an answer that does not fit its schema would be a 500.
 */
export function userSchemas(fields: ServiceConfig['userFields']) {
  const known = {
    [fields.emailAddress]: z.email(),
    [fields.phoneNumber]: z.string().regex(/^\+?[0-9 ()-]{5,20}$/, 'must be a phone number'),
    [fields.deviceToken]: z.string().min(1),
    [fields.clusters]: z.array(z.string().min(1)),
  };
  const fieldsSchema = z.object(known).partial().catchall(z.unknown());
  const patch = fieldsSchema.superRefine(refineStorableDocument);
  const create = fieldsSchema
    .extend(fields.id === '_id' ? {} : { [fields.id]: z.string().min(1).optional() })
    .superRefine(refineStorableDocument);
  // Documents written by other means than this API may hold any value in these fields: they are answered as
  // stored (a number where the API would write a phone string must not turn a read into a 500).
  const asStored = (what: string) =>
    z.unknown().optional().describe(`${what} as stored (a string when written through this API)`);
  const user = z.looseObject({
    _id: z.string(),
    [fields.id]: z.string(),
    [fields.emailAddress]: asStored('the email address'),
    [fields.phoneNumber]: asStored('the phone number'),
    [fields.deviceToken]: asStored('the device token'),
    [fields.clusters]: asStored('the cluster names (a list of strings)'),
  });
  return { create, patch, user };
}

/** `/users` CRUD (docs/api.md) on the product team's users collection, with its own field names. */
export const userRoutes: FastifyPluginAsyncZod = async (app) => {
  const { users } = app.repositories;
  const fields = app.config.service.userFields;
  const schemas = userSchemas(fields);
  const idParams = z.object({ id: z.string().min(1).max(200) });
  const { unknownId: unknownUser, found, registerGet, registerDelete } = resourceById('user', idParams);
  const present = (doc: UserDocument) => ({
    ...doc,
    _id: userIdToString(doc._id),
    [fields.id]: userIdToString(doc[fields.id]),
  });

  app.get(
    '/users',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['users'],
        operationId: 'listUsers',
        summary: 'List users',
        querystring: paginationQuerySchema.extend({ cluster: z.string().min(1).optional() }),
        response: { 200: schemas.user.array().describe('A page of users') },
      },
    },
    async (request) => (await users.list(request.query)).map(present),
  );

  registerGet(app, 'getUser', schemas.user, (id) => users.findById(id), present);

  app.post(
    '/users',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['users'],
        operationId: 'createUser',
        summary: 'Create a user',
        body: schemas.create,
        response: {
          201: schemas.user.describe('Created'),
          ...errorResponses({ 409: 'A user with this id exists' }),
        },
      },
    },
    async (request, reply) => {
      const doc = users.newDocument(request.body as Record<string, unknown>);
      assertStorableSize(doc);
      if (!(await users.insert(doc))) throw conflict(`${fields.id}: a user with id ${String(doc[fields.id])} exists`);
      return reply.code(201).send(present(doc));
    },
  );

  app.patch(
    '/users/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['users'],
        operationId: 'updateUser',
        summary: 'Set some fields of a user',
        params: idParams,
        body: schemas.patch,
        response: { 200: schemas.user.describe('The user as it now is'), ...unknownUser },
      },
    },
    async (request) => {
      assertStorableSize(request.body);
      const doc = await users.update(request.params.id, request.body as Record<string, unknown>);
      return present(found(doc, request.params.id));
    },
  );

  registerDelete(app, 'deleteUser', (id) => users.remove(id));
};
