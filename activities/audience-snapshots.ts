import { ApplicationFailure } from '@temporalio/activity';
import type { AudiencePagesRepository } from '../common/store/audience-pages-repository';
import { AUDIENCE_SNAPSHOT_FAILED } from '../common/domain/send-types';
import type { AudienceCursor, UserDocument } from '../common/store/users-repository';

/** How often, at most, a dispatch waiting for a page being snapshotted looks for it. */
const PAGE_POLL_MAX_MS = 100;

/** A page of the snapshot exists already: the attempt that wrote it goes on, or crashed; this one stops. */
export class PageWrittenBefore extends Error {
  constructor(sendId: string, page: number) {
    super(`page ${page} of the audience of ${sendId} was written by another attempt: resuming after it`);
    this.name = 'PageWrittenBefore';
  }
}

/** A snapshot that failed for good, as the page loop sees it: not retried, the send fails with this error. */
export const audienceSnapshotFailed = (message: string): ApplicationFailure =>
  ApplicationFailure.create({ type: AUDIENCE_SNAPSHOT_FAILED, message, nonRetryable: true });

/**
 * A send's audience as it was when the send started, in pages of `pageSize`, one document per page keyed
 * `<sendId>|<page>`: the user ids, and the user documents until the send finishes. Taking the audience once,
 * in one pass, keeps the workflow's pages stable (a retried or replayed dispatch sees the same batches as the
 * first run; users added during the send are not half-included) and spares a lookup per user. When the send
 * finishes the documents are dropped (no copy of user data outlives the send); the ids stay for replays.
 * Every write is keyed, so a snapshot interrupted by a crash is resumed.
 */
export class AudienceSnapshots {
  constructor(private readonly pages: AudiencePagesRepository) {}

  /**
   * Writes a page once: a keyed insert, never a replace, so that a page a dispatch may already have read is never
   * rewritten with other users. A page written before (by an attempt that crashed, or one still running after its
   * heartbeat timed out) throws `PageWrittenBefore`: the retry resumes after the pages written (`writtenPages`).
   */
  async writePage(
    sendId: string,
    page: number,
    userIds: string[],
    users: UserDocument[],
    options: { end?: AudienceCursor | null; last?: boolean } = {},
  ): Promise<void> {
    const written = await this.pages.insertOnce({
      sendId,
      page,
      userIds,
      users,
      ...(options.end !== undefined ? { end: options.end } : {}),
      ...(options.last ? { last: true } : {}),
    });
    if (!written) throw new PageWrittenBefore(sendId, page);
  }

  async readPage(sendId: string, page: number): Promise<string[]> {
    const doc = await this.pages.findIds(sendId, page);
    if (!doc) throw new Error(`page ${page} of the audience of ${sendId} is missing`);
    return doc.userIds;
  }

  /**
   * The pages a snapshot has written so far (0, 1, … up to the first missing one), their user ids, and where the last
   * one ends (`_id` order: absent when no page was written or the last was written before pages kept it): where a
   * snapshot retried after a crash resumes, even past a page written after its last heartbeat. One lookup per page.
   */
  async writtenPages(sendId: string): Promise<{ pages: number; userIds: Set<string>; end?: AudienceCursor | null }> {
    const userIds = new Set<string>();
    let end: AudienceCursor | null | undefined;
    for (let page = 0; ; page++) {
      const doc = await this.pages.findIds(sendId, page);
      if (!doc) return { pages: page, userIds, ...(end !== undefined ? { end } : {}) };
      for (const userId of doc.userIds) userIds.add(userId);
      end = doc.end;
    }
  }

  /**
   * Page `page` and whether it is the snapshot's last, for a workflow that reads pages while the snapshot is taken:
   * awaited until written; empty and last when the snapshot ended with fewer pages. A snapshot that failed for good
   * (`failedSnapshot`) throws its error instead of being awaited forever.
   */
  async waitForPageAndEnd(
    sendId: string,
    page: number,
    snapshotState: () => Promise<{ pages: number | null; error?: string }>,
  ): Promise<{ userIds: string[]; last: boolean }> {
    for (let delayMs = 10; ; delayMs = Math.min(2 * delayMs, PAGE_POLL_MAX_MS)) {
      const doc = await this.pages.findIds(sendId, page);
      // A page that keeps its end (null in the store's order) was written knowing whether it is the last.
      if (doc && (doc.last === true || doc.end !== undefined)) return { userIds: doc.userIds, last: doc.last === true };
      const state = await snapshotState();
      if (doc) return { userIds: doc.userIds, last: state.pages !== null && page + 1 >= state.pages };
      if (state.error !== undefined) throw audienceSnapshotFailed(state.error);
      if (state.pages !== null) {
        if (page >= state.pages) return { userIds: [], last: true };
        return { userIds: await this.readPage(sendId, page), last: page + 1 >= state.pages };
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  /**
   * The page's user ids once a snapshot still being taken has written it (the first pages are dispatched while the
   * rest is read); [] when the snapshot ended with fewer pages. `pagesWhenDone` says how many pages a finished
   * snapshot has (null while it runs). Polls the page by its key, a point lookup.
   */
  async waitForPage(sendId: string, page: number, pagesWhenDone: () => Promise<number | null>): Promise<string[]> {
    for (let delayMs = 10; ; delayMs = Math.min(2 * delayMs, PAGE_POLL_MAX_MS)) {
      const doc = await this.pages.findIds(sendId, page);
      if (doc) return doc.userIds;
      const pages = await pagesWhenDone();
      if (pages !== null) return page >= pages ? [] : this.readPage(sendId, page);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  /** The page's user documents by user id; null once the send has finished and dropped them. */
  readUsers(sendId: string, page: number): Promise<Map<string, UserDocument> | null> {
    return this.pages.findUsers(sendId, page);
  }

  /** Drops the user documents of these pages, keeping the ids. */
  dropUsers(sendId: string, pages: number[]): Promise<void> {
    return this.pages.dropUsers(sendId, pages);
  }
}
