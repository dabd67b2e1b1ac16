import { z } from 'zod';
import { templateSource } from './common';
import { storableRecord } from './storable';

/** Template fields (spec §2); Handlebars sources are compiled at write time so a broken one is a 400. */
export const templateFieldsSchema = z
  .object({
    name: z.string().min(1),
    emailTitle: templateSource,
    emailMessage: templateSource,
    emailHtmlMessage: templateSource,
    emailAttachments: z.array(z.object({ file: z.string().min(1) }).strict()),
    smsMessage: templateSource,
    voiceMessage: templateSource,
    pushTitle: templateSource,
    pushSubtitle: templateSource,
    pushMessage: templateSource,
    pushData: storableRecord,
    whatsappMessage: templateSource,
  })
  .partial()
  .strict();

export const templateCreateSchema = templateFieldsSchema.required({ name: true });
export type TemplateFields = z.infer<typeof templateFieldsSchema>;

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
