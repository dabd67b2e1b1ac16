import { ObjectId, type Collection, type Document } from 'mongodb';
import type { Database } from './db';
import { isObjectIdHex } from './ids';

/** A message template (README "API"); every field is optional, channels use the ones they need. */
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

/** The fields of a template a client writes: everything but its id and timestamps. */
export type TemplateFields = Omit<TemplateDocument, '_id' | 'createdAt' | 'updatedAt'>;

/** The product team's templates collection (`TEMPLATES_CRUD_NAME`), addressed by ObjectId. */
export class TemplatesRepository {
  private readonly templates: Collection<Document>;

  constructor(database: Pick<Database, 'templates'>) {
    this.templates = database.templates;
  }

  /** The template with this 24-hex id; null for an unknown id or one that is not an ObjectId. */
  async findById(id: string): Promise<TemplateDocument | null> {
    if (!isObjectIdHex(id)) return null;
    return (await this.templates.findOne({ _id: new ObjectId(id) })) as TemplateDocument | null;
  }

  async list(filter: { name?: string; limit: number; skip: number }): Promise<TemplateDocument[]> {
    return (await this.templates
      .find(filter.name ? { name: filter.name } : {})
      .sort({ _id: 1 })
      .skip(filter.skip)
      .limit(filter.limit)
      .toArray()) as TemplateDocument[];
  }

  /** The document `create` would store, so that a caller can check its size before it is written. */
  newDocument(fields: TemplateFields): TemplateDocument {
    const now = new Date();
    return { _id: new ObjectId(), ...fields, createdAt: now, updatedAt: now };
  }

  async insert(template: TemplateDocument): Promise<void> {
    await this.templates.insertOne(template);
  }

  /** Sets the given fields; null when no template has this id. */
  async update(id: string, fields: TemplateFields): Promise<TemplateDocument | null> {
    if (!isObjectIdHex(id)) return null;
    return (await this.templates.findOneAndUpdate(
      { _id: new ObjectId(id) },
      { $set: { ...fields, updatedAt: new Date() } },
      { returnDocument: 'after' },
    )) as TemplateDocument | null;
  }

  /** False when no template has this id. */
  async remove(id: string): Promise<boolean> {
    if (!isObjectIdHex(id)) return false;
    return (await this.templates.deleteOne({ _id: new ObjectId(id) })).deletedCount > 0;
  }
}
