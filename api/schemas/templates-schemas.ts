import { z } from 'zod';
import { TEMPLATE_MODES } from '../../common/store/templates-repository';
import { filesServiceName, objectIdString, templateSource } from './common-schemas';
import { paginationQuerySchema } from './pagination-schemas';
import { throttleSettingSchema } from '../../common/config/throttle-setting';
import { categoryName } from './preferences-schemas';
import { storableRecord } from './storable-schemas';
import { whatsappButtonSchema, whatsappMediaSchema } from './whatsapp-schemas';

/**
 * The template fields (docs/api.md), built from what each field is: the checks of a write, or what a stored
 * template holds. The templates collection is the product team's, so a stored field is held to its type (may be
 * null), not to the write rules (an answer that does not fit its schema would be a 500).
 */
function templateFields<
  Name extends z.ZodType,
  Text extends z.ZodType,
  File extends z.ZodType,
  Data extends z.ZodType,
  Category extends z.ZodType,
>(parts: { name: Name; text: Text; attachment: File; data: Data; category: Category }) {
  const { text } = parts;
  return z.object({
    name: parts.name,
    emailTitle: text,
    emailMessage: text,
    emailHtmlMessage: text.describe('HTML, escaped when it renders'),
    emailAttachments: z.array(parts.attachment).describe('Files Service names, added to every send of the template'),
    smsMessage: text,
    voiceMessage: text,
    pushTitle: text,
    pushSubtitle: text,
    pushMessage: text,
    pushData: parts.data.describe('android and apns are passed to FCM as they are; other keys go to data'),
    whatsappMessage: text,
    category: parts.category.describe("Matched against users' preferences unless a send names its own"),
  });
}

/**
 * Template fields as written (`POST`, `PATCH`); Handlebars sources are compiled at write time so a broken one is a
 * 400.
 */
export const templateFieldsSchema = templateFields({
  name: z.string().min(1),
  text: templateSource,
  attachment: z.object({ file: filesServiceName.min(1) }).strict(),
  data: storableRecord,
  category: categoryName,
})
  .partial()
  .extend({
    throttle: throttleSettingSchema
      .optional()
      .describe('At most limit deliveries per user, channel and key in any window, for sends that name no throttle'),
  })
  .strict();

export const templateCreateSchema = templateFieldsSchema.required({ name: true });
export type TemplateFields = z.infer<typeof templateFieldsSchema>;

/** A stored template as the API answers it, other fields included. */
export const templateSchema = templateFields({
  name: z.string().nullish(),
  text: z.string().nullish(),
  attachment: z.looseObject({ file: z.string() }),
  data: z.record(z.string(), z.unknown()),
  category: z.string().nullish(),
})
  .partial()
  .extend({
    _id: objectIdString,
    createdAt: z.date().optional(),
    updatedAt: z.date().optional(),
  })
  .loose();

/** Fields holding Handlebars sources, and whether they render as HTML. */
export const TEMPLATE_TEXT_FIELDS: { field: keyof TemplateFields; html: boolean }[] = [
  { field: 'emailTitle', html: false },
  { field: 'emailMessage', html: false },
  { field: 'emailHtmlMessage', html: true },
  { field: 'smsMessage', html: false },
  { field: 'voiceMessage', html: false },
  { field: 'pushTitle', html: false },
  { field: 'pushSubtitle', html: false },
  { field: 'pushMessage', html: false },
  { field: 'whatsappMessage', html: false },
];

export const previewBodySchema = z
  .object({
    user: z.record(z.string(), z.unknown()).default({}),
    data: z.record(z.string(), z.unknown()).default({}),
    appId: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("A mode template: the application whose placeholders fill it, with the tenant's"),
  })
  .strict();

const textMessage = <C extends string>(channel: C) => z.object({ channel: z.literal(channel), body: z.string() });

/** `POST /templates/:id/preview`: one rendered message per channel the template has content for. */
export const previewSchema = z
  .object({
    email: z.object({
      channel: z.literal('email'),
      subject: z.string(),
      text: z.string().optional(),
      html: z.string(),
    }),
    sms: textMessage('sms'),
    push: z.object({
      channel: z.literal('push'),
      title: z.string(),
      body: z.string(),
      subtitle: z.string().optional(),
    }),
    voice: textMessage('voice'),
    whatsapp: textMessage('whatsapp'),
    placeholders: z
      .record(z.string(), z.unknown())
      .describe("A mode template: the values it rendered with, data over the application's over the tenant's"),
  })
  .partial()
  .describe('One message per channel the template has content for, rendered');

// Mode templates (OS1 shape, docs/api.md): one channel each, addressed by a unique name.

/** A name of a mode template or a notification: what a message or a notification names it by. */
export const resourceName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

/** Optional text the OS1 samples write as `""` when it has none (`"from": ""`): an empty one is stored as absent. */
const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((value) => (value === '' ? undefined : value));

const body = templateSource.min(1).describe("Handlebars; placeholders bind to the message's data: {{orderId}}");

