import { Context } from '@temporalio/activity';
import type { Document } from 'mongodb';
import type { Channel } from '../common/config';
import type { DeliveryOutcome } from '../common/ledger';
import { missingRecipientsKey, type AudienceSnapshotSummary } from '../common/types';
import type { AudienceCursor, AudienceResume } from '../common/users-repository';
import type { ActivityDeps } from './activity-deps';
import type { AudienceSnapshots } from './audience-snapshots';
import { keepAlive } from './keep-alive';

/** How far a snapshot got; carried by its heartbeats so that a retry after a crash resumes there. */
interface SnapshotProgress {
  pages: number;
  recipients: number;
  after: AudienceCursor | null;
}

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
    let resume: AudienceResume = { after: progress.after };
    if ((await deps.users.audienceOrder(send.request)) === 'store') {
      // No cursor says where a snapshot in the store's order stopped: the pages it wrote do, even one written just
      // before a crash and never heartbeated, which a dispatch may already have read and must not see rewritten.
      const written = await snapshots.writtenPages(input.sendId);
      progress.pages = written.pages;
      progress.recipients = written.userIds.size;
      resume = { skip: written.userIds };
    }
    let page: { userIds: string[]; users: Document[] } = { userIds: [], users: [] };
    let pageEnd: AudienceCursor | null = progress.after;
    const writePage = async () => {
      await snapshots.writePage(input.sendId, progress.pages, page.userIds, page.users);
      progress.pages++;
      progress.recipients += page.userIds.length;
      progress.after = pageEnd;
      page = { userIds: [], users: [] };
      Context.current().heartbeat(progress);
    };
    for await (const member of deps.users.streamAudience(send.request, resume)) {
      page.userIds.push(member.userId);
      page.users.push(member.user);
      pageEnd = member.cursor;
      if (page.userIds.length === input.pageSize) await writePage();
    }
    if (page.userIds.length > 0 || progress.pages === 0) await writePage();
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
        const outcomes = missing.flatMap((userId) =>
          send.request.channels.map((channel: Channel): DeliveryOutcome => ({
            userId,
            channel,
            status: 'failed',
            code: 'USER_NOT_FOUND',
            error: 'no user has this id',
            permanent: true,
            attempted: false,
          })),
        );
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
    snapshotAudience(input: { sendId: string; pageSize: number }): Promise<AudienceSnapshotSummary> {
      const resumed = Context.current().info.heartbeatDetails as SnapshotProgress | undefined;
      const progress: SnapshotProgress = resumed ?? { pages: 0, recipients: 0, after: null };
      return keepAlive(
        () => takeSnapshot(input, progress),
        () => progress,
      );
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

    /** One page of a send's failed deliveries, claimed for a retry round (reset to pending). */
    claimFailedDeliveries: (input: {
      sendId: string;
      round: number;
      after: string | null;
      limit: number;
    }): Promise<{ byChannel: Partial<Record<Channel, string[]>>; next: string | null }> =>
      keepAlive(() => deps.ledger.claimFailed(input.sendId, input.round, input.after, input.limit)),
  };
}
