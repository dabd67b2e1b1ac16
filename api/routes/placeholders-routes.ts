import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { appScope, type PlaceholderScope } from '../../common/store/placeholders-repository';
import { errorResponses } from '../schemas/common-schemas';
import { appIdParams, placeholdersBodySchema, placeholdersSchema } from '../schemas/placeholders-schemas';

/**
 * Tenant and application placeholders (docs/os1-messaging.md): values every mode template can use besides a
 * message's `data`, set whole by an admin, read with the `read` scope.
 */
export const placeholderRoutes: FastifyPluginAsyncZod = async (app) => {
  const { placeholders } = app.repositories;
  const answer = async (scope: PlaceholderScope) => ({ scope, ...(await placeholders.get(scope)) });
  const badInput = errorResponses({ 400: 'A name or value is malformed, or there are too many' });

  app.get(
    '/placeholders',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['placeholders'],
        operationId: 'getTenantPlaceholders',
        summary: "The tenant's placeholder values",
        response: { 200: placeholdersSchema },
      },
    },
    () => answer('tenant'),
  );

  app.put(
    '/placeholders',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['placeholders'],
        operationId: 'setTenantPlaceholders',
        summary: "Replace the tenant's placeholder values, which every template can use ({{name}}, {{tenant.name}})",
        body: placeholdersBodySchema,
        response: { 200: placeholdersSchema, ...badInput },
      },
    },
    async (request) => ({ scope: 'tenant', ...(await placeholders.set('tenant', request.body.values)) }),
  );

  app.get(
    '/apps/:appId/placeholders',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['placeholders'],
        operationId: 'getAppPlaceholders',
        summary: "An application's placeholder values",
        params: appIdParams,
        response: { 200: placeholdersSchema },
      },
    },
    (request) => answer(appScope(request.params.appId)),
  );

  app.put(
    '/apps/:appId/placeholders',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['placeholders'],
        operationId: 'setAppPlaceholders',
        summary:
          "Replace an application's placeholder values, which its messages' templates can use ({{name}}, {{app.name}})",
        params: appIdParams,
        body: placeholdersBodySchema,
        response: { 200: placeholdersSchema, ...badInput },
      },
    },
    async (request) => {
      const scope = appScope(request.params.appId);
      return { scope, ...(await placeholders.set(scope, request.body.values)) };
    },
  );
};
