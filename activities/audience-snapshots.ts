import type { Document } from 'mongodb';
import { mapWithConcurrency } from '../common/concurrency';
import type { Database } from '../common/db';
import { audiencePageKey } from '../common/types';

const PAGE_DROPS_IN_FLIGHT = 4;

/** How often, at most, a dispatch waiting for a page being snapshotted looks for it. */
const PAGE_POLL_MAX_MS = 100;

/**
 * A send's audience as it was when the send started, in pages of `pageSize`, one document per page keyed
 * `<sendId>|<page>`: the user ids, and the user documents until the send finishes. Taking the audience once,
 * in one pass, keeps the workflow's pages stable (a retried or replayed dispatch sees the same batches as the
 * first run; users added during the send are not half-included) and spares a lookup per user. When the send
 * finishes the documents are dropped (no copy of user data outlives the send); the ids stay for replays.
 * Every write is keyed, so a snapshot interrupted by a crash is resumed.
 */
export class AudienceSnapshots {
  constructor(private readonly database: Database) {}

  async writePage(sendId: string, page: number, userIds: string[], users: Document[]): Promise<void> {
    await this.database.audiencePages.replaceOne(
      { _id: audiencePageKey(sendId, page) },
      { sendId, page, userIds, users, createdAt: new Date() },
      { upsert: true },
    );
  }

  /** The page without its copies of user documents, which only `readUsers` needs. */
  private findIds(sendId: string, page: number) {
    return this.database.audiencePages.findOne({ _id: audiencePageKey(sendId, page) }, { projection: { userIds: 1 } });
  }

  async readPage(sendId: string, page: number): Promise<string[]> {
    const doc = await this.findIds(sendId, page);
    if (!doc) throw new Error(`page ${page} of the audience of ${sendId} is missing`);
    return doc.userIds;
  }

  /**
   * The pages a snapshot has written so far (0, 1, … up to the first missing one) and their user ids: where a snapshot
   * taken in the store's own order resumes, since no cursor can say where it stopped. One point lookup per page.
   */
  async writtenPages(sendId: string): Promise<{ pages: number; userIds: Set<string> }> {
    const userIds = new Set<string>();
    for (let page = 0; ; page++) {
      const doc = await this.findIds(sendId, page);
      if (!doc) return { pages: page, userIds };
      for (const userId of doc.userIds) userIds.add(userId);
    }
  }

  /**
   * The page's user ids once a snapshot still being taken has written it (the first pages are dispatched while the
   * rest is read); [] when the snapshot ended with fewer pages. `pagesWhenDone` says how many pages a finished
   * snapshot has (null while it runs). Polls the page by its key, a point lookup.
   */
  async waitForPage(sendId: string, page: number, pagesWhenDone: () => Promise<number | null>): Promise<string[]> {
    for (let delayMs = 10; ; delayMs = Math.min(2 * delayMs, PAGE_POLL_MAX_MS)) {
      const doc = await this.findIds(sendId, page);
      if (doc) return doc.userIds;
      const pages = await pagesWhenDone();
      if (pages !== null) return page >= pages ? [] : this.readPage(sendId, page);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  /** The page's user documents by user id; null once the send has finished and dropped them. */
  async readUsers(sendId: string, page: number): Promise<Map<string, Document> | null> {
    const doc = await this.database.audiencePages.findOne({ _id: audiencePageKey(sendId, page) });
    if (!doc?.users) return null;
    return new Map(doc.users.map((user, index) => [doc.userIds[index], user]));
  }

  /** Drops the user documents of these pages, keeping the ids; one keyed update each. */
  async dropUsers(sendId: string, pages: number[]): Promise<void> {
    await mapWithConcurrency(pages, PAGE_DROPS_IN_FLIGHT, async (page) => {
      await this.database.audiencePages.updateOne({ _id: audiencePageKey(sendId, page) }, { $unset: { users: '' } });
    });
  }
}
