import { mapWithConcurrency } from '../toolkit/concurrency';
import { audiencePageKey, type AudiencePageDocument } from '../domain/send-types';
import { isDuplicateKey, type Database } from './db';
import type { UserDocument } from './users-repository';

const PAGE_DROPS_IN_FLIGHT = 4;

/** A page as the dispatch reads it: its user ids and where it ends, without its copies of user documents. */
export type AudiencePageIds = Pick<AudiencePageDocument, '_id' | 'userIds' | 'end' | 'last'>;

/**
 * The pages of the audience snapshots (`audience_pages`), keyed `<sendId>|<page>`: the user ids of each page, and
 * copies of the user documents until the send finishes. Pages are written once and read by their key.
 */
export class AudiencePagesRepository {
  constructor(private readonly database: Pick<Database, 'audiencePages'>) {}

  /**
   * Writes a page once: a keyed insert, never a replace, so that a page a dispatch may already have read is never
   * rewritten with other users. False when the page was written before.
   */
  async insertOnce(page: Omit<AudiencePageDocument, '_id' | 'createdAt'>): Promise<boolean> {
    try {
      await this.database.audiencePages.insertOne({
        _id: audiencePageKey(page.sendId, page.page),
        ...page,
        createdAt: new Date(),
      });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** The page without its copies of user documents; null while it is not written. */
  findIds(sendId: string, page: number): Promise<AudiencePageIds | null> {
    return this.database.audiencePages.findOne(
      { _id: audiencePageKey(sendId, page) },
      { projection: { userIds: 1, end: 1, last: 1 } },
    );
  }

  /** The page's user documents by user id; null once the send has finished and dropped them. */
  async findUsers(sendId: string, page: number): Promise<Map<string, UserDocument> | null> {
    const doc = await this.database.audiencePages.findOne({ _id: audiencePageKey(sendId, page) });
    if (!doc?.users) return null;
    return new Map(doc.users.map((user, index) => [doc.userIds[index], user as UserDocument]));
  }

  /** Drops the user documents of these pages, keeping the ids; one keyed update each. */
  async dropUsers(sendId: string, pages: number[]): Promise<void> {
    await mapWithConcurrency(pages, PAGE_DROPS_IN_FLIGHT, async (page) => {
      await this.database.audiencePages.updateOne({ _id: audiencePageKey(sendId, page) }, { $unset: { users: '' } });
    });
  }
}
