import type { DigestEvent } from '../../common/temporal/digest-definitions';
import type { ActivityDeps } from '../activity-deps';

export interface DigestCloseInput {
  digestId: string;
  status: 'idle' | 'discarded';
  /** The pending events the workflow drops (`discarded`). */
  discardedEventIds?: string[];
}

/**
 * Events that joined the batch through its inbox and are still to send when the workflow's own pending events ran out
 * (each removed by `DELETE /events/:eventId`): the digest takes them back and waits for the batch's end.
 */
export interface DigestCloseResult {
  reopened?: { events: DigestEvent[]; flushAt: number | null };
}

/**
 * Closes the digest's batch: its inbox first, so no event joins after. `idle` with events still in the inbox reopens
 * the batch with them instead; `discarded` drops them with the workflow's.
 */
export async function closeDigest(
  { digests }: Pick<ActivityDeps, 'digests'>,
  input: DigestCloseInput,
): Promise<DigestCloseResult> {
  const { digestId, status } = input;
  const inbox = await digests.closeInbox(digestId);
  const stored = new Map(
    (await digests.eventsByIds(inbox.events.map((event) => event.eventId))).map((event) => [event._id, event]),
  );
  const live = inbox.events.filter((event) => {
    const found = stored.get(event.eventId);
    return found && !found.removedAt && !found.flushedIn?.[digestId] && !found.discardedIn?.[digestId];
  });
  if (status === 'idle' && live.length > 0) {
    return { reopened: { events: live, flushAt: inbox.flushAt?.getTime() ?? null } };
  }
  const dropped = [...(input.discardedEventIds ?? []), ...live.map((event) => event.eventId)];
  await digests.recordClosed(digestId, status, status === 'discarded' ? dropped : []);
  return {};
}
