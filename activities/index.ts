import type { Document } from 'mongodb';
import type { AppConfig } from '../common/config';
import type { Database } from '../common/db';
import type { FilesServiceClient } from '../common/files-service';
import { FlowManagerNotConfiguredError, sendFlowManagerEvent } from '../common/flow-manager';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { AudienceSnapshots } from '../common/audience-snapshots';
import { ChannelRateLimiter } from '../common/rate-limiter';
import { countFailures, countSent, type DeliveryOutcome, type Ledger } from '../common/ledger';
import type { AudienceSnapshotSummary, SendSummary } from '../common/types';
import type { AudienceCursor, UsersRepository } from '../common/users-repository';
import type { ChannelProviders } from './providers/channel-interfaces';
import { dispatchDeliveries, type DispatchInput } from './dispatch';
import { keepAlive } from './keep-alive';
import { UserLoader } from './user-loader';
import { SendContextCache } from './send-context';

export type { DispatchInput, DispatchResult } from './dispatch';

export interface ActivityDeps {
  config: AppConfig;
  database: Database;
  ledger: Ledger;
  users: UsersRepository;
  providers: ChannelProviders;
  files: FilesServiceClient;
}

/** How many failures a workflow result carries; `/send` and `/sends/:id` read the full list from the ledger. */
const FAILURES_IN_RESULT = 100;

/**
 * The send activities, built from their dependencies (STYLE.md: `createActivities(deps)`), so tests pass real
 * clients pointed at the simulator without module mocking.
 */
export function createActivities(deps: ActivityDeps) {
  const contexts = new SendContextCache(deps);
  const snapshots = new AudienceSnapshots(deps.database);
  const dispatchDeps = {
    ...deps,
    contexts,
    userLoader: new UserLoader(deps.users, snapshots),
    limiter: new ChannelRateLimiter(deps.database, deps.config.service.rateLimits),
  };

  type SnapshotProgress = { pages: number; recipients: number; after: AudienceCursor | null };
  const takeSnapshot = async (
    input: { sendId: string; pageSize: number },
    progress: SnapshotProgress,
  ): Promise<AudienceSnapshotSummary> => {
    const send = await deps.ledger.getSend(input.sendId);
    if (!send) throw new Error(`send ${input.sendId} not found`);
    if (send.audience) return send.audience;
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
    for await (const member of deps.users.streamAudience(send.request, progress.after)) {
      page.userIds.push(member.userId);
      page.users.push(member.user);
      pageEnd = member.cursor;
      if (page.userIds.length === input.pageSize) await writePage();
    }
    if (page.userIds.length > 0 || progress.pages === 0) await writePage();
    const summary = { pages: progress.pages, recipients: progress.recipients, pageSize: input.pageSize };
    await deps.ledger.updateSend(input.sendId, { audience: summary });
    return summary;
  };

  return {
    /** Records every listed recipient id that matches no user as a `USER_NOT_FOUND` failure on each channel. */
    recordMissingRecipients: ({ sendId }: { sendId: string }): Promise<number> =>
      keepAlive(async () => {
        const send = await deps.ledger.getSend(sendId);
        if (!send) throw new Error(`send ${sendId} not found`);
        const missing = await deps.users.missingRecipients(send.request.recipients);
        const outcomes = missing.flatMap((userId) =>
          send.request.channels.map((channel): DeliveryOutcome => ({
            userId,
            channel,
            status: 'failed',
            code: 'USER_NOT_FOUND',
            error: 'no user has this id',
            permanent: true,
            attempted: false,
          })),
        );
        for (let start = 0; start < outcomes.length; start += 1000) {
          await deps.ledger.record(sendId, outcomes.slice(start, start + 1000));
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

    /** The user ids of one page of the send's audience snapshot. */
    loadAudiencePage: (input: { sendId: string; page: number }): Promise<string[]> =>
      keepAlive(() => snapshots.readPage(input.sendId, input.page)),

    /** One page of a send's failed deliveries, claimed for a retry round (reset to pending). */
    claimFailedDeliveries: (input: { sendId: string; round: number; after: string | null; limit: number }) =>
      keepAlive(() => deps.ledger.claimFailed(input.sendId, input.round, input.after, input.limit)),

    /**
     * Tells the Flow Manager how a saga's send ended; retried by Temporal until it answers 2xx. Each label goes
     * to the Flow Manager once per send: a replay (workflow reset) that ends the same way sends nothing again.
     */
    notifyFlowManager: (input: { sagaId: string; messageLabel: string; sendId?: string }): Promise<void> =>
      keepAlive(async () => {
        const send = input.sendId ? await deps.ledger.getSend(input.sendId) : null;
        if (send?.flowManagerEvents?.includes(input.messageLabel)) return;
        try {
          await sendFlowManagerEvent(deps.config, input);
        } catch (error) {
          if (error instanceof FlowManagerNotConfiguredError)
            throw ApplicationFailure.nonRetryable(error.message, error.name);
          throw error;
        }
        if (input.sendId) await deps.ledger.recordFlowManagerEvent(input.sendId, input.messageLabel);
      }),

    dispatchEmail: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'email', input),
    dispatchSms: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'sms', input),
    dispatchPush: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'push', input),
    dispatchVoice: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'voice', input),
    dispatchWhatsapp: (input: DispatchInput) => dispatchDeliveries(dispatchDeps, 'whatsapp', input),

    /**
     * Totals the ledger and closes the send document. A send fails when nothing could be delivered and
     * something failed; skipped users alone do not fail it.
     */
    finishSend: (input: {
      sendId: string;
      recordId?: string;
      workflowId: string;
      recipientCount: number;
    }): Promise<SendSummary> =>
      keepAlive(async () => {
        if (!input.recordId) {
          const send = await deps.ledger.getSend(input.sendId);
          if (send?.audience) await snapshots.dropUsers(input.sendId, send.audience.pages);
        }
        const counts = await deps.ledger.counts(input.sendId);
        const failureCount = countFailures(counts);
        const status = failureCount > 0 && countSent(counts) === 0 ? 'failed' : 'completed';
        if (input.recordId) {
          // A retry reports to its own document; the original keeps its audience size and takes the new totals.
          await deps.ledger.finishSend(input.recordId, status, counts, input.recipientCount);
          await deps.ledger.updateSend(input.sendId, { status, counts, completedAt: new Date() });
        } else {
          await deps.ledger.finishSend(input.sendId, status, counts, input.recipientCount);
        }
        return {
          sendId: input.sendId,
          workflowId: input.workflowId,
          status,
          recipients: input.recipientCount,
          counts,
          failureCount,
          failures: failureCount > 0 ? await deps.ledger.failures(input.sendId, FAILURES_IN_RESULT) : [],
        };
      }),
  };
}

export type SendActivities = ReturnType<typeof createActivities>;
