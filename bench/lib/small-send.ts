import { request } from 'undici';
import { round } from './proc-stats';
import type { BenchStack } from './stack';
import { smallSendBody, type SeededUser } from './workload';

export interface Percentiles {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentiles of a list of milliseconds (p99 of fewer than 100 samples is their largest but one or so). */
export function percentiles(values: number[]): Percentiles {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return {
    samples: sorted.length,
    p50Ms: round(rank(50) ?? Number.NaN, 1),
    p99Ms: round(rank(99) ?? Number.NaN, 1),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 1),
  };
}

export interface SmallSendFigures {
  store: string;
  users: number;
  deliveries: number;
  /** `POST /send` (waits for the result, as a client sending a code does) to the provider's receipt. */
  toProvider: Percentiles;
  /** `POST /send` to its 200. */
  toResponse: Percentiles;
  /** Responses other than 200 (a 202 after SEND_WAIT_MS, an error): their receipt is still waited for. */
  not200: number;
  samplesMs: { toProvider: number; toResponse: number }[];
}

/**
 * `small-send-ms` (bench/README.md): one sms to one user by id, one send at a time, each to another user picked across
 * the whole store. Each sample is timed from the request to the simulator's receipt of that user's message (its
 * `receivedAt`, this process's clock) and to the API's answer. Stops after `samples` or once `budgetMs` is spent.
 */
export async function runSmallSends(
  stack: BenchStack,
  targets: SeededUser[],
  options: { samples: number; budgetMs: number; minSamples: number },
): Promise<Omit<SmallSendFigures, 'store' | 'users' | 'deliveries'>> {
  const samples: { toProvider: number; toResponse: number }[] = [];
  let not200 = 0;
  const started = performance.now();
  // Spread over the store: users seeded first and last alike.
  const step = Math.max(1, Math.floor(targets.length / (options.samples + 1)));
  // One warm-up send (connections, the first workflow task of a fresh bundle cache) is not counted.
  for (let index = -1; index < options.samples; index++) {
    if (index >= options.minSamples && performance.now() - started > options.budgetMs) break;
    const target = targets[(index + 1) * step + 7] ?? targets[0];
    const code = String(100000 + Math.floor(Math.random() * 900000));
    const sentAt = Date.now();
    const t0 = performance.now();
    const response = await request(`${stack.apiUrl}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSendBody(target.id, code)),
    });
    await response.body.dump();
    const toResponse = performance.now() - t0;
    if (response.statusCode !== 200) not200++;
    const receivedAt = await receiptOf(stack, target.phoneNumber, code, 60_000);
    if (index >= 0) samples.push({ toProvider: receivedAt - sentAt, toResponse: round(toResponse, 1) });
  }
  return {
    toProvider: percentiles(samples.map((sample) => sample.toProvider)),
    toResponse: percentiles(samples.map((sample) => sample.toResponse)),
    not200,
    samplesMs: samples,
  };
}

/** When the simulator received the sms with this code for this number (polled until `timeoutMs`). */
async function receiptOf(stack: BenchStack, to: string, code: string, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { messages } = await stack.sim<{ messages: { body?: string; text?: string; receivedAt: string }[] }>(
      'GET',
      `/messages?channel=sms&to=${encodeURIComponent(to)}&limit=5`,
    );
    const found = messages.find((message) => (message.body ?? message.text ?? '').includes(code));
    if (found) return Date.parse(found.receivedAt);
    if (Date.now() > until) return Number.NaN;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `GET /sends/:id` of a finished send, one request at a time (the API's own latency, nothing else running):
 * after `samples` or once `budgetMs` is spent.
 */
export async function timeGetSend(
  apiUrl: string,
  sendId: string,
  options: { samples: number; budgetMs: number; minSamples: number },
): Promise<Percentiles & { status: number }> {
  const times: number[] = [];
  let status = 0;
  const started = performance.now();
  for (let index = 0; index < options.samples; index++) {
    if (index >= options.minSamples && performance.now() - started > options.budgetMs) break;
    const t0 = performance.now();
    const response = await request(`${apiUrl}/sends/${encodeURIComponent(sendId)}`);
    await response.body.dump();
    times.push(performance.now() - t0);
    status = response.statusCode;
  }
  return { ...percentiles(times), status };
}
