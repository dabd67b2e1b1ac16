import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNELS } from '../../common/config';
import { badRequest, notFound } from '../../common/errors';
import { CompiledContent, MissingContentError } from '../../common/message-content';
import { MessageRenderer, TemplateSyntaxError } from '../../common/rendering';
import type { TemplateDocument, TemplatesRepository } from '../../common/templates-repository';
import { objectIdString } from '../schemas/common';
import { paginationQuerySchema } from '../schemas/pagination';
import { assertStorableSize } from '../schemas/storable';
import {
  previewBodySchema,
  TEMPLATE_TEXT_FIELDS,
  templateCreateSchema,
  templateFieldsSchema,
  type TemplateFields,
} from '../schemas/templates';

const idParams = z.object({ id: objectIdString });

/** The channels a template has content for, in the order of `CHANNELS`. */
function templateChannels(template: TemplateDocument): (typeof CHANNELS)[number][] {
  const has = (value?: string) => typeof value === 'string' && value.length > 0;
  return CHANNELS.filter((channel) => {
    if (channel === 'email')
      return has(template.emailTitle) && (has(template.emailMessage) || has(template.emailHtmlMessage));
    if (channel === 'push') return has(template.pushTitle) && has(template.pushMessage);
    return has(template[`${channel}Message`]);
  });
}

/** `/templates` CRUD and `POST /templates/:id/preview` (spec §4). */
export const templateRoutes: FastifyPluginAsyncZod<{ templates: TemplatesRepository; locale: string }> = async (
  app,
  options,
) => {
  const { templates } = options;
  const renderer = new MessageRenderer(options.locale);

  const checkSources = (fields: TemplateFields) => {
    for (const { field, html } of TEMPLATE_TEXT_FIELDS) {
      const source = fields[field];
      if (typeof source !== 'string') continue;
      try {
        renderer.compile(field, source, { html });
      } catch (error) {
        if (error instanceof TemplateSyntaxError) throw badRequest(error.message);
        throw error;
      }
    }
  };
  const present = (doc: TemplateDocument) => ({ ...doc, _id: doc._id.toHexString() });

  app.get(
    '/templates',
    {
      schema: {
        tags: ['templates'],
        summary: 'List templates',
        querystring: paginationQuerySchema.extend({ name: z.string().optional() }),
      },
    },
    async (request) => (await templates.list(request.query)).map(present),
  );

  app.get('/templates/:id', { schema: { tags: ['templates'], params: idParams } }, async (request) => {
    const template = await templates.findById(request.params.id);
    if (!template) throw notFound(`id: template ${request.params.id} not found`);
    return present(template);
  });

  app.post('/templates', { schema: { tags: ['templates'], body: templateCreateSchema } }, async (request, reply) => {
    checkSources(request.body);
    const doc = templates.newDocument(request.body);
    assertStorableSize(doc);
    await templates.insert(doc);
    return reply.code(201).send(present(doc));
  });

  app.patch(
    '/templates/:id',
    { schema: { tags: ['templates'], params: idParams, body: templateFieldsSchema } },
    async (request) => {
      checkSources(request.body);
      assertStorableSize(request.body);
      const result = await templates.update(request.params.id, request.body);
      if (!result) throw notFound(`id: template ${request.params.id} not found`);
      return present(result);
    },
  );

  app.delete('/templates/:id', { schema: { tags: ['templates'], params: idParams } }, async (request, reply) => {
    if (!(await templates.remove(request.params.id))) throw notFound(`id: template ${request.params.id} not found`);
    return reply.code(204).send();
  });

  app.post(
    '/templates/:id/preview',
    {
      schema: {
        tags: ['templates'],
        summary: 'Render a template for a user and data, sending nothing',
        params: idParams,
        body: previewBodySchema,
      },
    },
    async (request) => {
      const template = await templates.findById(request.params.id);
      if (!template) throw notFound(`id: template ${request.params.id} not found`);
      const channels = templateChannels(template);
      const sendRequest = {
        channels,
        recipients: [],
        clusters: [],
        data: request.body.data,
        emailAttachments: [],
        emailCarbonCopies: [],
        emailBlindCarbonCopies: [],
      };
      let content: CompiledContent;
      try {
        content = new CompiledContent(sendRequest, template, renderer);
      } catch (error) {
        if (error instanceof TemplateSyntaxError || error instanceof MissingContentError)
          throw badRequest(error.message);
        throw error;
      }
      const context = { user: request.body.user, data: request.body.data };
      try {
        return Object.fromEntries(channels.map((channel) => [channel, content.render(channel, context)]));
      } catch (error) {
        throw badRequest(`data: the template does not render with this user and data: ${(error as Error).message}`);
      }
    },
  );
};
