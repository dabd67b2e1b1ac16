import type { Channel } from '../config/config';

/** A validated, normalized send request: what `/send` and `/saga/send` hand to the workflow, stored once. */
export interface SendRequest {
  channels: Channel[];
  recipients: string[];
  clusters: string[];
  messageTitle?: string;
  messageContent?: string;
  templateId?: string;
  data: Record<string, unknown>;
  /** Request and template attachments merged, each name once. */
  emailAttachments: string[];
  /** Valid addresses only; invalid ones are dropped at the edge, as Mia does. */
  emailCarbonCopies: string[];
  emailBlindCarbonCopies: string[];
  emailSender?: string;
  /** The registered provider of each channel that has one (named, or the tenant default); absent: configured. */
  providers?: Partial<Record<Channel, string>>;
  /** What kind of message this is, matched against users' preferences: the request's, else its template's. */
  category?: string;
  /** Goes whatever the users' preferences say (docs/preferences.md). */
  critical?: boolean;
  /** At most `limit` deliveries per user, channel and `key` in any `windowMs`; the rest are skipped `THROTTLED`. */
  throttle?: { limit: number; windowMs: number; key?: string };
  /** `skip`: a delivery inside its user's quiet hours is skipped `QUIET_HOURS` (docs/preferences.md). */
  quietHours?: 'skip';
}

/** `scheduled` waits for its `sendAt`; `cancelled` was stopped by `DELETE /sends/:id` or its cancellation key. */
export type SendStatus = 'scheduled' | 'running' | 'completed' | 'failed' | 'cancelled';
/** `digest`: the message of a digest's flush (docs/digests.md). */
export type SendKind = 'send' | 'saga' | 'retry' | 'digest';
/**
 * `delivered` and `read` come later, from a provider's delivery report (docs/os1-messaging.md); a ledger
 * entry only moves forward: pending → sent → delivered → read, or to failed; `cancelled` is a pending entry of a
 * cancelled send that was never handed to its provider.
 */
export type DeliveryStatus =
  | 'pending'
  | 'sent'
  | 'failed'
  | 'skipped'
  | 'delivered'
  | 'read'
  | 'cancelled'
  /** Held by the user's quiet hours until `releaseAt`, then `pending` again (docs/preferences.md "Quiet hours"). */
  | 'deferred';

export interface SendDocument {
  _id: string;
  workflowId: string;
  kind: SendKind;
  request: SendRequest;
  status: SendStatus;
  sagaId?: string;
  /** A scheduled send: when it goes out (moved by `PATCH /sends/:id` while it waits). */
  sendAt?: Date;
  /** The caller's key that `POST /sends/cancel` cancels it by. */
  cancellationKey?: string;
  /** For a retry: the send whose failed deliveries it re-dispatches. */
  retryOf?: string;
  /** For a digest's flush: the digest (docs/digests.md). */
  digestId?: string;
  /** For a firing of a recurring send (`POST /schedules`): its schedule. */
  scheduleId?: string;
  /** Set when the workflow closed without finishing the send: its Temporal status (e.g. `TERMINATED`). */
  closedBy?: string;
  /** For a send with an `Idempotency-Key`: the digest of its normalized body, which a repeat must match. */
  requestDigest?: string;
  /** For a saga send: when its Flow Manager events go (`flowManagerConfiguration.eventsWhen`); absent: `finished`. */
  sagaEventsWhen?: 'started' | 'finished';
  /**
   * For a saga send recorded before the labels moved to `saga_fail_events` (`deliveredLabels`): the Flow Manager event
   * labels it delivered. Read, never written any more.
   */
  flowManagerEvents?: string[];
  /** For an original send: the ids of its retries, newest last. */
  retries?: string[];
  recipientCount?: number;
  /** Set once the audience snapshot is complete; a replay reuses it instead of taking a new one. */
  audience?: AudienceSnapshotSummary;
  /** Set when the audience snapshot failed for good (e.g. a user too large to copy): the send failed with it. */
  audienceError?: string;
  counts?: DeliveryCounts;
  /** Set by `finishSend`: the first failures in key order (`counts` says how many there are in all). */
  failures?: Failure[];
  createdAt: Date;
  /**
   * What its retention counts from: its `sendAt` while it waits for one, else its `createdAt` (set by the sends'
   * repository). Absent on sends written before: they count from `createdAt`.
   */
  retentionFrom?: Date;
  updatedAt: Date;
  completedAt?: Date;
}

export interface AudienceSnapshotSummary {
  pages: number;
  recipients: number;
  pageSize: number;
}

/** counts[channel][status] */
export type DeliveryCounts = Partial<Record<Channel, Partial<Record<DeliveryStatus, number>>>>;

/** How many deliveries of a batch ended in each status. */
export type StatusCounts = Partial<Record<DeliveryStatus, number>>;

/**
 * Adds `counts` of one channel into `into` (counts[channel][status]); a channel appears once one of its counts is not
 * 0. Pure: the workflow keeps a send's counts with it, and `finishSend` adds the stored batches' counts with it.
 */
export function addCounts(into: DeliveryCounts, channel: Channel, counts: StatusCounts): void {
  for (const [status, count] of Object.entries(counts) as [DeliveryStatus, number][]) {
    if (!count) continue;
    const perChannel = (into[channel] ??= {});
    perChannel[status] = (perChannel[status] ?? 0) + count;
    // Released deferred deliveries are taken back out of `deferred` (a negative count): none left reads as none.
    if (perChannel[status] === 0) delete perChannel[status];
  }
}

