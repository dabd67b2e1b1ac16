import { createHash } from 'node:crypto';
import { ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import { isDuplicateKey, type Database } from './db';
import type { ThrottleSetting } from '../config/throttle-setting';
import { isObjectIdHex } from '../temporal/workflow-ids';
import {
  modeTemplateVersion,
  TemplateVersionsRepository,
  type TemplateVersionDocument,
} from './template-versions-repository';

/** A message template (docs/api.md); every field is optional, channels use the ones they need. */
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
  /** What kind of message the template is, matched against users' preferences unless a send names its own. */
  category?: string;
  /** The throttle of its sends that name none (over their category's). */
  throttle?: ThrottleSetting;
  createdAt?: Date;
  updatedAt?: Date;
}

/** The fields of a template a client writes: everything but its id and timestamps. */
export type TemplateFields = Omit<TemplateDocument, '_id' | 'createdAt' | 'updatedAt'>;

/** The channels a mode template (OS1 shape, docs/api.md) is written for. */
export const TEMPLATE_MODES = ['sms', 'email', 'whatsapp'] as const;
export type TemplateMode = (typeof TEMPLATE_MODES)[number];

/** A WhatsApp button of a mode template, in its one stored form (the OS1 `{"quick reply": {…}}` normalized). */
export interface TemplateButton {
  type: 'url' | 'quickReply';
  value: string;
}

/** WhatsApp media of a mode template: a document, an image and a location, each optional. */
export interface TemplateMedia {
  document?: { url: string; filename?: string };
  image?: { url: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
}

/**
 * A mode template (OS1 shape, docs/api.md): addressed by its unique name, written for one channel, its
 * placeholders (`{{orderId}}`) bound to a message's `data`. Its `_id` derives from its name (`modeTemplateId`).
 */
export interface ModeTemplateDocument {
  _id: ObjectId;
  name: string;
  mode: TemplateMode;
  data: {
    /** Handlebars, compiled at write time. */
    body: string;
    /** Email only; Handlebars too. */
    subject?: string;
    /** Email only: `text/html` bodies are escaped when they render. */
    format?: 'text/plain' | 'text/html';
    /** The sender (an address, a number); absent: the provider's configured one. */
    from?: string;
    /** The template's id at the provider or regulator: Pinpoint's TemplateId or DLT id, Infobip's template name. */
    externalRef?: string;
    /** SMS: the origination identity (a number, a sender id, a pool). */
    originationNumber?: string;
    /** WhatsApp: the language of the template approved at the provider (`en`, `en_GB`). */
    language?: string;
    media?: TemplateMedia;
    buttons?: TemplateButton[];
  };
  isActive: boolean;
  tags: string[];
  /** What kind of message it is, unless a message (or its notification) names its own (docs/preferences.md). */
  category?: string;
  /**
   * The version of `data`, from 1: each change of `data` adds one and is kept in `template_versions`. Absent on a
   * template stored before versions were kept, whose content counts as version 1 (`modeTemplateVersion`, template-versions-repository.ts).
   */
  version?: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What the templates collection holds: Mia's templates and mode templates side by side (`isModeTemplate`). */
export type StoredTemplateDocument = TemplateDocument | ModeTemplateDocument;

/** The fields of a mode template a client writes. */
export type ModeTemplateFields = Omit<ModeTemplateDocument, '_id' | 'version' | 'createdAt' | 'updatedAt'>;

/** What `PATCH /templates/:id` may change of a mode template: never its name or mode. `data` is replaced whole. */
export type ModeTemplatePatch = Partial<Pick<ModeTemplateDocument, 'data' | 'isActive' | 'tags' | 'category'>>;

/** Whether a stored template is a mode template (it has a `mode`) rather than one of Mia's. */
export const isModeTemplate = (template: TemplateDocument): template is TemplateDocument & ModeTemplateDocument =>
  typeof (template as { mode?: unknown }).mode === 'string';

/**
 * The `_id` of the mode template named `name`: the first 12 bytes of sha256('mode-template:' + name). The store's
 * unique `_id` keeps names unique on MongoDB and FerretDB alike, with no index of our own in the product team's
 * collection, and a template is found by name with a point lookup.
 */
export const modeTemplateId = (name: string): ObjectId =>
  new ObjectId(createHash('sha256').update(`mode-template:${name}`).digest().subarray(0, 12));

/** Mode templates are those with a `mode`; Mia's have none. */
const MODE_TEMPLATE: Filter<Document> = { mode: { $in: [...TEMPLATE_MODES] } };

/**
 * The product team's templates collection (`TEMPLATES_CRUD_NAME`), addressed by ObjectId, and the kept versions of its
 * mode templates' content (`template_versions`), which every write of a mode template's `data` records.
 */
export class TemplatesRepository {
  private readonly templates: Collection<StoredTemplateDocument>;
  readonly versions: TemplateVersionsRepository;

  constructor(database: Pick<Database, 'templates' | 'templateVersions'>) {
    this.templates = database.templates;
    this.versions = new TemplateVersionsRepository(database);
  }

