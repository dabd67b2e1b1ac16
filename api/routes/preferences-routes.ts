import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../common/domain/http-errors';
import { NO_PREFERENCES } from '../../common/domain/preferences';
import type { PreferencesDocument } from '../../common/store/preferences-repository';
import { userIdToString } from '../../common/store/users-repository';
import { errorResponses } from '../schemas/common-schemas';
import { preferencesBodySchema, preferencesPatchSchema, preferencesSchema } from '../schemas/preferences-schemas';

/**
 * What each user chose to receive (docs/preferences.md): read with the `read` scope, set by an admin, like the user
 * itself. Keyed by the user's id as sends name it, for a user that exists.
 */
export const preferencesRoutes: FastifyPluginAsyncZod = async (app) => {
  const { users, preferences } = app.repositories;
  const idField = app.config.service.userFields.id;
  const params = z.object({ id: z.string().min(1).max(200) });
  const errors = errorResponses({ 404: 'No user has this id' });
  const badInput = errorResponses({ 400: 'A setting is malformed (the message names it); nothing was stored' });
  const schema = (operationId: string, summary: string) => ({
    tags: ['users'],
    operationId,
    summary,
    params,
    response: { 200: preferencesSchema, ...errors, ...badInput },
  });

  /** The id the user's deliveries carry, or 404. */
  const userIdOf = async (id: string): Promise<string> => {
    const user = await users.findById(id);
    if (!user) throw notFound(`id: user ${id} not found`);
    return userIdToString(user[idField] ?? user._id);
  };
  const present = (userId: string, document: PreferencesDocument | null) => ({
    userId,
    channels: document?.channels ?? NO_PREFERENCES.channels,
    categories: document?.categories ?? NO_PREFERENCES.categories,
    ...(document?.quietHours ? { quietHours: document.quietHours } : {}),
    updatedAt: document?.updatedAt ?? null,
  });

  app.get(
    '/users/:id/preferences',
    { config: { scope: 'read' }, schema: schema('getUserPreferences', "A user's preferences") },
    async (request) => {
      const userId = await userIdOf(request.params.id);
      return present(userId, await preferences.get(userId));
    },
  );

  app.put(
    '/users/:id/preferences',
    {
      config: { scope: 'admin' },
      schema: { ...schema('setUserPreferences', "Replace a user's preferences"), body: preferencesBodySchema },
    },
    async (request) => {
      const userId = await userIdOf(request.params.id);
      return present(userId, await preferences.set(userId, request.body));
    },
  );

  app.patch(
    '/users/:id/preferences',
    {
      config: { scope: 'admin' },
      schema: {
        ...schema('updateUserPreferences', "Change some of a user's preferences"),
        body: preferencesPatchSchema,
      },
    },
    async (request) => {
      const userId = await userIdOf(request.params.id);
      return present(userId, await preferences.patch(userId, request.body));
    },
  );
};
