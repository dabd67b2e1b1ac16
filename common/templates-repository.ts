import { ObjectId, type Collection } from 'mongodb';

/** A message template (spec §2); every field is optional, channels use the ones they need. */
export interface TemplateDocument {
  _id: ObjectId;
  name?: string;
  emailTitle?: string;
  emailMessage?: string;
  emailHtmlMessage?: string;
  emailAttachments?: { file: string }[];
  smsMessage?: string;
  voiceMessage?: string;
  pushTitle?: string;
  pushSubtitle?: string;
  pushMessage?: string;
  pushData?: { android?: Record<string, unknown>; apns?: Record<string, unknown>; [key: string]: unknown };
  whatsappMessage?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

export async function findTemplate(templates: Collection, id: string): Promise<TemplateDocument | null> {
  if (!ObjectId.isValid(id) || !/^[0-9a-fA-F]{24}$/.test(id)) return null;
  return (await templates.findOne({ _id: new ObjectId(id) })) as TemplateDocument | null;
}
