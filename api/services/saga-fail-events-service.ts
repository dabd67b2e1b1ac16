import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { AppConfig } from '../../common/config/config';
import { conflict, type HttpError } from '../../common/domain/http-errors';
import { sagaSendId } from '../../common/temporal/workflow-ids';
import type { SagaFailEvent, SagaFailEventsRepository } from '../../common/store/saga-fail-events-repository';
import { SEARCH_ATTRIBUTES } from '../../common/temporal/search-attributes';
import { sagaFailEvent } from '../../workflows';

/** Queued fail events started per run of the periodic job. */
const DRAIN_BATCH = 100;

/**
 * How a fail event was made durable: handed to the saga's workflow (started now, or before: a redelivered command, or
 * the saga's send, which owns its events), or queued in MongoDB for the periodic job (with the error Temporal gave).
 */
export type FailEventOutcome = { how: 'workflow' } | { how: 'queued'; startError?: unknown };

/** The 409 of a command for a saga whose command was refused before (its fail event sent or on its way). */
export const refusedSaga = (sagaId: string): HttpError =>
  conflict(`key: saga ${sagaId} was refused before and has its fail event; a new command needs a new key`);

export interface SagaFailEventsDeps {
  config: AppConfig;
  temporal: Client;
  failEvents: SagaFailEventsRepository;
}

/**
 * The fail events of refused saga commands (docs/operating-sends.md "Saga sends"). Each goes out through a
 * `sagaFailEvent` workflow whose id is the saga's own (`saga-<sagaId>`), retried until the Flow Manager answers 2xx.
 * When Temporal cannot be reached the event waits in MongoDB (`saga_fail_events`) until the periodic job (`drain`)
 * starts its workflow. Temporal lets one workflow own a saga id: a redelivered command does not send the event twice,
 * and a saga whose send has started gets its events from the send alone.
 */
export class SagaFailEvents {
  constructor(private readonly deps: SagaFailEventsDeps) {}

  /**
   * Makes the fail event durable: starts its workflow or, when Temporal does not take it (`temporalDown` when the
   * caller knows it cannot be reached), queues it. Throws when neither Temporal nor MongoDB took it.
   */
  async record(event: SagaFailEvent, options: { temporalDown?: boolean } = {}): Promise<FailEventOutcome> {
    let startError: unknown;
    if (!options.temporalDown) {
      try {
        await this.start(event);
        return { how: 'workflow' };
      } catch (error) {
        startError = error;
      }
    }
    await this.deps.failEvents.queue(event);
    return { how: 'queued', startError };
  }

  /**
   * A 409 when an earlier command for this saga was refused: its fail event is the saga's outcome, and a send now
   * would contradict it. An event still queued is started here rather than by the next periodic run.
   */
  async assertNotRefused(sagaId: string): Promise<void> {
    const stored = await this.deps.failEvents.get(sagaId);
    if (stored?.queued) await this.startQueued(stored.queued);
    const owner = await this.workflowType(sagaId);
    // No workflow but a record: the fail event was delivered and Temporal has since dropped its closed workflow.
    if (owner === sagaFailEvent.name || (stored && owner === undefined)) throw refusedSaga(sagaId);
  }

  /**
   * Starts the workflows of the queued events (the periodic job, api/plugins/send-reconciliation-plugin.ts); one that
   * fails stays queued for the next run and does not hold back the others.
   */
  async drain(): Promise<{ started: number; failed: number; error?: unknown }> {
    const outcome: { started: number; failed: number; error?: unknown } = { started: 0, failed: 0 };
    for (const { queued } of await this.deps.failEvents.queuedEvents(DRAIN_BATCH)) {
      if (!queued) continue;
      try {
        await this.startQueued(queued);
        outcome.started++;
      } catch (error) {
        outcome.failed++;
        outcome.error = error;
      }
    }
    return outcome;
  }

  private async startQueued(event: SagaFailEvent): Promise<void> {
    await this.start(event);
    await this.deps.failEvents.unqueue(event.sagaId);
  }

  private async start(event: SagaFailEvent): Promise<void> {
    try {
      await this.deps.temporal.workflow.start(sagaFailEvent, {
        workflowId: sagaSendId(event.sagaId),
        taskQueue: this.deps.config.env.TEMPORAL_TASK_QUEUE,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.sagaId, value: event.sagaId }],
        args: [event],
      });
    } catch (error) {
      // Started before (a redelivered command), or the saga's send has: either way the saga has its events.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  /** The type of the workflow that owns the saga's id, if any. */
  private async workflowType(sagaId: string): Promise<string | undefined> {
    try {
      return (await this.deps.temporal.workflow.getHandle(sagaSendId(sagaId)).describe()).type;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }
}
