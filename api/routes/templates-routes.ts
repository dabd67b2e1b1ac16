import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { CHANNELS } from '../../common/config/config';
import { badRequest, conflict, notFound } from '../../common/domain/http-errors';
import { CompiledContent, MissingContentError } from '../../common/rendering/message-content';
import { MessageRenderer, plainTextToHtml, TemplateSyntaxError } from '../../common/rendering/rendering';
import { mergedPlaceholderValues, modeTemplateContext } from '../../common/rendering/placeholder-values';
import { renderPoolOptions, sharedRenderPool } from '../../common/rendering/render-pool';
import {
  isModeTemplate,
  type ModeTemplateDocument,
  type ModeTemplatePatch,
  type TemplateDocument,
} from '../../common/store/templates-repository';
import { modeTemplateVersion } from '../../common/store/template-versions-repository';
import { MESSAGE_BODY_LIMIT_BYTES, parseRequestPart } from '../request-errors';
import { errorResponses, objectIdString } from '../schemas/common-schemas';
import { paginationQuerySchema } from '../schemas/pagination-schemas';
import { resourceById } from './resource-by-id';
import { WhatsappMediaCheck } from '../services/messaging/whatsapp-media';
import { assertStorableSize } from '../schemas/storable-schemas';
import {
  anyTemplateSchema,
  MODE_DATA_SCHEMAS,
  MODE_TEMPLATE_ONLY_FIELDS,
  modeTemplateSchema,
  previewBodySchema,
  previewSchema,
  resourceName,
  TEMPLATE_TEXT_FIELDS,
  templateListQuerySchema,
  templateOrModeTemplateCreateSchema,
  templatePatchSchema,
  templateVersionSchema,
  type TemplateFields,
  type TemplatePatch,
} from '../schemas/templates-schemas';

const idParams = z.object({ id: objectIdString });
const {
  unknownId: unknownTemplate,
  found,
  registerGet,
  registerDelete,
} = resourceById('template', idParams, 'templates');

/** A copy without the keys whose value is undefined, at any depth: the driver would store them as null. */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => [key, withoutUndefined(item)]),
  ) as T;
}

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

