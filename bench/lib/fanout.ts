import type { Client } from '@temporalio/client';
import { request } from 'undici';
import type { SendSummary } from '../../common/domain/send-types';
import { CpuMeter, RssPoller, round } from './proc-stats';
import type { BenchStack, BenchWorker } from './stack';
import { CHANNELS, SEND_BODY } from './workload';

export interface HistoryFigures {
  runs: number;
  /** Largest history of any run of any workflow of the send (continue-as-new runs counted one by one). */
  maxEvents: number;
  totalEvents: number;
  eventsPerRecipient: number;
}

export interface WorkerShare {
  name: string;
  slots: number;
  /** Deliveries this worker recorded as sent during the send (its `messaging_deliveries_total{status="sent"}`). */
  deliveries: number;
  share: number;
  cpuSeconds: number;
  peakRssMb: number;
}

export interface DuplicateFigures {
  /** Messages the simulator accepted during the send, per channel. */
  messages: number;
  /** Distinct addresses among them. */
  addresses: number;
  /** Messages beyond the first to the same address on the same channel. */
  duplicates: number;
}

export interface FanOutFigures {
  /** True when the send hit the bench's deadline and was terminated: rates are then over what was delivered. */
  partial: boolean;
  recipients: number;
  deliveries: number;
  failed: number;
  /** Deliveries the dispatch skipped (a user's preferences turned them off): done without a provider call. */
  skipped: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** From `POST /send` to the first message the simulator accepted. */
  firstDeliveryMs: number;
  /** From the last message the simulator accepted to the workflow's result (`tail-ms`). */
  tailMs: number;
  /** First to last accepted message: the dispatch span, without start-up and `finishSend`. */
  dispatchSeconds: number;
  /** The largest peak RSS of the workers. */
  workerPeakRssMb: number;
  /** CPU seconds per process during the send (`workers`: all of them); 2 cores give at most 2 × seconds in total. */
  cpuSeconds: Record<string, number>;
  /** CPU seconds of the workers, the store and Temporal: what the durable send costs (`cpu-ratio`'s numerator). */
  sendCpuSeconds: number;
  workers: WorkerShare[];
  /** Counted at the simulator per (channel, address) when asked for (small sends only: it lists every message). */
  duplicates?: DuplicateFigures;
  history: HistoryFigures;
  sendId: string;
}

/** `messaging_deliveries_total{status="sent"}` of one worker, summed over channels and providers. */
async function sentByWorker(worker: BenchWorker): Promise<number> {
  try {
    const response = await request(`http://127.0.0.1:${worker.metricsPort}/metrics`);
    const text = await response.body.text();
    let sent = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('messaging_deliveries_total{') && line.includes('status="sent"'))
        sent += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sent;
  } catch {
    return Number.NaN;
  }
}

/** Every message the simulator holds on the send's channels, counted per (channel, address). */
async function countDuplicates(stack: BenchStack, channels: string[], expected: number): Promise<DuplicateFigures> {
  let messages = 0;
  let addresses = 0;
  for (const channel of channels) {
    const { messages: records } = await stack.sim<{ messages: { to: string }[] }>(
      'GET',
      `/messages?channel=${channel}&limit=${expected * 2 + 1000}`,
    );
    messages += records.length;
    addresses += new Set(records.map((record) => record.to)).size;
  }
  return { messages, addresses, duplicates: messages - addresses };
}

/**
 * One real send through the API (Prefer: respond-async), timed from the request to the workflow's result, while
 * every worker's RSS and every process's CPU are sampled.
 */
