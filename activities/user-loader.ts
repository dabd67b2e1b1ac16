import type { AudienceSnapshots } from './audience-snapshots';
import { SharedLoads } from '../common/toolkit/concurrency';
import type { UserDocument, UsersRepository } from '../common/store/users-repository';

const CACHED_PAGES = 16;

/**
 * The user documents a dispatch renders. A batch of a large send names its audience page: the page's
 * snapshot carries the users as they were when the send started, read once per worker and shared by every
 * channel and batch of that page (one read instead of one lookup per user and channel). Users the page does
 * not carry (a retry, a replay after the send finished and the snapshot dropped its documents) are looked up
 * by id.
 */
export class UserLoader {
  private readonly pages = new SharedLoads<Map<string, UserDocument> | null>(CACHED_PAGES);

  constructor(
    private readonly users: UsersRepository,
    private readonly snapshots: AudienceSnapshots,
  ) {}

  async get(sendId: string, userIds: string[], page?: number): Promise<Map<string, UserDocument>> {
    const pageUsers = page === undefined ? null : await this.page(sendId, page);
    const found = new Map<string, UserDocument>();
    const missing: string[] = [];
    for (const userId of userIds) {
      const user = pageUsers?.get(userId);
      if (user) found.set(userId, user);
      else missing.push(userId);
    }
    if (missing.length > 0) for (const [userId, user] of await this.users.byIds(missing)) found.set(userId, user);
    return found;
  }

  /** The users of an audience page's snapshot (read once per worker), or null once the snapshot dropped them. */
  pageUsers(sendId: string, page: number): Promise<Map<string, UserDocument> | null> {
    return this.page(sendId, page);
  }

  private page(sendId: string, page: number): Promise<Map<string, UserDocument> | null> {
    return this.pages.get(`${sendId}|${page}`, () => this.snapshots.readUsers(sendId, page));
  }
}
