import type { Collection } from 'mongodb';
import type { Database } from './db';

/** The fail event of a saga command that started no send: what its `sagaFailEvent` workflow sends. */
export interface SagaFailEvent {
  sagaId: string;
  /** `flowManagerConfiguration.failEventLabel` when the command was refused. */
  messageLabel: string;
  /** The answer the command got (`400 channels: …`), for whoever reads the workflow; never sent anywhere. */
  reason: string;
}

/** One document per saga whose command was refused (`saga_fail_events`, `_id` = the saga id). */
export interface SagaFailEventDocument {
  _id: string;
  createdAt: Date;
  /** Queued while Temporal could not be reached; removed once its workflow has started (or the saga's send has). */
  queued?: SagaFailEvent;
  /** The labels the Flow Manager accepted for this saga, from its send or its refused command (each at most once). */
  deliveredLabels?: string[];
}

/**
 * The `saga_fail_events` collection (docs/operating-sends.md "Saga sends"): the outbox of fail events that could not
 * start their workflow, and the record of every saga's Flow Manager events delivered. Every write is keyed by the saga id, so repeating
 * one is harmless and a redelivered command queues nothing twice.
 */
export class SagaFailEventsRepository {
  private readonly collection: Collection<SagaFailEventDocument>;

  constructor(database: Pick<Database, 'sagaFailEvents'>) {
    this.collection = database.sagaFailEvents;
  }

  get(sagaId: string): Promise<SagaFailEventDocument | null> {
    return this.collection.findOne({ _id: sagaId });
  }

  /** Queues the event unless this saga has a document already (queued, started or delivered). */
  async queue(event: SagaFailEvent): Promise<void> {
    await this.collection.updateOne(
      { _id: event.sagaId },
      { $setOnInsert: { _id: event.sagaId, createdAt: new Date(), queued: event } },
      { upsert: true },
    );
  }

  /** The queued events, oldest first. Few and small: a scan is fine even on FerretDB. */
  queuedEvents(limit: number): Promise<SagaFailEventDocument[]> {
    return this.collection
      .find({ queued: { $exists: true } })
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray();
  }

  /** The event's workflow has started (or the saga is its send's): nothing left to drain. */
  async unqueue(sagaId: string): Promise<void> {
    await this.collection.updateOne({ _id: sagaId }, { $unset: { queued: true } });
  }

  /** Remembers that the Flow Manager accepted this label for the saga, so that a replay does not send it again. */
  async recordDelivered(sagaId: string, label: string): Promise<void> {
    await this.collection.updateOne(
      { _id: sagaId },
      { $addToSet: { deliveredLabels: label }, $setOnInsert: { createdAt: new Date() } },
      { upsert: true },
    );
  }
}