export async function runFanOut(
  stack: BenchStack,
  recipients: number,
  timeoutMs: number,
  log: (line: string) => void,
  options: { body?: object; countDuplicates?: boolean } = {},
): Promise<FanOutFigures> {
  const body = options.body ?? SEND_BODY;
  await stack.sim('DELETE', '/messages');
  const workers = [...stack.workers];
  const rss = workers.map((worker) => new RssPoller(worker.pid).start());
  const sentBefore = await Promise.all(workers.map(sentByWorker));
  const workerPids = Object.fromEntries(workers.map((worker) => [worker.name, worker.pid]));
  const cpu = new CpuMeter({
    ...workerPids,
    temporal: stack.pids.temporal,
    store: stack.pids.store,
    bench: stack.pids.bench,
  }).start();
  const started = performance.now();
  const response = await request(`${stack.apiUrl}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify(body),
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
    (summary) => ({ summary: summary as SendSummary, at: Date.now() }),
    (error: unknown) => error as Error,
  );
  try {
    // result() follows continue-as-new to the last run.
    const outcome = await Promise.race([result, deadline]);
    const seconds = (performance.now() - started) / 1000;
    done = true;
    await watch;
    const peaks = rss.map((poller) => poller.stop());
    const cpuSeconds = cpu.stop();
    const sentAfter = await Promise.all(workers.map(sentByWorker));
    // The newest message the simulator holds is the last provider acceptance (its clock is this process's).
    const { messages: newest } = await stack.sim<{ messages: { receivedAt: string }[] }>('GET', '/messages?limit=1');
    const lastAcceptedAt = newest[0] ? Date.parse(newest[0].receivedAt) : Number.NaN;
    let deliveries: number;
    let failed: number;
    let skipped = 0;
    let recipientsReached = recipients;
    let tailMs = Number.NaN;
    if (outcome === 'deadline' || outcome instanceof Error) {
      if (outcome instanceof Error) log(`  send failed: ${outcome.message}`);
      // Terminating settles result(), so nothing is left polling Temporal when the stack closes.
      await handle.terminate('bench deadline').catch(() => undefined);
      await result;
      deliveries = lastCount;
      failed = 0;
      log(`  deadline of ${timeoutMs / 1000} s reached with ${deliveries} messages accepted; workflow terminated`);
    } else {
      const counts = Object.values(outcome.summary.counts);
      deliveries = counts.reduce((sum, perChannel) => sum + (perChannel?.sent ?? 0), 0);
      failed = counts.reduce((sum, perChannel) => sum + (perChannel?.failed ?? 0), 0);
      skipped = counts.reduce((sum, perChannel) => sum + (perChannel?.skipped ?? 0), 0);
      recipientsReached = outcome.summary.recipients;
      tailMs = outcome.at - lastAcceptedAt;
    }
    const partial = outcome === 'deadline' || outcome instanceof Error;
    const workerDeliveries = workers.map((_, index) => sentAfter[index] - sentBefore[index]);
    const workerTotal = workerDeliveries.reduce((sum, count) => sum + count, 0);
    const workerCpu = workers.reduce((sum, worker) => sum + (cpuSeconds[worker.name] ?? 0), 0);
    return {
      partial,
      recipients: recipientsReached,
      deliveries,
      failed,
      skipped,
      seconds: round(seconds),
      deliveriesPerSecond: round(deliveries / seconds, 1),
      firstDeliveryMs: Math.round(firstDeliveryMs),
      tailMs: Math.round(tailMs),
      dispatchSeconds: round((lastCountAt - started - firstDeliveryMs) / 1000),
      workerPeakRssMb: Math.round(Math.max(...peaks)),
      cpuSeconds: { ...cpuSeconds, workers: round(workerCpu) },
      sendCpuSeconds: round(workerCpu + (cpuSeconds.store ?? 0) + (cpuSeconds.temporal ?? 0)),
      workers: workers.map((worker, index) => ({
        name: worker.name,
        slots: worker.slots,
        deliveries: workerDeliveries[index],
        share: round(workerDeliveries[index] / Math.max(1, workerTotal), 3),
        cpuSeconds: cpuSeconds[worker.name] ?? Number.NaN,
        peakRssMb: Math.round(peaks[index]),
      })),
      ...(options.countDuplicates
        ? {
            duplicates: await countDuplicates(
              stack,
              ((body as { channels?: string[] }).channels ?? CHANNELS).slice(),
              recipientsReached,
            ),
          }
        : {}),
      history: await historyOf(
        stack.temporal,
        accepted.workflowId,
        partial ? deliveries / CHANNELS.length : recipientsReached,
      ),
      sendId: accepted.workflowId,
    };
  } finally {
    done = true;
    clearTimeout(timer);
    clearInterval(progress);
    for (const poller of rss) poller.stop();
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