  /**
   * The template with this 24-hex id; null for an unknown id or one that is not an ObjectId. Either kind: a mode
   * template is told apart by `isModeTemplate`.
   */
  async findById(id: string): Promise<TemplateDocument | null> {
    if (!isObjectIdHex(id)) return null;
    return (await this.templates.findOne({ _id: new ObjectId(id) })) as TemplateDocument | null;
  }

  /** The mode template named `name` (active or not), by a point lookup on its derived `_id`; null when none. */
  async findModeTemplate(name: string): Promise<ModeTemplateDocument | null> {
    return (await this.templates.findOne({
      _id: modeTemplateId(name),
      ...MODE_TEMPLATE,
    })) as ModeTemplateDocument | null;
  }

  /** Templates of both kinds; `mode` or `tag` select mode templates only. */
  async list(filter: {
    name?: string;
    mode?: TemplateMode;
    tag?: string;
    limit: number;
    skip: number;
  }): Promise<TemplateDocument[]> {
    const query: Filter<Document> = {
      ...(filter.name !== undefined ? { name: filter.name } : {}),
      ...(filter.mode !== undefined || filter.tag !== undefined ? MODE_TEMPLATE : {}),
      ...(filter.mode !== undefined ? { mode: filter.mode } : {}),
      ...(filter.tag !== undefined ? { tags: filter.tag } : {}),
    };
    return (await this.templates
      .find(query)
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

  /** The mode template `createModeTemplate` would store, so that a caller can check its size first. */
  newModeTemplate(fields: ModeTemplateFields): ModeTemplateDocument {
    const now = new Date();
    return { _id: modeTemplateId(fields.name), ...fields, createdAt: now, updatedAt: now };
  }

  /**
   * The template as stored, with its first version recorded; null when a mode template of this name exists (the store
   * refused its `_id`). A name used before (its template deleted) goes on from the versions that template kept, so a
   * version approved of the old one never names other content.
   */
  async insertModeTemplate(template: ModeTemplateDocument): Promise<ModeTemplateDocument | null> {
    const stored = { ...template, version: (await this.versions.highest(template._id)) + 1 };
    try {
      await this.templates.insertOne(stored);
    } catch (error) {
      if (isDuplicateKey(error)) return null;
      throw error;
    }
    await this.versions.recordCurrent(stored);
    return stored;
  }

  /**
   * Sets the given fields of a mode template (`data` replaced whole); null when no mode template has this id. A new
   * `data` is a new version: the template's `version` goes up by one in the same update, and the content is recorded
   * as that version.
   */
  async updateModeTemplate(id: string, patch: ModeTemplatePatch): Promise<ModeTemplateDocument | null> {
    if (!isObjectIdHex(id)) return null;
    const _id = new ObjectId(id);
    if (patch.data !== undefined) await this.recordBeforeEdit(_id);
    const updated = (await this.templates.findOneAndUpdate(
      { _id, ...MODE_TEMPLATE },
      {
        $set: { ...patch, updatedAt: new Date() },
        ...(patch.data !== undefined ? { $inc: { version: 1 } } : {}),
      },
      { returnDocument: 'after' },
    )) as ModeTemplateDocument | null;
    if (updated && patch.data !== undefined) await this.versions.recordCurrent(updated);
    return updated;
  }

  /**
   * Before a change of `data`, the content it replaces is recorded as its version (kept already, unless a crash came
   * between the edit that wrote it and its record), and a template stored before versions were kept is numbered 1, so
   * that the edit becomes version 2. Every write here is idempotent, so two edits at once agree.
   */
  private async recordBeforeEdit(_id: ObjectId): Promise<void> {
    const current = (await this.templates.findOne({ _id, ...MODE_TEMPLATE })) as ModeTemplateDocument | null;
    if (!current) return;
    await this.versions.recordCurrent(current);
    if (current.version === undefined)
      await this.templates.updateOne({ _id, version: { $exists: false } }, { $set: { version: 1 } });
  }

  /**
   * The version of the mode template named `name` that is its content now, recorded if it was not yet (a template
   * stored before versions were kept, or a crash between an edit and its record); null when no such template exists.
   */
  async currentVersion(name: string): Promise<TemplateVersionDocument | null> {
    const template = await this.findModeTemplate(name);
    return template ? this.versions.recordCurrent(template) : null;
  }

  /**
   * The mode template named `name` with the content of its version `version` (its `isActive` as it is now: a
   * deactivated template sends nothing, whichever version); null when the template or that version is gone.
   */
  async findModeTemplateVersion(name: string, version: number): Promise<ModeTemplateDocument | null> {
    const template = await this.findModeTemplate(name);
    if (!template) return null;
    if (modeTemplateVersion(template) === version) return template;
    const kept = await this.versions.find(template._id, version);
    return kept ? { ...template, data: kept.data, version } : null;
  }

  /** Sets the given fields of one of Mia's templates; null when no such template has this id. */
  async update(id: string, fields: TemplateFields): Promise<TemplateDocument | null> {
    if (!isObjectIdHex(id)) return null;
    return (await this.templates.findOneAndUpdate(
      { _id: new ObjectId(id), mode: { $exists: false } },
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
