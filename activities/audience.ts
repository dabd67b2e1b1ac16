import { Context } from '@temporalio/activity';
import type { Channel } from '../common/config/config';
import type { DeliveryOutcome } from '../common/store/deliveries-repository';
import { missingRecipientsKey, type AudienceSnapshotSummary } from '../common/domain/send-types';
import { isRefusedDocument, storedSize } from '../common/store/db';
import type { AudienceCursor, AudienceResume, UserDocument } from '../common/store/users-repository';
import type { ActivityDeps } from './activity-deps';
import { audienceSnapshotFailed, type AudienceSnapshots } from './audience-snapshots';
import { keepAlive } from './keep-alive';

/** How far a snapshot got; carried by its heartbeats so that a retry after a crash resumes there. */
interface SnapshotProgress {
  pages: number;
  recipients: number;
  after: AudienceCursor | null;
}

/**
 * The largest user a page can hold: BSON's limit of 16 MiB a document less the page's own fields (its key, send id,
 * the user's id, the end cursor). A larger user cannot be copied on any attempt.
 */
const MAX_PAGE_BYTES = 16 * 1024 * 1024 - 2 * 1024;

/** What one user adds to a page beside its document: its id in `userIds` and the array entries' keys. */
const BSON_ENTRY_OVERHEAD = 32;

/** A snapshot that no retry can take (the same users give the same error): the send fails with it. */
class SnapshotCannotBeTaken extends Error {}

const isPermanentSnapshotError = (error: unknown): boolean =>
  error instanceof SnapshotCannotBeTaken || isRefusedDocument(error);

/** `USER_NOT_FOUND` entries are written this many at a time. */
const MISSING_RECIPIENTS_PER_WRITE = 1000;

/**
 * The activities that say who a send goes to: listed ids that match no user, the audience snapshot and its
 * pages, and for a retry the failed deliveries it re-dispatches.
 */
