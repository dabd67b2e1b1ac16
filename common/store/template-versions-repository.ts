import type { Collection, ObjectId } from 'mongodb';
import { isDuplicateKey, type Database } from './db';
import type { ModeTemplateDocument, TemplateMode } from './templates-repository';

/** The version a mode template's current content is: 1 for a template stored before versions were kept. */
export const modeTemplateVersion = (template: Pick<ModeTemplateDocument, 'version'>): number => template.version ?? 1;

/**
 * One version of a mode template's content, never changed once stored: what an enabled notification approved
 * (docs/os1-messaging.md "Approval"). Keyed `<templateId>:<version>`, so recording a version twice stores it once.
 */
export interface TemplateVersionDocument {
  _id: string;
  /** The template's id (hex); a template deleted and created again under the same name keeps its id. */
  templateId: string;
  name: string;
  mode: TemplateMode;
  version: number;
  data: ModeTemplateDocument['data'];
  /** When the template got this content: its `updatedAt` as of this version. */
  createdAt: Date;
}

export const templateVersionId = (templateId: ObjectId, version: number): string =>
  `${templateId.toHexString()}:${version}`;

/** The snapshot of a mode template's current content, as its version. */
export function currentContentVersion(template: ModeTemplateDocument): TemplateVersionDocument {
  const version = modeTemplateVersion(template);
  return {
    _id: templateVersionId(template._id, version),
    templateId: template._id.toHexString(),
    name: template.name,
    mode: template.mode,
    version,
    data: template.data,
    createdAt: template.updatedAt,
  };
}

/** The kept versions of mode templates (`template_versions`): insert-only. */
export class TemplateVersionsRepository {
  private readonly versions: Collection<TemplateVersionDocument>;

  constructor(database: Pick<Database, 'templateVersions'>) {
    this.versions = database.templateVersions;
  }

  /**
   * Keeps the template's current content as its version. Idempotent: a version already kept is left as it is, so the
   * write that changed the content and a later reader that found the version missing may both record it.
   */
  async recordCurrent(template: ModeTemplateDocument): Promise<TemplateVersionDocument> {
    const version = currentContentVersion(template);
    try {
      await this.versions.insertOne(version);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    return version;
  }

  find(templateId: ObjectId, version: number): Promise<TemplateVersionDocument | null> {
    return this.versions.findOne({ _id: templateVersionId(templateId, version) });
  }

  /** The highest version kept for this template id; 0 when none is. */
  async highest(templateId: ObjectId): Promise<number> {
    const [latest] = await this.versions
      .find({ templateId: templateId.toHexString() }, { projection: { version: 1 } })
      .sort({ version: -1 })
      .limit(1)
      .toArray();
    return latest?.version ?? 0;
  }

  /** A page of a template's versions, newest first. */
  list(templateId: ObjectId, page: { limit: number; skip: number }): Promise<TemplateVersionDocument[]> {
    return this.versions
      .find({ templateId: templateId.toHexString() })
      .sort({ version: -1 })
      .skip(page.skip)
      .limit(page.limit)
      .toArray();
  }
}