/** `/templates` CRUD and `POST /templates/:id/preview` (docs/api.md). */
export const templateRoutes: FastifyPluginAsyncZod = async (app) => {
  const { templates, placeholders } = app.repositories;
  const renderer = new MessageRenderer(app.config.env.DEFAULT_LOCALE);
  // Previews render on threads with the sends' limits: a runaway template cannot hold the API's event loop.
  const renderPool = sharedRenderPool(renderPoolOptions(app.config.env));
  const whatsappMedia = new WhatsappMediaCheck(app.config.env);
  app.addHook('onClose', () => whatsappMedia.close());

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
  /** A mode template's Handlebars sources (`data.body`, `data.subject`) must compile: a 400 naming the field. */
  const checkModeSources = (data: ModeTemplateDocument['data']) => {
    const html = data.format === 'text/html';
    for (const field of ['body', 'subject'] as const) {
      const source = data[field];
      if (typeof source !== 'string') continue;
      try {
        renderer.compile(`data.${field}`, source, { html: html && field === 'body' });
      } catch (error) {
        if (error instanceof TemplateSyntaxError) throw badRequest(error.message);
        throw error;
      }
    }
  };
  const present = <D extends TemplateDocument>(
    doc: D,
  ): Omit<D, '_id' | 'version'> & { _id: string; version?: number } => ({
    ...doc,
    _id: doc._id.toHexString(),
    ...(isModeTemplate(doc) ? { version: modeTemplateVersion(doc) } : {}),
  });

  /** The changes a patch makes to a mode template, or a 400 naming a field it may not have. */
  const modeTemplatePatch = async (
    template: ModeTemplateDocument,
    patch: TemplatePatch,
  ): Promise<ModeTemplatePatch> => {
    if (patch.name !== undefined && patch.name !== template.name)
      throw badRequest(
        `name: a mode template's name cannot change (its id derives from it); create a template with the new name`,
      );
    if (patch.mode !== undefined && patch.mode !== template.mode)
      throw badRequest(`mode: a mode template's mode cannot change (it is ${template.mode})`);
    const miaField = Object.keys(patch).find(
      (key) => key !== 'name' && key !== 'category' && !(MODE_TEMPLATE_ONLY_FIELDS as readonly string[]).includes(key),
    );
    if (miaField) throw badRequest(`${miaField}: not a field of a mode template (it has data, isActive and tags)`);
    const changes: ModeTemplatePatch = {};
    if (patch.data !== undefined) {
      const parsed = parseRequestPart(
        z.object({ data: MODE_DATA_SCHEMAS[template.mode] }),
        { data: patch.data },
        'body',
      );
      if ('error' in parsed) throw parsed.error;
      changes.data = withoutUndefined(parsed.value.data) as ModeTemplateDocument['data'];
      checkModeSources(changes.data);
      if (template.mode === 'whatsapp') await whatsappMedia.check(changes.data.media, 'data.media');
      // The same content again is no new version: a notification that approved it has nothing new to review.
      if (isDeepStrictEqual(changes.data, template.data)) delete changes.data;
    }
    if (patch.isActive !== undefined) changes.isActive = patch.isActive;
    if (patch.tags !== undefined) changes.tags = patch.tags;
    if (patch.category !== undefined) changes.category = patch.category;
    return changes;
  };

  app.get(
    '/templates',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['templates'],
        operationId: 'listTemplates',
        summary: 'List templates of both kinds; mode and tag select mode templates',
        querystring: templateListQuerySchema,
        response: { 200: anyTemplateSchema.array().describe('A page of templates') },
      },
    },
    async (request) => (await templates.list(request.query)).map(present),
  );

  registerGet(app, 'getTemplate', anyTemplateSchema, (id) => templates.findById(id), present);

  app.get(
    '/templates/by-name/:name',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['templates'],
        operationId: 'getModeTemplateByName',
        summary: 'A mode template, by its name',
        params: z.object({ name: resourceName }),
        response: {
          200: modeTemplateSchema.describe('The mode template'),
          ...errorResponses({ 404: 'No mode template has this name' }),
        },
      },
    },
    async (request) => {
      const template = await templates.findModeTemplate(request.params.name);
      if (!template) throw notFound(`name: no mode template is named "${request.params.name}"`);
      return { ...present(template), version: modeTemplateVersion(template) };
    },
  );

  app.post(
    '/templates',
    {
      config: { scope: 'templates' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['templates'],
        operationId: 'createTemplate',
        summary:
          "Create a template: a mode template (OS1 shape) when the body has a mode, else one of Mia's; every Handlebars field must compile",
        body: templateOrModeTemplateCreateSchema,
        response: {
          201: anyTemplateSchema.describe('Created'),
          ...errorResponses({ 409: 'A mode template of this name exists' }),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      if (body.mode === undefined) {
        const { mode: _mode, ...fields } = body;
        checkSources(fields);
        const doc = templates.newDocument(fields);
        assertStorableSize(doc);
        await templates.insert(doc);
        return reply.code(201).send(present(doc));
      }
      const data = withoutUndefined(body.data) as ModeTemplateDocument['data'];
      checkModeSources(data);
      if (body.mode === 'whatsapp') await whatsappMedia.check(data.media, 'data.media');
      const doc = templates.newModeTemplate({ ...body, data });
      assertStorableSize(doc);
      const stored = await templates.insertModeTemplate(doc);
      if (!stored) throw conflict(`name: a mode template named "${body.name}" exists`);
      return reply.code(201).send(present(stored));
    },
  );

  app.patch(
    '/templates/:id',
    {
      config: { scope: 'templates' },
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['templates'],
        operationId: 'updateTemplate',
        summary:
          'Set some fields of a template (of a mode template: data, replaced whole, isActive, tags; never its name); every Handlebars field must compile',
        params: idParams,
        body: templatePatchSchema,
        response: { 200: anyTemplateSchema.describe('The template as it now is'), ...unknownTemplate },
      },
    },
    async (request) => {
      const { id } = request.params;
      // Which fields a patch may set depends on the kind of template, which never changes once stored.
      const current = found(await templates.findById(id), id);
      if (isModeTemplate(current)) {
        const changes = await modeTemplatePatch(current, request.body);
        assertStorableSize(changes);
        return present(found(await templates.updateModeTemplate(id, changes), id));
      }
      const modeField = MODE_TEMPLATE_ONLY_FIELDS.find((field) => request.body[field] !== undefined);
      if (modeField)
        throw badRequest(
          `${modeField}: a field of mode templates only; this template is one of Mia's (it has no mode)`,
        );
      const fields = request.body as TemplateFields;
      checkSources(fields);
      assertStorableSize(fields);
      return present(found(await templates.update(id, fields), id));
    },
  );

  registerDelete(app, 'deleteTemplate', (id) => templates.remove(id));

  app.get(
    '/templates/:id/versions',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['templates'],
        operationId: 'listTemplateVersions',
        summary:
          "A mode template's kept versions, newest first: each content it had, what a notification's enable approves",
        params: idParams,
        querystring: paginationQuerySchema,
        response: {
          200: templateVersionSchema.array().describe('A page of versions, newest first'),
          ...errorResponses({ 404: "No mode template has this id (Mia's templates keep no versions)" }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const template = found(await templates.findById(id), id);
      if (!isModeTemplate(template))
        throw notFound(`id: template ${id} is one of Mia's templates, which keep no versions`);
      // The current content is a version even if it was stored before versions were kept.
      await templates.versions.recordCurrent(template);
      return (await templates.versions.list(template._id, request.query)).map(({ _id: _key, ...version }) => version);
    },
  );

  /** A mode template rendered as a message of its application would be, with the values it rendered with. */
  const previewModeTemplate = async (template: ModeTemplateDocument, body: z.infer<typeof previewBodySchema>) => {
    const values = mergedPlaceholderValues(body.data, await placeholders.forApp(body.appId));
    const html = template.mode === 'email' && template.data.format === 'text/html';
    const sources = [
      { field: 'data.body', source: template.data.body, html },
      ...(template.mode === 'email'
        ? [{ field: 'data.subject', source: template.data.subject ?? '', html: false }]
        : []),
    ];
    try {
      for (const { field, source } of sources) renderer.check(field, source);
    } catch (error) {
      if (error instanceof TemplateSyntaxError) throw badRequest(error.message);
      throw error;
    }
    const [outcome] = await renderPool.render(
      sources.map(({ source, html: escaped }) => ({ source, html: escaped })),
      [modeTemplateContext(values)],
    );
    if (outcome.code) {
      throw badRequest(`data: the template does not render with this data (${outcome.code}): ${outcome.error}`);
    }
    const [text = '', subject = ''] = outcome.texts;
    const message =
      template.mode === 'email'
        ? { channel: 'email' as const, subject, ...(html ? { html: text } : { text, html: plainTextToHtml(text) }) }
        : { channel: template.mode, body: text };
    return { [template.mode]: message, placeholders: values };
  };

  app.post(
    '/templates/:id/preview',
    {
      config: { scope: 'read' },
      // The user and data of a send, as large as a send's.
      bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
      schema: {
        tags: ['templates'],
        operationId: 'previewTemplate',
        summary:
          "Render a template for a user and data, sending nothing; a mode template with the tenant's and an app's placeholders",
        params: idParams,
        body: previewBodySchema,
        response: { 200: previewSchema, ...unknownTemplate },
      },
    },
    async (request) => {
      const template = found(await templates.findById(request.params.id), request.params.id);
      if (isModeTemplate(template)) return previewModeTemplate(template, request.body);
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
      const rendered = await Promise.all(
        channels.map((channel) => content.renderAll(renderPool, channel, [request.body.user], request.body.data)),
      );
      const failure = rendered.flat().find((message) => 'code' in message);
      if (failure && 'code' in failure) {
        throw badRequest(
          `data: the template does not render with this user and data (${failure.code}): ${failure.error}`,
        );
      }
      return Object.fromEntries(channels.map((channel, index) => [channel, rendered[index][0]]));
    },
  );
};