/** `data` of each mode: what the channel's messages use, nothing else (a misspelt field is a 400). */
export const MODE_DATA_SCHEMAS = {
  sms: z.strictObject({
    body,
    from: optionalText(64),
    externalRef: optionalText(200).describe('The registered template or DLT id (Pinpoint TemplateId)'),
    originationNumber: optionalText(256).describe('The origination identity: a number, sender id or pool'),
  }),
  email: z.strictObject({
    body,
    subject: templateSource.min(1).describe('Handlebars'),
    format: z.enum(['text/plain', 'text/html']).default('text/plain'),
    from: optionalText(320),
  }),
  whatsapp: z.strictObject({
    body,
    from: optionalText(64),
    externalRef: optionalText(512).describe("The template's name at the provider (Infobip templateName)"),
    language: optionalText(16).describe('The language of the template at the provider: en, en_GB'),
    media: whatsappMediaSchema.optional(),
    buttons: z.array(whatsappButtonSchema).max(10).optional(),
  }),
} as const;

const tagsSchema = z
  .array(z.string().min(1).max(100))
  .max(50)
  .transform((tags) => [...new Set(tags)]);

const modeTemplateCreate = <M extends keyof typeof MODE_DATA_SCHEMAS>(mode: M) =>
  z.strictObject({
    name: resourceName.describe('Unique among mode templates; it cannot change'),
    mode: z.literal(mode),
    data: MODE_DATA_SCHEMAS[mode],
    isActive: z.boolean().default(true).describe('An inactive template is refused at send'),
    tags: tagsSchema.default([]),
    category: categoryName
      .optional()
      .describe("Matched against users' preferences and named in the unsubscribe link, unless a message names its own"),
  });

/**
 * `POST /templates`: a mode template when the body has a `mode`, one of Mia's otherwise (whose fields are as they
 * were, and where `mode` has no place).
 */
export const templateOrModeTemplateCreateSchema = z.discriminatedUnion('mode', [
  templateCreateSchema.extend({ mode: z.undefined().optional() }),
  modeTemplateCreate('sms'),
  modeTemplateCreate('email'),
  modeTemplateCreate('whatsapp'),
]);

/**
 * `PATCH /templates/:id`: Mia's fields, or a mode template's `data` (replaced whole, checked against the stored
 * template's mode), `isActive` and `tags`. Which fields apply depends on the stored template, so `data` is checked in
 * the route.
 */
export const templatePatchSchema = templateFieldsSchema.extend({
  mode: z.enum(TEMPLATE_MODES).optional().describe('Never changes: refused'),
  data: storableRecord.optional().describe("A mode template's data, replaced whole"),
  isActive: z.boolean().optional(),
  tags: tagsSchema.optional(),
});
export type TemplatePatch = z.infer<typeof templatePatchSchema>;

/** The fields only mode templates have: refused in a patch of Mia's template (both kinds have a `category`). */
export const MODE_TEMPLATE_ONLY_FIELDS = ['mode', 'data', 'isActive', 'tags'] as const;

/** A mode template's `data` as the API answers it. */
const modeTemplateDataSchema = z
  .object({
    body: z.string(),
    subject: z.string().optional(),
    format: z.enum(['text/plain', 'text/html']).optional(),
    from: z.string().optional(),
    externalRef: z.string().optional(),
    originationNumber: z.string().optional(),
    language: z.string().optional(),
    media: z
      .object({
        document: z.object({ url: z.string(), filename: z.string().optional() }).optional(),
        image: z.object({ url: z.string() }).optional(),
        location: z
          .object({
            latitude: z.number(),
            longitude: z.number(),
            name: z.string().optional(),
            address: z.string().optional(),
          })
          .optional(),
      })
      .optional(),
    buttons: z.array(z.object({ type: z.enum(['url', 'quickReply']), value: z.string() })).optional(),
  })
  .loose();

/** A stored mode template as the API answers it. */
export const modeTemplateSchema = z.object({
  _id: objectIdString,
  name: z.string(),
  mode: z.enum(TEMPLATE_MODES),
  data: modeTemplateDataSchema,
  isActive: z.boolean(),
  tags: z.array(z.string()),
  category: z.string().optional(),
  version: z.number().int().describe('The version of its data, from 1: each change of data is a new version'),
  createdAt: z.date(),
  updatedAt: z.date(),
});

/** One kept version of a mode template (`GET /templates/:id/versions`). */
export const templateVersionSchema = z.object({
  templateId: objectIdString,
  name: z.string(),
  mode: z.enum(TEMPLATE_MODES),
  version: z.number().int(),
  data: modeTemplateDataSchema,
  createdAt: z.date().describe('When the template got this content'),
});

/** Either kind of template, as the API answers it: mode templates have a `mode`. */
export const anyTemplateSchema = z.union([modeTemplateSchema, templateSchema]);

export const templateListQuerySchema = paginationQuerySchema.extend({
  name: z.string().optional(),
  mode: z.enum(TEMPLATE_MODES).optional().describe('Mode templates of this mode'),
  tag: z.string().optional().describe('Mode templates with this tag'),
});
