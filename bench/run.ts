import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { autocannon, LATENCY_BODY, startBareRoute, type LoadFigures } from './lib/api-latency';
import { measureMongo, type MongoFigures } from './lib/components';
import { runFanOut, type FanOutFigures } from './lib/fanout';
import { round, waitUntilIdle } from './lib/proc-stats';
import { runJsonChild, startBenchStack, type BenchStack } from './lib/stack';
import { DEFAULT_FAN_OUT, seedUsers, WORKER_CONCURRENCY } from './lib/workload';

/**
 * `npm run bench [-- --quick]`: starts its own stack, seeds users, and measures side by side in one run the
 * simulator's ceiling, the no-Temporal baseline, the real fan-out, history sizes, worker RSS and API latency.
 * bench/README.md explains each figure. Ends with one `bench: ...` summary line.
 */

interface CeilingFigures {
  perChannel: number;
  aloneRps: Record<string, number>;
  mixedRps: number;
}

interface BaselineFigures {
  deliveries: number;
  failed: number;
  firstError?: string;
  concurrency: number;
  audienceReadMs: number;
  totalMs: number;
  renderUsPerDelivery: number;
  peakRssMb: number;
  cpuSeconds: number;
}

interface SizeFigures {
  recipients: number;
  seedSeconds: number;
  baseline: BaselineFigures & { deliveriesPerSecond: number };
  fanOut: FanOutFigures;
  fanOutRatio: number;
  ceilingRatio: number;
}

const quick = process.argv.includes('--quick');
const SIZES = quick ? [10_000] : [10_000, 100_000];
const CEILING_PER_CHANNEL = quick ? 2000 : 10_000;
const LOAD_SECONDS = quick ? 5 : 10;
const LOAD_CONNECTIONS = 10;

const startedAt = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)}s] ${line}`);

async function main(): Promise<void> {
  log(`bench ${quick ? '--quick' : 'full'}: ${os.cpus().length} cores, node ${process.version}`);
  const stack = await startBenchStack(log);
  try {
    const results = await measure(stack);
    const file = path.join(__dirname, 'results', `${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(results, null, 2));
    log(`results in ${path.relative(process.cwd(), file)}`);
    const largest = results.sizes.at(-1)!;
    console.log(
      `bench: fanout-ratio=${largest.fanOutRatio} ceiling-ratio=${largest.ceilingRatio} ` +
        `max-history-events=${largest.fanOut.history.maxEvents} worker-rss-mb=${largest.fanOut.workerPeakRssMb} ` +
        `api-p99-ratio=${results.api.p99Ratio}`,
    );
  } finally {
    await stack.close();
  }
}

