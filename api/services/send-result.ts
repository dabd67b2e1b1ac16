import type { Client } from '@temporalio/client';
import type { DeliveriesRepository } from '../../common/store/deliveries-repository';
import type { Failure, SendSummary } from '../../common/domain/send-types';
import type { StartedSend } from './send-starter';

/** `/send` answers with at most this many failures; `/sends/:id/deliveries?status=failed` pages through all. */
const MAX_FAILURES_IN_RESPONSE = 10000;

/** Where a send's status is read: `GET /sends/:sendId`, the `Location` of every 202. */
export const sendStatusUrl = (sendId: string): string => `/sends/${encodeURIComponent(sendId)}`;

/** The 202 body of a send that runs on. */
export const runningSend = (started: StartedSend) => ({
  ...started,
  status: 'running' as const,
  statusUrl: sendStatusUrl(started.sendId),
});

export type SendOutcome =
  | { state: 'completed'; body: { failures: Failure[]; sendId: string; workflowId: string; recipients: number } }
  | { state: 'running'; body: ReturnType<typeof runningSend> };

export interface SendResultsDeps {
  temporal: Client;
  ledger: DeliveriesRepository;
}

/** Waits for a started send's workflow to return its summary, for the answer of `POST /send` (docs/api.md). */
export class SendResults {
  constructor(private readonly deps: SendResultsDeps) {}

  /** Waits up to `waitMs` for the send to finish: its result when it does, a 202 body when it does not. */
  async waitFor(started: StartedSend, waitMs: number): Promise<SendOutcome> {
    const running: SendOutcome = { state: 'running', body: runningSend(started) };
    if (waitMs <= 0) return running;
    const handle = this.deps.temporal.workflow.getHandle(started.workflowId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)));
    try {
      const summary = await Promise.race([handle.result() as Promise<SendSummary>, timeout]);
      if (!summary) return running;
      // The summary holds the first failures only; the ledger has all of them.
      const failures =
        summary.failureCount > summary.failures.length
          ? await this.deps.ledger.failures(started.sendId, MAX_FAILURES_IN_RESPONSE)
          : summary.failures;
      return {
        state: 'completed',
        body: { failures, sendId: started.sendId, workflowId: started.workflowId, recipients: summary.recipients },
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