export interface DeliveryDocument {
  /** `<sendId>|<channel>|<userId>`: the unique key that makes every dispatch idempotent. */
  _id: string;
  sendId: string;
  userId: string;
  channel: Channel;
  status: DeliveryStatus;
  attempts: number;
  providerMessageId?: string;
  error?: string;
  code?: string;
  /** A permanent failure is never retried by Temporal; a retry send (`POST /sends/:id/retry`) may. */
  permanent?: boolean;
  /** Set on a critical send's delivery: it went whatever the user's preferences say (docs/preferences.md). */
  critical?: boolean;
  /** The retry round (`POST /sends/:id/retry`) that last re-dispatched this delivery. */
  retryRound?: number;
  /** A delivery deferred by the user's quiet hours: when they end (it is released the minute after, rounded up). */
  releaseAt?: Date;
  /** The release minute that moved it from `deferred` back to `pending` (`DeliveriesRepository.releaseDeferred`). */
  releasedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
  sentAt?: Date;
}

export interface Failure {
  userId: string;
  channel: Channel;
  error: string;
  code?: string;
}

/** What a finished send workflow returns, and what `/send` answers with (failures read from the ledger). */
export interface SendSummary {
  sendId: string;
  workflowId: string;
  status: SendStatus;
  recipients: number;
  counts: DeliveryCounts;
  failureCount: number;
  /** The first failures; the ledger has all of them. */
  failures: Failure[];
  /** Why the send failed as a whole (its audience snapshot failed for good), when it did. */
  error?: string;
}

export const deliveryKey = (sendId: string, channel: Channel, userId: string): string =>
  `${sendId}|${channel}|${userId}`;

/** One page of a send's audience snapshot (`audience_pages`), keyed `<sendId>|<page>`. */
export interface AudiencePageDocument {
  _id: string;
  sendId: string;
  page: number;
  userIds: string[];
  /** The user documents, index for index with `userIds`, until the send finishes. */
  users?: Record<string, unknown>[];
  /**
   * Where the audience resumes after this page (`_id` order; null in the store's order): a snapshot retried after a
   * crash goes on after its last written page, never rewriting one. Absent on pages written before it was kept.
   */
  end?: { type: 'objectId' | 'string' | 'number'; value: string } | null;
  /** Set on the snapshot's last page: a page closed by its byte budget is shorter than `pageSize` yet not the last. */
  last?: boolean;
  createdAt: Date;
}

export const audiencePageKey = (sendId: string, page: number): string => `${sendId}|${page}`;

/** The failure `type` of an audience snapshot that failed for good: not retried, the send fails with its message. */
export const AUDIENCE_SNAPSHOT_FAILED = 'AudienceSnapshotFailed';

/**
 * The key of a dispatch batch's counts (`batch_counts`): its channel, its audience page and its first user, which
 * tell the batches of one send apart (a page's batches per channel are disjoint). Pure, so the workflow builds it
 * too.
 */
export const batchCountsKey = (sendId: string, channel: Channel, page: number, firstUserId: string): string =>
  `${sendId}|${channel}|${page}|${firstUserId}`;

/** The key of a send's unknown recipients' failures in `batch_counts` (its counts are the workflow's own). */
export const missingRecipientsKey = (sendId: string): string => `${sendId}|missing`;

/**
 * The final statuses of one dispatch batch's deliveries and its first failures (`batch_counts`), written by a
 * dispatch whose result cannot say it all (some deliveries were done before it ran: an activity retry, a replay; or
 * some failed, whose codes `finishSend` reports), so `finishSend` reads this.
 * Written whole (a replace keyed by the batch), so writing it again is harmless.
 */
export interface BatchCountsDocument {
  _id: string;
  sendId: string;
  channel: Channel;
  counts: Partial<Record<DeliveryStatus, number>>;
  /** The batch's first failures in key order (at most 100). */
  failures?: Failure[];
  createdAt: Date;
}

/**
 * Written before any provider call (`dispatch_claims`): a dispatch batch's claim, keyed by the batch's content; a first
 * run's claim of one delivery (`firstRunClaimKey`); a retry round's claim of one failed delivery.
 */
export interface DispatchClaimDocument {
  _id: string;
  sendId: string;
  channel: Channel;
  size: number;
  /** For a retry's claim of one failed delivery (`DeliveriesRepository.claimFailedForRound`): the round that owns it. */
  round?: number;
  /** For a first run's claim of one delivery (`DeliveriesRepository.claimDeliveries`): the batch (or `<sendId>|missing`) that owns it. */
  owner?: string;
  /** For the claim of one deferred delivery: whether its release or the send's cancel took it. */
  deferredTo?: 'release' | 'cancel';
  createdAt: Date;
}

/**
 * The key of a first run's claim of one delivery in `dispatch_claims`: its ledger key and `|first-run` (a retry round's
 * claims end in `|retry-after-<round>`).
 */
export const firstRunClaimKey = (sendId: string, channel: Channel, userId: string): string =>
  `${deliveryKey(sendId, channel, userId)}|first-run`;

/** What a finished `deliverMessages` workflow returns (docs/os1-messaging.md). */
export interface MessagesSummary {
  requestId: string;
  workflowId: string;
  /** `failed` when every address failed; otherwise `completed`, with the failures in `counts`. */
  status: SendStatus;
  addresses: number;
  counts: DeliveryCounts;
  failureCount: number;
}
