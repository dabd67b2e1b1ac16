import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { AppConfig } from '../../common/config/config';
import type { DeliveriesRepository } from '../../common/store/deliveries-repository';
import type { SendsRepository } from '../../common/store/sends-repository';
import type { SendDocument } from '../../common/domain/send-types';
import { sagaFailEvent } from '../../workflows';

/** How old a send document without a workflow must be before it counts as never started (not yet starting). */
export const NOT_STARTED_GRACE_MS = 60_000;

/** Running sends the reconciliation reads at a time. */
const RUNNING_SENDS_PER_PAGE = 500;

/** The workflow statuses of a saga send closed from outside, which its workflow could not tell the Flow Manager. */
const CLOSED_FROM_OUTSIDE = new Set(['TERMINATED', 'TIMED_OUT', 'CANCELLED', 'CANCELED']);

/** What a `running` send document turns into once its workflow is known to be gone. */
export type SendClosure = Required<Pick<SendDocument, 'status' | 'closedBy' | 'completedAt'>>;

export interface SendReconcilerDeps {
  /** For a closed saga send's fail event: `flowManagerConfiguration.failEventLabel`, the task queue. */
  config?: AppConfig;
  temporal: Client;
  sends: SendsRepository;
  ledger: DeliveriesRepository;
}

/**
 * Tells a send whose document says `running` but whose workflow has closed without finishing it (terminated, cancelled,
 * timed out, failed: an operator's action or a bug) from one that runs: such a send is `failed`, with the workflow's
 * status in `closedBy` (docs/operating-sends.md "Replay a send (reset)"). So is a document whose workflow never started
 * (the API died between storing the send and starting it; the client got no 2xx and nothing was sent): after a grace
 * period, `closedBy: "NOT_STARTED"`; at once when a saga's id turns out to be owned by the fail event of a refused
 * command for that saga (docs/operating-sends.md "Saga sends"). Without this they would read `running` forever and
 * refuse retries.
 *
 * Reading a send only computes this (`closure`); `close` writes it, and only the periodic reconciliation
 * (api/plugins/send-reconciliation-plugin.ts) and a retry call it.
 */
export class SendReconciler {
  constructor(private readonly deps: SendReconcilerDeps) {}

  /**
   * The fields that close this send, or undefined while it is not `running` (or `scheduled`: its workflow waits), its
   * workflow still runs or completed (the workflow writes its own end), or Temporal does not answer.
   */
  async closure(send: SendDocument): Promise<SendClosure | undefined> {
    if (send.status !== 'running' && send.status !== 'scheduled') return undefined;
    try {
      const description = await this.deps.temporal.workflow.getHandle(send.workflowId).describe();
      // The saga's id is owned by the fail event of a refused command (docs/operating-sends.md "Saga sends"): this send
      // never starts.
      if (description.type === sagaFailEvent.name)
        return { status: 'failed', closedBy: 'NOT_STARTED', completedAt: new Date() };
      const status = description.status.name;
      if (status === 'RUNNING' || status === 'COMPLETED' || status === 'CONTINUED_AS_NEW') return undefined;
      return { status: 'failed', closedBy: status, completedAt: description.closeTime ?? new Date() };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) return undefined;
      if (Date.now() - send.createdAt.getTime() < NOT_STARTED_GRACE_MS) return undefined;
      return { status: 'failed', closedBy: 'NOT_STARTED', completedAt: new Date() };
    }
  }

  /** Writes the closure of this send, with the ledger's counts, when it has one; returns the send as it now is. */
  async close(send: SendDocument): Promise<SendDocument> {
    const closure = await this.closure(send);
    if (!closure) return send;
    const closed = { ...closure, counts: await this.deps.ledger.counts(send.retryOf ?? send._id) };
    // The fail event first: once the send reads closed, no later run would come back to it.
    await this.sendFailEvent(send, closure.closedBy);
    await this.deps.sends.update(send._id, closed);
    return { ...send, ...closed };
  }

  /**
   * A saga send whose workflow was terminated or timed out (or cancelled before it could say so) never told the Flow
   * Manager (docs/operating-sends.md "Saga sends"): its fail event goes out through a `sagaFailEvent` workflow of its
   * own id (`<sendId>-fail-event`, started once), unless the send's workflow delivered that label already. A send whose
   * events go as it starts (`sagaEventsWhen: "started"`) had its 200, so it gets its success event instead, if its
   * workflow closed before sending it (`<sendId>-success-event`).
   */
  private async sendFailEvent(send: SendDocument, closedBy: string): Promise<void> {
    const flowManager = this.deps.config?.service.flowManagerConfiguration;
    const onStart = send.sagaEventsWhen === 'started';
    const label = onStart ? flowManager?.successEventLabel : flowManager?.failEventLabel;
    if (!label || !this.deps.config || send.kind !== 'saga' || !send.sagaId || !CLOSED_FROM_OUTSIDE.has(closedBy))
      return;
    if (send.flowManagerEvents?.includes(label)) return;
    try {
      await this.deps.temporal.workflow.start(sagaFailEvent, {
        workflowId: `${send._id}-${onStart ? 'success' : 'fail'}-event`,
        taskQueue: this.deps.config.env.TEMPORAL_TASK_QUEUE,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ sagaId: send.sagaId, messageLabel: label, reason: `its send's workflow was ${closedBy}` }],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  /**
   * Closes the `running` sends whose workflow is gone, every one of them: paged in `_id` order after the last one
   * seen (not by skipping, since the sends it closes leave the list as it goes). Returns how many it closed.
   */
  async closeRunning(): Promise<number> {
    let closed = 0;
    for (let after: string | null = null; ;) {
      const page = await this.deps.sends.runningAfter(after, RUNNING_SENDS_PER_PAGE);
      for (const send of page) {
        if ((await this.close(send)).status !== 'running') closed++;
      }
      if (page.length < RUNNING_SENDS_PER_PAGE) return closed;
      after = page[page.length - 1]._id;
    }
  }
}
