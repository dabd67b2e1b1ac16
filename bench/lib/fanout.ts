import type { Client } from '@temporalio/client';
import { request } from 'undici';
import type { SendSummary } from '../../common/types';
import { CpuMeter, RssPoller, round } from './proc-stats';
import type { BenchStack } from './stack';
import { CHANNELS, SEND_BODY } from './workload';

export interface HistoryFigures {
  runs: number;
  /** Largest history of any run of any workflow of the send (continue-as-new runs counted one by one). */
  maxEvents: number;
  totalEvents: number;
  eventsPerRecipient: number;
}

export interface FanOutFigures {
  /** True when the send hit the bench's deadline and was terminated: rates are then over what was delivered. */
  partial: boolean;
  recipients: number;
  deliveries: number;
  failed: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** From `POST /send` to the first message the simulator accepted. */
  firstDeliveryMs: number;
  /** First to last accepted message: the dispatch span, without start-up and `finishSend`. */
  dispatchSeconds: number;
  workerPeakRssMb: number;
  /** CPU seconds per process during the send; 2 cores give at most 2 × seconds in total. */
  cpuSeconds: Record<string, number>;
  history: HistoryFigures;
}

/**
 * One real send through the API (Prefer: respond-async), timed from the request to the workflow's result, while
 * the worker's RSS and every process's CPU are sampled.
 */
export async function runFanOut(
  stack: BenchStack,
  recipients: number,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<FanOutFigures> {
  await stack.sim('DELETE', '/messages');
  const workerPid = stack.worker!.pid!;
  const rss = new RssPoller(workerPid).start();
  const cpu = new CpuMeter({ worker: workerPid, ...stack.pids }).start();
  const started = performance.now();
  const response = await request(`${stack.apiUrl}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify(SEND_BODY),
  });
  const accepted = (await response.body.json()) as { workflowId?: string; message?: string };
  if (response.statusCode !== 202 || !accepted.workflowId)
    throw new Error(`POST /send answered ${response.statusCode}: ${JSON.stringify(accepted)}`);

  // The first delivery is watched by polling the simulator; 10 ms is well below what we measure.
  let firstDeliveryMs = -1;
  let lastCount = 0;
  let lastCountAt = started;
  let done = false;
  const watch = (async () => {
    while (firstDeliveryMs < 0 || !done) {
      const { accepted: count } = await stack.sim<{ accepted: number }>('GET', '/stats');
      const now = performance.now();
      if (count > 0 && firstDeliveryMs < 0) firstDeliveryMs = now - started;
      if (count > lastCount) {
        lastCount = count;
        lastCountAt = now;
      }
      await new Promise((resolve) => setTimeout(resolve, firstDeliveryMs < 0 ? 10 : 250));
    }
  })();
  const progress = setInterval(() => log(`  ${recipients} recipients: ${lastCount} messages accepted`), 10_000);
  const handle = stack.temporal.workflow.getHandle(accepted.workflowId);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), timeoutMs)));
  const result = handle.result().then(
    (summary) => summary as SendSummary,
    (error: unknown) => error as Error,
  );
  try {
    // result() follows continue-as-new to the last run.
    const outcome = await Promise.race([result, deadline]);
    const seconds = (performance.now() - started) / 1000;
    done = true;
    await watch;
    const workerPeakRssMb = rss.stop();
    const cpuSeconds = cpu.stop();
    let deliveries: number;
    let failed: number;
    let recipientsReached = recipients;
    if (outcome === 'deadline' || outcome instanceof Error) {
      if (outcome instanceof Error) log(`  send failed: ${outcome.message}`);
      // Terminating settles result(), so nothing is left polling Temporal when the stack closes.
      await handle.terminate('bench deadline').catch(() => undefined);
      await result;
      deliveries = lastCount;
      failed = 0;
      log(`  deadline of ${timeoutMs / 1000} s reached with ${deliveries} messages accepted; workflow terminated`);
    } else {
      const counts = Object.values(outcome.counts);
      deliveries = counts.reduce((sum, perChannel) => sum + (perChannel?.sent ?? 0), 0);
      failed = counts.reduce((sum, perChannel) => sum + (perChannel?.failed ?? 0), 0);
      recipientsReached = outcome.recipients;
    }
    const partial = typeof outcome !== 'object' || outcome instanceof Error;
    return {
      partial,
      recipients: recipientsReached,
      deliveries,
      failed,
      seconds: round(seconds),
      deliveriesPerSecond: round(deliveries / seconds, 1),
      firstDeliveryMs: Math.round(firstDeliveryMs),
      dispatchSeconds: round((lastCountAt - started - firstDeliveryMs) / 1000),
      workerPeakRssMb: Math.round(workerPeakRssMb),
      cpuSeconds,
      history: await historyOf(
        stack.temporal,
        accepted.workflowId,
        partial ? deliveries / CHANNELS.length : recipientsReached,
      ),
    };
  } finally {
    done = true;
    clearTimeout(timer);
    clearInterval(progress);
    rss.stop();
  }
}

/**
 * Every workflow of the send: its runs (continue-as-new keeps the id) and any child workflow, whose ids start
 * with the send's id. Visibility is eventually consistent, so the listing is retried until the closed runs
 * it finds stop changing.
 */
export async function historyOf(temporal: Client, workflowId: string, recipients: number): Promise<HistoryFigures> {
  let lengths: number[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const found: number[] = [];
    for await (const execution of temporal.workflow.list({ query: `WorkflowId STARTS_WITH '${workflowId}'` })) {
      // The listing's historyLength can lag for the last run; describe() reads the run itself.
      const described = await temporal.workflow.getHandle(execution.workflowId, execution.runId).describe();
      found.push(described.historyLength);
    }
    if (found.length > 0 && found.length === lengths.length) break;
    lengths = found;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const totalEvents = lengths.reduce((sum, length) => sum + length, 0);
  return {
    runs: lengths.length,
    maxEvents: Math.max(0, ...lengths),
    totalEvents,
    eventsPerRecipient: round(totalEvents / Math.max(1, recipients), 3),
  };
}