async function measure(stack: BenchStack) {
  // The worker builds its workflow bundle while the first users go in; neither is measured.
  const [seedSeconds] = await Promise.all([seedUsers(stack.database.users, 0, SIZES[0]), stack.startWorker()]);
  log(`seeded ${SIZES[0]} users in ${round(seedSeconds, 1)} s; worker pid ${stack.worker!.pid} ready`);

  const ceiling = await runJsonChild<CeilingFigures>(
    'bench/ceiling-child.ts',
    { ...stack.env, BENCH_CEILING_COUNT: String(CEILING_PER_CHANNEL) },
    300_000,
  );
  log(`simulator ceiling: ${ceiling.mixedRps} req/s mixed; alone ${JSON.stringify(ceiling.aloneRps)}`);
  await stack.sim('DELETE', '/messages');

  const sizes: SizeFigures[] = [];
  const mongo: MongoFigures[] = [];
  let seeded = SIZES[0];
  for (const recipients of SIZES) {
    let sizeSeedSeconds = seedSeconds;
    if (recipients > seeded) {
      sizeSeedSeconds = await seedUsers(stack.database.users, seeded, recipients);
      seeded = recipients;
      log(`seeded up to ${recipients} users in ${round(sizeSeedSeconds, 1)} s`);
    }
    const baselineRaw = await runJsonChild<BaselineFigures>(
      'bench/baseline-child.ts',
      { ...stack.env, BENCH_CONCURRENCY: String(WORKER_CONCURRENCY) },
      1_800_000,
    );
    const baseline = {
      ...baselineRaw,
      deliveriesPerSecond: round(baselineRaw.deliveries / (baselineRaw.totalMs / 1000), 1),
    };
    log(`baseline ${recipients}: ${baseline.deliveriesPerSecond} deliveries/s (${baseline.failed} failed)`);

    // Quick mode must end within 3 minutes: a send still running at its deadline is terminated and measured
    // over what it delivered (marked partial). The full run allows 20 minutes per size.
    const fanOut = await runFanOut(stack, recipients, quick ? 75_000 : 1_200_000, log);
    log(
      `fan-out ${recipients}${fanOut.partial ? ' (partial)' : ''}: ${fanOut.deliveriesPerSecond} deliveries/s, first delivery ${fanOut.firstDeliveryMs} ms, ` +
        `max history ${fanOut.history.maxEvents} events (${fanOut.history.runs} runs), worker ${fanOut.workerPeakRssMb} MB, ` +
        `cpu ${JSON.stringify(fanOut.cpuSeconds)}`,
    );
    sizes.push({
      recipients,
      seedSeconds: round(sizeSeedSeconds, 1),
      baseline,
      fanOut,
      fanOutRatio: round(fanOut.deliveriesPerSecond / baseline.deliveriesPerSecond),
      ceilingRatio: round(fanOut.deliveriesPerSecond / ceiling.mixedRps),
    });
    if (fanOut.partial) {
      // The terminated send's activities keep querying until they heartbeat; stop them so the store goes quiet
      // before it is profiled and before the API is loaded.
      await stack.stopWorker();
      const waited = await waitUntilIdle(stack.pids.ferretdb, quick ? 20_000 : 120_000);
      log(`worker stopped; store idle after ${round(waited, 1)} s`);
      await stack.startWorker();
    }
    // After every size: the store is as large as the worker just saw it, which is what the timings depend on.
    mongo.push(await measureMongo(stack.database, stack.config.service.userFields));
    log(`mongodb at ${recipients}: ${JSON.stringify(mongo.at(-1))}`);
  }

  const bare = await startBareRoute();
  let bareLoad: LoadFigures;
  try {
    bareLoad = await autocannon(bare.url, LATENCY_BODY, { connections: LOAD_CONNECTIONS, seconds: LOAD_SECONDS });
  } finally {
    await bare.close();
  }
  log(`bare fastify: p50 ${bareLoad.p50Ms} ms, p99 ${bareLoad.p99Ms} ms, ${bareLoad.requestsPerSecond} req/s`);
  // First the API alone (validation, the send document, the workflow start): the worker is stopped, so the
  // sends it accepts wait in Temporal's task queue and do not compete for the two cores. Then the same load
  // with the worker running those sends, which is what a product team sees on a single busy machine.
  await stack.stopWorker();
  const apiLoad = await autocannon(`${stack.apiUrl}/send`, LATENCY_BODY, {
    connections: LOAD_CONNECTIONS,
    seconds: LOAD_SECONDS,
  });
  log(
    `POST /send async, worker stopped: p50 ${apiLoad.p50Ms} ms, p99 ${apiLoad.p99Ms} ms, ${apiLoad.requestsPerSecond} req/s, non-2xx ${apiLoad.non2xx}`,
  );
  await stack.startWorker();
  const apiLoadWithWorker = await autocannon(`${stack.apiUrl}/send`, LATENCY_BODY, {
    connections: LOAD_CONNECTIONS,
    seconds: LOAD_SECONDS,
  });
  log(
    `POST /send async, worker running the sends: p50 ${apiLoadWithWorker.p50Ms} ms, p99 ${apiLoadWithWorker.p99Ms} ms, ${apiLoadWithWorker.requestsPerSecond} req/s`,
  );

  return {
    mode: quick ? 'quick' : 'full',
    startedAt: new Date(startedAt).toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    fanOutOptions: DEFAULT_FAN_OUT,
    concurrency: WORKER_CONCURRENCY,
    ceiling,
    sizes,
    mongo,
    api: {
      connections: LOAD_CONNECTIONS,
      seconds: LOAD_SECONDS,
      bare: bareLoad,
      send: apiLoad,
      sendWithWorker: apiLoadWithWorker,
      p50Ratio: round(apiLoad.p50Ms / Math.max(bareLoad.p50Ms, 1)),
      p99Ratio: round(apiLoad.p99Ms / Math.max(bareLoad.p99Ms, 1)),
      rpsRatio: round(apiLoad.requestsPerSecond / bareLoad.requestsPerSecond),
    },
    wallSeconds: round((Date.now() - startedAt) / 1000, 1),
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
