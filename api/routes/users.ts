import { ObjectId, type Collection, type Document } from 'mongodb';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceConfig } from '../../common/config';
import { notFound, conflict } from '../../common/errors';
import { idCandidates, userIdToString } from '../../common/users-repository';
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

/** `/users` CRUD (spec §4) on the product team's users collection, with its own field names. */
export const userRoutes: FastifyPluginAsyncZod<{ users: Collection; fields: ServiceConfig['userFields'] }> = async (
  app,
  { users, fields },
) => {
  const schemas = userSchemas(fields);
  const idParams = z.object({ id: z.string().min(1).max(200) });
  const byId = (id: string) => ({ [fields.id]: { $in: idCandidates([id]) } });
  const present = (doc: Document) => ({
    ...doc,
    _id: userIdToString(doc._id),
    [fields.id]: userIdToString(doc[fields.id]),
  });
  const forbidIdChange = (body: Record<string, unknown>) => {
    const { _id: _ignored, ...rest } = body;
    if (fields.id !== '_id') delete rest[fields.id];
    return rest;
  };

  app.get(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users',
        querystring: paginationQuerySchema.extend({ cluster: z.string().min(1).optional() }),
      },
    },
    async (request) => {
      const { limit, skip, cluster } = request.query;
      const docs = await users
        .find(cluster ? { [fields.clusters]: cluster } : {})
        .sort({ _id: 1 })
        .skip(skip)
        .limit(limit)
        .toArray();
      return docs.map(present);
    },
  );

  app.get('/users/:id', { schema: { tags: ['users'], params: idParams } }, async (request) => {
    const doc = await users.findOne(byId(request.params.id));
    if (!doc) throw notFound(`id: user ${request.params.id} not found`);
    return present(doc);
  });

  app.post('/users', { schema: { tags: ['users'], body: schemas.create } }, async (request, reply) => {
    const body = { ...request.body } as Record<string, unknown>;
    const _id = new ObjectId();
    if (fields.id !== '_id' && body[fields.id] === undefined) body[fields.id] = _id.toHexString();
    if (fields.id !== '_id' && (await users.findOne({ [fields.id]: body[fields.id] }))) {
      throw conflict(`${fields.id}: a user with id ${String(body[fields.id])} exists`);
    }
    const { _id: _ignored, ...rest } = body;
    const doc = { _id, ...rest, createdAt: new Date(), updatedAt: new Date() };
    assertStorableSize(doc);
    await users.insertOne(doc);
    return reply.code(201).send(present(doc));
  });

  app.patch('/users/:id', { schema: { tags: ['users'], params: idParams, body: schemas.patch } }, async (request) => {
    const update = { ...forbidIdChange(request.body as Record<string, unknown>), updatedAt: new Date() };
    assertStorableSize(update);
    const doc = await users.findOneAndUpdate(byId(request.params.id), { $set: update }, { returnDocument: 'after' });
    if (!doc) throw notFound(`id: user ${request.params.id} not found`);
    return present(doc);
  });

  app.delete('/users/:id', { schema: { tags: ['users'], params: idParams } }, async (request, reply) => {
    const result = await users.deleteOne(byId(request.params.id));
    if (result.deletedCount === 0) throw notFound(`id: user ${request.params.id} not found`);
    return reply.code(204).send();
  });
};
