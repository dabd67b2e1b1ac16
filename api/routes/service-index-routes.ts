import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Env } from '../../common/config/config';
import { API_DOCS_PATH, SERVICE_NAME, SERVICE_VERSION } from '../plugins/openapi-plugin';

const serviceIndexSchema = z
  .object({
    service: z.string().describe('The service this API is'),
    version: z.string(),
    apiDocs: z.string().describe('The API documentation (Swagger UI), a path on this API'),
    openApi: z.string().describe('The OpenAPI document, a path on this API'),
    temporalUi: z.url().optional().describe('The Temporal UI of the sends (development profile only)'),
    simulatorInbox: z.url().optional().describe('What the provider simulator received (development profile only)'),
  })
  .describe('What this service is and where to read more');
type ServiceIndex = z.infer<typeof serviceIndexSchema>;

/**
 * The index of `GET /`. It answers without an API key and holds nothing secret: the name, the version and the
 * documentation's paths are public anyway, and the two URLs of this machine's tools only in the development profile,
 * so that outside it an anonymous caller learns no internal host (a send's Temporal UI link is in `GET /sends/:id`).
 */
export function serviceIndex(env: Pick<Env, 'MESSAGING_PROFILE' | 'TEMPORAL_UI_URL' | 'SIMULATOR_URL'>): ServiceIndex {
  const development = env.MESSAGING_PROFILE === 'development';
  return {
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    apiDocs: API_DOCS_PATH,
    openApi: `${API_DOCS_PATH}/json`,
    ...(development ? { temporalUi: env.TEMPORAL_UI_URL } : {}),
    ...(development && env.SIMULATOR_URL ? { simulatorInbox: new URL('/', env.SIMULATOR_URL).href } : {}),
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** The index as a page of links, for a browser. */
function indexPage(index: ServiceIndex): string {
  const links: [string, string | undefined][] = [
    ['API documentation', index.apiDocs],
    ['OpenAPI document', index.openApi],
    ['Temporal UI', index.temporalUi],
    ['Simulator inbox', index.simulatorInbox],
  ];
  const items = links
    .filter((link): link is [string, string] => link[1] !== undefined)
    .map(([label, url]) => `<li><a href="${escapeHtml(url)}">${escapeHtml(label)}</a></li>`);
  const title = escapeHtml(`${index.service} ${index.version}`);
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1><ul>${items.join('')}</ul></body></html>\n`;
}

/**
 * `GET /` (docs/api.md): what a newcomer opening the API's root finds, instead of a 404. JSON by default; a browser
 * (`Accept: text/html`) gets the same as a page of links.
 */
export const serviceIndexRoutes: FastifyPluginAsyncZod = async (app) => {
  const index = serviceIndex(app.config.env);
  app.get(
    '/',
    {
      schema: {
        tags: ['index'],
        security: [],
        operationId: 'getServiceIndex',
        summary: 'What this service is, and where its docs and tools are',
        description: 'JSON; with `Accept: text/html` (a browser), the same as a page of links.',
        response: {
          200: {
            description: 'What this service is and where to read more',
            content: {
              'application/json': { schema: serviceIndexSchema },
              'text/html': { schema: z.string().describe('The same as a page of links') },
            },
          },
        },
      },
    },
    async (request, reply) => {
      if (request.headers.accept?.includes('text/html')) return reply.type('text/html').send(indexPage(index));
      return index;
    },
  );
};
