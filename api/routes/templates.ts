import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNELS } from '../../common/config';
import { badRequest } from '../../common/errors';
import { CompiledContent, MissingContentError } from '../../common/message-content';
import { MessageRenderer, TemplateSyntaxError } from '../../common/rendering';
import type { TemplateDocument } from '../../common/templates-repository';
import { MESSAGE_BODY_LIMIT_BYTES } from '../errors';
import { objectIdString } from '../schemas/common';
import { resourceById } from './resource-by-id';
import { paginationQuerySchema } from '../schemas/pagination';
import { assertStorableSize } from '../schemas/storable';
import {
  previewBodySchema,
  previewSchema,
  TEMPLATE_TEXT_FIELDS,
  templateCreateSchema,
  templateFieldsSchema,
  templateSchema,
  type TemplateFields,
} from '../schemas/templates';

const idParams = z.object({ id: objectIdString });
const { unknownId: unknownTemplate, found, registerGet, registerDelete } = resourceById('template', idParams);

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

/** `/templates` CRUD and `POST /templates/:id/preview` (README "API"). */
export const templateRoutes: FastifyPluginAsyncZod = async (app) => {
  const { templates } = app.repositories;
  const renderer = new MessageRenderer(app.config.env.DEFAULT_LOCALE);

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
      config: { scope: 'read' },
      schema: {
        tags: ['templates'],
        operationId: 'listTemplates',
        summary: 'List templates',
        querystring: paginationQuerySchema.extend({ name: z.string().optional() }),
        response: { 200: templateSchema.array().describe('A page of templates') },
      },
    },
    async (request) => (await templates.list(request.query)).map(present),
  );

  registerGet(app, 'getTemplate', templateSchema, (id) => templates.findById(id), present);

  app.post(
    '/templates',
    {
      config: { scope: 'admin' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['templates'],
        operationId: 'createTemplate',
        summary: 'Create a template; every Handlebars field must compile',
        body: templateCreateSchema,
        response: { 201: templateSchema.describe('Created') },
      },
    },
    async (request, reply) => {
      checkSources(request.body);
      const doc = templates.newDocument(request.body);
      assertStorableSize(doc);
      await templates.insert(doc);
      return reply.code(201).send(present(doc));
    },
  );

  app.patch(
    '/templates/:id',
    {
      config: { scope: 'admin' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['templates'],
        operationId: 'updateTemplate',
        summary: 'Set some fields of a template; every Handlebars field must compile',
        params: idParams,
        body: templateFieldsSchema,
        response: { 200: templateSchema.describe('The template as it now is'), ...unknownTemplate },
      },
    },
    async (request) => {
      checkSources(request.body);
      assertStorableSize(request.body);
      return present(found(await templates.update(request.params.id, request.body), request.params.id));
    },
  );

  registerDelete(app, 'deleteTemplate', (id) => templates.remove(id));

  app.post(
    '/templates/:id/preview',
    {
      config: { scope: 'read' },
      // The user and data of a send, as large as a send's.
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['templates'],
        operationId: 'previewTemplate',
        summary: 'Render a template for a user and data, sending nothing',
        params: idParams,
        body: previewBodySchema,
        response: { 200: previewSchema, ...unknownTemplate },
      },
    },
    async (request) => {
      const template = found(await templates.findById(request.params.id), request.params.id);
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
