import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AppConfig } from '../../common/config/config';
import { badRequest, conflict, notFound } from '../../common/domain/http-errors';
import { joinedEventIds, type DigestDocument, type DigestsRepository } from '../../common/store/digests-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import {
  discardDigestSignal,
  flushDigestNowSignal,
  pendingEventsQuery,
  type DigestSnapshot,
} from '../../common/temporal/digest-definitions';
import { DIGEST_ID_PATTERN } from '../../common/temporal/workflow-ids';

/** How many of a digest's latest flushes `GET /digests/:id` shows. */
const FLUSHES_SHOWN = 20;

export interface DigestOperationsDeps {
  config: AppConfig;
  temporal: Client;
  digests: DigestsRepository;
  sends: SendsRepository;
}

/**
 * `GET /digests/:id`, `POST /digests/:id/flush`, `DELETE /digests/:id` (docs/digests.md): the stored digest with what
 * its workflow holds now, and the two signals that flush it or drop it.
 */
export class DigestOperations {
  constructor(private readonly deps: DigestOperationsDeps) {}

  async load(id: string): Promise<DigestDocument> {
    if (!DIGEST_ID_PATTERN.test(id)) throw badRequest(`id: ${id} is not a digest id (digest-<32 hex>)`);
    const found = await this.deps.digests.get(id);
    if (!found) throw notFound(`id: no digest ${id}`);
    return found;
  }

  /** The digest, its pending events (from its workflow, which holds them) and its latest flushes with their sends. */
  async read(id: string) {
    const { digests, sends, config } = this.deps;
    const stored = await this.load(id);
    const live = await this.snapshot(id);
    const pending = (await digests.eventsByIds(pendingIds(stored, live))).filter((event) => !event.removedAt);
    const flushes = await digests.flushesOf(id, FLUSHES_SHOWN);
    const sendStatuses = await Promise.all(flushes.map((flush) => sends.get(flush._id)));
    return {
      stored,
      flushAt: live ? (live.flushAt === null ? null : new Date(live.flushAt)) : (stored.flushAt ?? null),
      workflowId: id,
      temporalUiUrl: `${config.env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.env.TEMPORAL_NAMESPACE)}/workflows/${id}`,
      pendingEvents: pending.map((event) => ({ eventId: event._id, receivedAt: event.receivedAt, data: event.data })),
      flushes: flushes.map((flush, index) => ({ ...flush, sendStatus: sendStatuses[index]?.status ?? null })),
    };
  }

  /** Flushes the pending events now. */
  async flushNow(id: string): Promise<{ digestId: string; pendingEvents: number }> {
    const pending = await this.pendingCount(id);
    if (pending === 0) throw conflict(`id: digest ${id} has no pending event`);
    await this.signal(id, 'flush');
    return { digestId: id, pendingEvents: pending };
  }

  /** Drops the pending events unsent; the next event starts the digest again. */
  async discard(id: string): Promise<{ digestId: string; pendingEvents: number }> {
    const pending = await this.pendingCount(id);
    if (pending > 0) await this.signal(id, 'discard');
    return { digestId: id, pendingEvents: pending };
  }

  /**
   * How many events the digest's open run holds, its own and its inbox's (none without a run), for a digest that
   * exists: stored, or running already though its first activity has not stored it yet (an event accepted a moment ago).
   */
  private async pendingCount(id: string): Promise<number> {
    if (!DIGEST_ID_PATTERN.test(id)) throw badRequest(`id: ${id} is not a digest id (digest-<32 hex>)`);
    const [stored, live] = await Promise.all([this.deps.digests.get(id), this.snapshot(id)]);
    if (!stored && !live) throw notFound(`id: no digest ${id}`);
    return live ? pendingIds(stored, live).length : 0;
  }

  private async signal(id: string, what: 'flush' | 'discard'): Promise<void> {
    try {
      await this.deps.temporal.workflow
        .getHandle(id)
        .signal(what === 'flush' ? flushDigestNowSignal : discardDigestSignal);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      throw conflict(`id: digest ${id} has no pending event`);
    }
  }

  /** What the running digest holds; null when no run is open (nothing pending). */
  private async snapshot(id: string): Promise<DigestSnapshot | null> {
    const handle = this.deps.temporal.workflow.getHandle(id);
    try {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return null;
      return await handle.query(pendingEventsQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }
}

/** The pending events' ids: the workflow's (it holds those signalled to it) and those that joined its inbox. */
function pendingIds(stored: DigestDocument | null, live: DigestSnapshot | null): string[] {
  return [...new Set([...(live?.pendingEventIds ?? []), ...(stored ? joinedEventIds(stored) : [])])];
}