export function createAudienceActivities(deps: ActivityDeps, snapshots: AudienceSnapshots) {
  const loadSend = async (sendId: string) => {
    const send = await deps.sends.get(sendId);
    if (!send) throw new Error(`send ${sendId} not found`);
    return send;
  };

  const takeSnapshot = async (
    input: { sendId: string; pageSize: number },
    progress: SnapshotProgress,
  ): Promise<AudienceSnapshotSummary> => {
    const send = await loadSend(input.sendId);
    if (send.audience) return send.audience;
    // A retry resumes after the pages written, not after its last heartbeat: a page written just before a crash and
    // never heartbeated may have been read by a dispatch already, and must not be rewritten with other users.
    const written = await snapshots.writtenPages(input.sendId);
    progress.pages = written.pages;
    progress.recipients = written.userIds.size;
    let resume: AudienceResume;
    if ((await deps.users.audienceOrder(send.request)) === 'store') resume = { skip: written.userIds };
    else if (written.pages === 0) resume = { after: null };
    else if (written.end !== undefined) resume = { after: written.end };
    // Pages written before they kept where they end: from the last heartbeat, past every id already taken.
    else resume = { after: progress.after, skip: written.userIds };
    progress.after = 'after' in resume ? resume.after : null;

    const pageBytes = deps.config.service.fanOut.pageBytes;
    let page: { userIds: string[]; users: UserDocument[]; bytes: number } = { userIds: [], users: [], bytes: 0 };
    let pageEnd: AudienceCursor | null = progress.after;
    const writePage = async (last: boolean) => {
      await snapshots.writePage(input.sendId, progress.pages, page.userIds, page.users, { end: pageEnd, last });
      progress.pages++;
      progress.recipients += page.userIds.length;
      progress.after = pageEnd;
      page = { userIds: [], users: [], bytes: 0 };
      Context.current().heartbeat(progress);
    };
    for await (const member of deps.users.streamAudience(send.request, resume)) {
      const bytes = storedSize(member.user) + Buffer.byteLength(member.userId) + BSON_ENTRY_OVERHEAD;
      if (bytes > MAX_PAGE_BYTES) {
        throw new SnapshotCannotBeTaken(
          `user ${member.userId} is too large to copy into the audience snapshot (${bytes} bytes of BSON; at most ${MAX_PAGE_BYTES})`,
        );
      }
      // A page closes when the next user would not fit (by count or by bytes), so that the last one is known as such.
      if (page.userIds.length === input.pageSize || (page.userIds.length > 0 && page.bytes + bytes > pageBytes)) {
        await writePage(false);
      }
      page.userIds.push(member.userId);
      page.users.push(member.user);
      page.bytes += bytes;
      pageEnd = member.cursor;
    }
    if (page.userIds.length > 0 || progress.pages === 0) await writePage(true);
    const summary = { pages: progress.pages, recipients: progress.recipients, pageSize: input.pageSize };
    await deps.sends.update(input.sendId, { audience: summary });
    Context.current().log.info('audience snapshot taken', { sendId: input.sendId, ...summary });
    return summary;
  };

  return {
    /** Records every listed recipient id that matches no user as a `USER_NOT_FOUND` failure on each channel. */
    recordMissingRecipients: ({ sendId }: { sendId: string }): Promise<number> =>
      keepAlive(async () => {
        const send = await loadSend(sendId);
        const missing = await deps.users.missingRecipients(send.request.recipients);
        // Claimed like a dispatch's deliveries: a user created meanwhile, whom a batch has claimed, is that batch's.
        const outcomes: DeliveryOutcome[] = [];
        for (let start = 0; start < missing.length; start += MISSING_RECIPIENTS_PER_WRITE) {
          const some = missing.slice(start, start + MISSING_RECIPIENTS_PER_WRITE);
          for (const channel of send.request.channels as Channel[]) {
            const heldElsewhere = await deps.ledger.claimDeliveries(
              sendId,
              channel,
              missingRecipientsKey(sendId),
              some,
            );
            for (const userId of some) {
              if (heldElsewhere.has(userId)) continue;
              outcomes.push({
                userId,
                channel,
                status: 'failed',
                code: 'USER_NOT_FOUND',
                error: 'no user has this id',
                permanent: true,
                attempted: false,
              });
            }
          }
        }
        for (let start = 0; start < outcomes.length; start += MISSING_RECIPIENTS_PER_WRITE) {
          await deps.ledger.record(sendId, outcomes.slice(start, start + MISSING_RECIPIENTS_PER_WRITE));
        }
        // Their first failures for the send's result (the workflow counts them itself).
        if (outcomes.length > 0) {
          const failures = outcomes.map(({ userId, channel, error, code }) => ({
            userId,
            channel,
            error: error!,
            code,
          }));
          await deps.ledger.recordBatch(missingRecipientsKey(sendId), sendId, send.request.channels[0], {}, failures);
        }
        return missing.length;
      }),

    /**
     * Takes the send's audience (recipients ∪ clusters, each user once) in one pass and stores its ids in
     * pages. Heartbeats carry the progress, so a retry after a crash resumes where the last page was written;
     * a completed snapshot is reused as it is (a replayed send sees the same pages).
     */
    async snapshotAudience(input: { sendId: string; pageSize: number }): Promise<AudienceSnapshotSummary> {
      const resumed = Context.current().info.heartbeatDetails as SnapshotProgress | undefined;
      const progress: SnapshotProgress = resumed ?? { pages: 0, recipients: 0, after: null };
      try {
        return await keepAlive(
          () => takeSnapshot(input, progress),
          () => progress,
        );
      } catch (error) {
        if (!isPermanentSnapshotError(error)) throw error;
        // Failed for good: said on the send, where the page loop (`loadAudiencePage`) sees it, and not retried.
        const message = `audience snapshot failed: ${(error as Error).message}`;
        await deps.sends.update(input.sendId, { audienceError: message });
        throw audienceSnapshotFailed(message);
      }
    },

    /**
     * The user ids of one page of the send's audience snapshot. With `wait`, the snapshot is still being taken: the
     * page is awaited until written, and is empty when the snapshot ends with fewer pages.
     */
    loadAudiencePage: (input: {
      sendId: string;
      page: number;
      wait?: boolean;
      /** Pages whose dispatches have all ended: their copies of user documents are dropped first. */
      dropUsersOf?: number[];
    }): Promise<string[]> =>
      keepAlive(async () => {
        if (input.dropUsersOf) await snapshots.dropUsers(input.sendId, input.dropUsersOf);
        return input.wait
          ? snapshots.waitForPage(
              input.sendId,
              input.page,
              async () => (await loadSend(input.sendId)).audience?.pages ?? null,
            )
          : snapshots.readPage(input.sendId, input.page);
      }),

    /**
     * Page `page` of the send's audience and whether it is the last, awaited while the snapshot is taken (a page
     * closed by its byte budget is short yet not the last); fails, not retried, once the snapshot failed for good.
     */
    loadAudiencePageAndEnd: (input: {
      sendId: string;
      page: number;
      /** Pages whose dispatches have all ended: their copies of user documents are dropped first. */
      dropUsersOf?: number[];
    }): Promise<{ userIds: string[]; last: boolean }> =>
      keepAlive(async () => {
        if (input.dropUsersOf) await snapshots.dropUsers(input.sendId, input.dropUsersOf);
        return snapshots.waitForPageAndEnd(input.sendId, input.page, async () => {
          const send = await loadSend(input.sendId);
          return { pages: send.audience?.pages ?? null, error: send.audienceError };
        });
      }),

    /** One page of a send's failed deliveries, claimed for a retry round (reset to pending), each by one round only. */
    claimFailedDeliveries: (input: {
      sendId: string;
      round: number;
      after: string | null;
      limit: number;
    }): Promise<{ byChannel: Partial<Record<Channel, string[]>>; next: string | null }> =>
      keepAlive(() => deps.ledger.claimFailedForRound(input.sendId, input.round, input.after, input.limit)),
  };
}
