import type { Document } from 'mongodb';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceConfig } from '../../common/config';
import { notFound, conflict } from '../../common/errors';
import { userIdToString, type UsersRepository } from '../../common/users-repository';
import { paginationQuerySchema } from '../schemas/pagination';
import { assertStorableSize, refineStorableDocument } from '../schemas/storable';

/**
 * The users body schema follows `userFields`: with `{ emailAddress: "email" }` the address is validated under
 * `email`. Other fields pass through (templates read them as `user.*`), as long as the database can store them.
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
  return { create, patch };
}

/** `/users` CRUD (README "API") on the product team's users collection, with its own field names. */
export const userRoutes: FastifyPluginAsyncZod<{
  users: UsersRepository;
  fields: ServiceConfig['userFields'];
}> = async (app, { users, fields }) => {
  const schemas = userSchemas(fields);
  const idParams = z.object({ id: z.string().min(1).max(200) });
  const present = (doc: Document) => ({
    ...doc,
    _id: userIdToString(doc._id),
    [fields.id]: userIdToString(doc[fields.id]),
  });

  app.get(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users',
        querystring: paginationQuerySchema.extend({ cluster: z.string().min(1).optional() }),
      },
    },
    async (request) => (await users.list(request.query)).map(present),
  );

  app.get('/users/:id', { schema: { tags: ['users'], params: idParams } }, async (request) => {
    const doc = await users.findById(request.params.id);
    if (!doc) throw notFound(`id: user ${request.params.id} not found`);
    return present(doc);
  });

  app.post('/users', { schema: { tags: ['users'], body: schemas.create } }, async (request, reply) => {
    const doc = users.newDocument(request.body as Record<string, unknown>);
    assertStorableSize(doc);
    if (!(await users.insert(doc))) throw conflict(`${fields.id}: a user with id ${String(doc[fields.id])} exists`);
    return reply.code(201).send(present(doc));
  });

  app.patch('/users/:id', { schema: { tags: ['users'], params: idParams, body: schemas.patch } }, async (request) => {
    assertStorableSize(request.body);
    const doc = await users.update(request.params.id, request.body as Record<string, unknown>);
    if (!doc) throw notFound(`id: user ${request.params.id} not found`);
    return present(doc);
  });

  app.delete('/users/:id', { schema: { tags: ['users'], params: idParams } }, async (request, reply) => {
    if (!(await users.remove(request.params.id))) throw notFound(`id: user ${request.params.id} not found`);
    return reply.code(204).send();
  });
};
