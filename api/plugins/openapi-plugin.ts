import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** The service's name and version as the OpenAPI document and `GET /` give them; the version is package.json's. */
export const SERVICE_NAME = 'Messaging Service';
export const SERVICE_VERSION = '0.1.0';
/** Where the Swagger UI is served, and the OpenAPI document under it (`/documentation/json`). */
export const API_DOCS_PATH = '/documentation';

/**
 * The OpenAPI document of the routes registered after it, generated from the zod schemas that validate their input
 * and shape their answers: `/documentation/json`, and the Swagger UI at `/documentation` (docs/api.md).
 */
export const openApiPlugin = fp(
  async (app) => {
    const secured = app.config.env.API_KEYS.length > 0;
    await app.register(swagger, {
      openapi: {
        info: {
          title: SERVICE_NAME,
          description:
            'Send messages to users over email, sms, push, voice and WhatsApp; every send is a Temporal workflow.',
          version: SERVICE_VERSION,
        },
        tags: [
          { name: 'send', description: 'Start sends' },
          { name: 'sends', description: 'Inspect and retry sends' },
          { name: 'schedules', description: 'Recurring sends on Temporal Schedules' },
          { name: 'users', description: "The product team's users" },
          { name: 'templates', description: "Message templates: Mia's, and mode templates (OS1) by name" },
          { name: 'notifications', description: "Notifications under an admin's review" },
          { name: 'suppressions', description: 'Addresses that must not be contacted, per channel' },
          { name: 'unsubscribe', description: "Emails' one-click unsubscribe links, proven by their token" },
          { name: 'placeholders', description: 'Tenant and application values every mode template can use' },
          { name: 'providers', description: 'The provider registry; credentials are write-only' },
          { name: 'messages', description: 'OS1-style sends to raw addresses, with signed callbacks' },
          { name: 'conversations', description: "Two-way WhatsApp: a template sent, the customer's answer routed" },
          {
            name: 'digests',
            description: 'Events merged per user and key into one message, on a window, a schedule or a count',
          },
          { name: 'webhooks', description: "The providers' delivery reports, proven by the token of their URL" },
          { name: 'index', description: 'What this service is and where to read more, without an API key' },
          { name: 'health', description: 'Probes and metrics, without an API key' },
          { name: 'codec', description: 'The payload codec of the Temporal UI: workflow data decrypted' },
          { name: 'erasures', description: "A person's data erased from every collection that holds it" },
        ],
        ...(secured
          ? {
              components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
              security: [{ bearer: [] }],
            }
          : {}),
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: API_DOCS_PATH });
  },
  { name: 'openapi', dependencies: ['config'] },
);
