import { z } from 'zod';
import { objectIdString, templateSource } from './common';
import { storableRecord } from './storable';

/**
 * The template fields (README "API"), built from what each field is: the checks of a write, or what a stored
 * template holds. The templates collection is the product team's, so a stored field is held to its type (may be
 * null), not to the write rules (an answer that does not fit its schema would be a 500).
 */
function templateFields<
  Name extends z.ZodType,
  Text extends z.ZodType,
  File extends z.ZodType,
  Data extends z.ZodType,
>(parts: { name: Name; text: Text; attachment: File; data: Data }) {
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
  });
}

/**
 * Template fields as written (`POST`, `PATCH`); Handlebars sources are compiled at write time so a broken one is a
 * 400.
 */
export const templateFieldsSchema = templateFields({
  name: z.string().min(1),
  text: templateSource,
  attachment: z.object({ file: z.string().min(1) }).strict(),
  data: storableRecord,
})
  .partial()
  .strict();

export const templateCreateSchema = templateFieldsSchema.required({ name: true });
export type TemplateFields = z.infer<typeof templateFieldsSchema>;

/** A stored template as the API answers it, other fields included. */
export const templateSchema = templateFields({
  name: z.string().nullish(),
  text: z.string().nullish(),
  attachment: z.looseObject({ file: z.string() }),
  data: z.record(z.string(), z.unknown()),
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
  })
  .partial()
  .describe('One message per channel the template has content for, rendered');
