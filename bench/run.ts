import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { autocannon, LATENCY_BODY, startBareRoute, type LoadFigures } from './lib/api-latency';
import { measureMongo, type MongoFigures } from './lib/components';
import { runFanOut, type FanOutFigures } from './lib/fanout';
import { round, waitUntilIdle } from './lib/proc-stats';
import { runSmallSends, timeGetSend, type Percentiles, type SmallSendFigures } from './lib/small-send';
import { runJsonChild, startBenchStack, type BenchStack } from './lib/stack';
import {
  measureScheduled,
  eventsSummary,
  measureEvents,
  measureTimeAware,
  scheduledSummary,
  timeAwareSummary,
  type TimeAwareSizes,
} from './lib/time-aware';
import {
  blockClusters,
  DEFAULT_FAN_OUT,
  HALF_WORKER_SLOTS,
  OTHER_CLUSTER,
  SEND_BODY,
  seedLedger,
  seedUsers,
  WORKER_CONCURRENCY,
  type SeededUser,
} from './lib/workload';

/**
 * `npm run bench [-- --quick]`: starts its own stack, seeds users, and measures side by side in one run the
 * simulator's ceiling, the no-Temporal baseline, the real fan-out (first delivery, tail, CPU), `GET /sends/:id`,
 * two workers on one task queue, the sends that wait or stop (scheduled, cancelled, preferences, digests), small
 * sends in a large store, and the API against its floor; `--only=time-aware` measures the waiting and stopping ones
 * alone, `--only=scheduled` the scheduled sends' alone (waiting, then firing). bench/README.md explains each figure. Ends with one `bench: ...` summary line, its figures named as
 * bench/README.md names them.
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
  /** CPU seconds from the audience read to the last delivery (the process's start-up not counted). */
  cpuSeconds: number;
  processCpuSeconds: number;
}

interface SizeFigures {
  recipients: number;
  seedSeconds: number;
  baseline: BaselineFigures & { deliveriesPerSecond: number };
  fanOut: FanOutFigures;
  fanOutRatio: number;
  ceilingRatio: number;
  /** Workers + store + Temporal CPU seconds of the send ÷ the baseline's CPU seconds for the same deliveries. */
  cpuRatio: number;
  /** `GET /sends/:id` of this send once it has finished. */
  getSend: Percentiles & { deliveries: number; status: number };
}

interface WorkerModeFigures {
  mode: string;
  slotsPerWorker: number;
  fanOut: FanOutFigures;
  /** Deliveries/s ÷ those of one full worker on the same audience in this run (null: not the same audience). */
  vsOneWorker: number | null;
}

interface FloorFigures extends Percentiles {
  requestsPerSecond: number;
}

const quick = process.argv.includes('--quick');
/**
 * `--only=time-aware`: only the figures of sends that wait or stop, on a stack of their own; `--only=scheduled`: only
 * the scheduled sends' of those; `--only=digests`: only the events' and digest flushes'.
 */
const GROUPS = ['time-aware', 'scheduled', 'digests'] as const;
const onlyArg = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const only = GROUPS.find((group) => group === onlyArg);
if (onlyArg !== undefined && only === undefined)
  throw new Error(`--only=${onlyArg}: the groups are ${GROUPS.join(', ')}`);
const SIZES = quick ? [10_000] : [10_000, 100_000];
const CEILING_PER_CHANNEL = quick ? 2000 : 10_000;
const LOAD_SECONDS = quick ? 5 : 10;
const LOAD_CONNECTIONS = 10;
/** The store of `small-send-ms` (bench/README.md): this many users and ledger entries at least when the small sends are measured. */
const STORE_USERS = 100_000;
const STORE_DELIVERIES = 300_000;
const SMALL_SENDS = quick
  ? { samples: 30, budgetMs: 20_000, minSamples: 3 }
  : { samples: 100, budgetMs: 120_000, minSamples: 10 };
const GET_SENDS = quick
  ? { samples: 20, budgetMs: 5_000, minSamples: 2 }
  : { samples: 100, budgetMs: 60_000, minSamples: 3 };
/** The two-worker modes run right after the first size's one-worker send, on this many of its users. */
const WORKER_MODE_RECIPIENTS = quick ? 3_000 : SIZES[0];
/** Scheduled sends waiting at once; `BENCH_WAITING_SENDS=0` leaves that figure out (the fire lag alone). */
const WAITING_SENDS = Number(process.env.BENCH_WAITING_SENDS ?? 10_000);
/** The sends that wait or stop (bench/README.md "scheduled-wait-worker-cpu-s" to "digest-flush-lag-ms"). */
const TIME_AWARE: TimeAwareSizes = quick
  ? {
      waitingSends: WAITING_SENDS,
      scheduledSends: 100,
      cancelRecipients: 10_000,
      preferencesRecipients: 3_000,
      digestUsers: 100,
      eventsPerUser: 20,
      digestWindowSeconds: 30,
      eventsBudgetMs: 60_000,
    }
  : {
      waitingSends: WAITING_SENDS,
      scheduledSends: 1000,
      cancelRecipients: 100_000,
      preferencesRecipients: 100_000,
      digestUsers: 1000,
      eventsPerUser: 20,
      digestWindowSeconds: 60,
      eventsBudgetMs: 300_000,
    };
const TIME_AWARE_USERS = Math.max(TIME_AWARE.cancelRecipients, TIME_AWARE.preferencesRecipients);
const WORKER_MODES = [
  { mode: '2 workers', slots: undefined },
  { mode: '2 workers, concurrency halved', slots: HALF_WORKER_SLOTS },
];

const startedAt = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)}s] ${line}`);

async function main(): Promise<void> {
  log(`bench ${quick ? '--quick' : 'full'}: ${os.cpus().length} cores, node ${process.version}`);
  const stack = await startBenchStack(log);
  try {
    const results = only ? await measureOnlyTimeAware(stack, only) : await measure(stack);
    const file = path.join(__dirname, 'results', `${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(results, null, 2));
    log(`results in ${path.relative(process.cwd(), file)}`);
    console.log(
      `bench: ${Object.entries(results.summary)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')}`,
    );
  } finally {
    await stack.close();
  }
}

async function measure(stack: BenchStack) {
  const seeded: SeededUser[] = [];
  // The worker builds its workflow bundle while the first users go in; neither is measured.
  const [firstSeed] = await Promise.all([seedUsers(stack.database.users, 0, SIZES[0]), stack.startWorker()]);
  seeded.push(...firstSeed.seeded);
  log(`seeded ${SIZES[0]} users in ${round(firstSeed.seconds, 1)} s; worker pid ${stack.worker!.pid} ready`);

  const ceiling = await runJsonChild<CeilingFigures>(
    'bench/ceiling-child.ts',
    { ...stack.env, BENCH_CEILING_COUNT: String(CEILING_PER_CHANNEL) },
    300_000,
  );
  log(`simulator ceiling: ${ceiling.mixedRps} req/s mixed; alone ${JSON.stringify(ceiling.aloneRps)}`);
  await stack.sim('DELETE', '/messages');

  const sizes: SizeFigures[] = [];
  const mongo: MongoFigures[] = [];
  const workerModes: WorkerModeFigures[] = [];
  for (const recipients of SIZES) {
    let seedSeconds = firstSeed.seconds;
    if (recipients > seeded.length) {
      const more = await seedUsers(stack.database.users, seeded.length, recipients);
      seeded.push(...more.seeded);
      seedSeconds = more.seconds;
      log(`seeded up to ${recipients} users in ${round(seedSeconds, 1)} s`);
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
    log(
      `baseline ${recipients}: ${baseline.deliveriesPerSecond} deliveries/s, ${baseline.cpuSeconds} CPU-s (${baseline.failed} failed)`,
    );

    // Quick mode must end within 3 minutes: a send still running at its deadline is terminated and measured
    // over what it delivered (marked partial). The full run allows 20 minutes per size.
    const fanOut = await runFanOut(stack, recipients, quick ? 75_000 : 1_200_000, log, {
      countDuplicates: recipients <= 20_000,
    });
    log(
      `fan-out ${recipients}${fanOut.partial ? ' (partial)' : ''}: ${fanOut.deliveriesPerSecond} deliveries/s, first delivery ${fanOut.firstDeliveryMs} ms, ` +
        `tail ${fanOut.tailMs} ms, max history ${fanOut.history.maxEvents} events (${fanOut.history.runs} runs), worker ${fanOut.workerPeakRssMb} MB, ` +
        `cpu ${JSON.stringify(fanOut.cpuSeconds)}`,
    );
    if (fanOut.partial) await restartQuietWorker(stack);
    const getSend = await timeGetSend(stack.apiUrl, fanOut.sendId, GET_SENDS);
    log(
      `GET /sends/:id at ${fanOut.deliveries} deliveries: p50 ${getSend.p50Ms} ms, p99 ${getSend.p99Ms} ms (${getSend.samples} requests)`,
    );
    sizes.push({
      recipients,
      seedSeconds: round(seedSeconds, 1),
      baseline,
      fanOut,
      fanOutRatio: round(fanOut.deliveriesPerSecond / baseline.deliveriesPerSecond),
      ceilingRatio: round(fanOut.deliveriesPerSecond / ceiling.mixedRps),
      cpuRatio: round(fanOut.sendCpuSeconds / baseline.cpuSeconds),
      getSend: { ...getSend, deliveries: fanOut.deliveries },
    });

    if (workerModes.length === 0) {
      // `workers-2-shares` on the first audience, against the one-worker send just measured.
      for (const { mode, slots } of WORKER_MODES) {
        await stack.stopWorker();
        await Promise.all([stack.startWorker({ slots }), stack.startWorker({ slots })]);
        const body =
          WORKER_MODE_RECIPIENTS === seeded.length
            ? SEND_BODY
            : { ...SEND_BODY, clusters: blockClusters(WORKER_MODE_RECIPIENTS) };
        const modeFanOut = await runFanOut(stack, WORKER_MODE_RECIPIENTS, quick ? 75_000 : 1_200_000, log, {
          body,
          countDuplicates: true,
        });
        log(
          `${mode} (${stack.workers.map((worker) => worker.slots).join(' + ')} slots): ${modeFanOut.deliveriesPerSecond} deliveries/s, ` +
            `shares ${modeFanOut.workers.map((worker) => `${worker.name} ${worker.deliveries}`).join(', ')}, ` +
            `duplicates ${modeFanOut.duplicates?.duplicates} of ${modeFanOut.duplicates?.messages} messages`,
        );
        workerModes.push({
          mode,
          slotsPerWorker: stack.workers[0].slots,
          fanOut: modeFanOut,
          vsOneWorker:
            WORKER_MODE_RECIPIENTS === recipients
              ? round(modeFanOut.deliveriesPerSecond / fanOut.deliveriesPerSecond)
              : null,
        });
        if (modeFanOut.partial) await restartQuietWorker(stack);
      }
      await stack.stopWorker();
      await stack.startWorker();
    }

    // After every size: the store is as large as the worker just saw it, which is what the timings depend on.
    // Not in quick mode (half a minute on FerretDB).
    if (!quick) {
      mongo.push(await measureMongo(stack.database, stack.config.service.userFields));
      log(`mongodb at ${recipients}: ${JSON.stringify(mongo.at(-1))}`);
    }
  }

  // The sends that wait or stop, on the fan-outs' users (the full run has the 100k the largest needs).
  if (seeded.length < TIME_AWARE_USERS) {
    const more = await seedUsers(stack.database.users, seeded.length, TIME_AWARE_USERS);
    seeded.push(...more.seeded);
  }
  const timeAware = await measureTimeAware(stack, seeded, TIME_AWARE, quick ? 75_000 : 1_200_000, log);

  // `small-send-ms`: small sends in a store of at least 100k users and 300k ledger entries, topped up straight into the
  // store when the fan-outs left fewer (the quick run).
  const deliveriesNow = await stack.database.deliveries.estimatedDocumentCount();
  if (seeded.length < STORE_USERS) {
    const more = await seedUsers(stack.database.users, seeded.length, STORE_USERS, OTHER_CLUSTER);
    seeded.push(...more.seeded);
    log(`seeded up to ${STORE_USERS} users (${OTHER_CLUSTER}) in ${round(more.seconds, 1)} s`);
  }
  if (deliveriesNow < STORE_DELIVERIES) {
    const seconds = await seedLedger(stack.database.deliveries, STORE_DELIVERIES - deliveriesNow);
    log(`seeded ${STORE_DELIVERIES - deliveriesNow} ledger entries in ${round(seconds, 1)} s`);
  }
  await stack.sim('DELETE', '/messages');
  const smallSendTimes = await runSmallSends(stack, seeded, SMALL_SENDS);
  const smallSend: SmallSendFigures = {
    store: stack.storeName,
    users: await stack.database.users.estimatedDocumentCount(),
    deliveries: await stack.database.deliveries.estimatedDocumentCount(),
    ...smallSendTimes,
  };
  log(
    `small sends (${smallSend.users} users, ${smallSend.deliveries} ledger entries, ${smallSend.store}): to the provider p50 ${smallSend.toProvider.p50Ms} ms ` +
      `p99 ${smallSend.toProvider.p99Ms} ms, to the 200 p50 ${smallSend.toResponse.p50Ms} ms (${smallSend.toProvider.samples} sends)`,
  );

  const bare = await startBareRoute();
  let bareLoad: LoadFigures;
  try {
    bareLoad = await autocannon(bare.url, LATENCY_BODY, { connections: LOAD_CONNECTIONS, seconds: LOAD_SECONDS });
  } finally {
    await bare.close();
  }
  log(`bare fastify: p50 ${bareLoad.p50Ms} ms, p99 ${bareLoad.p99Ms} ms, ${bareLoad.requestsPerSecond} req/s`);
  // The API alone (validation, the send document, the workflow start) against its floor, a bare client doing the
  // send document and the workflow start only: the worker is stopped, so the sends wait in Temporal's task queue
  // and do not compete for the two cores. Then the same load with the worker running those sends, which is what
  // a product team sees on a single busy machine.
  await stack.stopWorker();
  const floor = await runJsonChild<FloorFigures>(
    'bench/floor-child.ts',
    { ...stack.env, BENCH_FLOOR_SECONDS: String(LOAD_SECONDS), BENCH_FLOOR_CONNECTIONS: String(LOAD_CONNECTIONS) },
    120_000,
  );
  log(
    `floor (send document + workflow.start): p50 ${floor.p50Ms} ms, p99 ${floor.p99Ms} ms, ${floor.requestsPerSecond} req/s`,
  );
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

  const largest = sizes.at(-1)!;
  const shares = (figures: WorkerModeFigures | undefined) =>
    figures ? figures.fanOut.workers.map((worker) => Math.round(worker.share * 100)).join('/') : 'n/a';
  const summary = {
    'small-send-ms': `${Math.round(smallSend.toProvider.p50Ms)}/${Math.round(smallSend.toProvider.p99Ms)}`,
    'small-send-sync-ms': Math.round(smallSend.toResponse.p50Ms),
    'fanout-ratio': largest.fanOutRatio,
    'cpu-ratio': largest.cpuRatio,
    'first-delivery-ms': largest.fanOut.firstDeliveryMs,
    'tail-ms': largest.fanOut.tailMs,
    'get-send-p99-ms': Math.round(largest.getSend.p99Ms),
    'api-floor-ratio': round(apiLoad.p99Ms / Math.max(floor.p99Ms, 1)),
    'workers-2-shares': shares(workerModes[0]),
    'workers-2-duplicates': workerModes[0]?.fanOut.duplicates?.duplicates ?? 'n/a',
    'workers-2-half-shares': shares(workerModes[1]),
    'workers-2-half-duplicates': workerModes[1]?.fanOut.duplicates?.duplicates ?? 'n/a',
    ...timeAwareSummary(timeAware),
    'max-history-events': largest.fanOut.history.maxEvents,
    'worker-rss-mb': largest.fanOut.workerPeakRssMb,
    recipients: largest.recipients,
    store: stack.storeName,
  };

  return {
    mode: quick ? 'quick' : 'full',
    startedAt: new Date(startedAt).toISOString(),
    summary,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    store: stack.storeName,
    fanOutOptions: DEFAULT_FAN_OUT,
    concurrency: WORKER_CONCURRENCY,
    ceiling,
    sizes,
    workerModes,
    timeAware,
    smallSend,
    mongo,
    api: {
      connections: LOAD_CONNECTIONS,
      seconds: LOAD_SECONDS,
      floor,
      bare: bareLoad,
      send: apiLoad,
      sendWithWorker: apiLoadWithWorker,
      floorP99Ratio: round(apiLoad.p99Ms / Math.max(floor.p99Ms, 1)),
      floorP50Ratio: round(apiLoad.p50Ms / Math.max(floor.p50Ms, 1)),
      bareP50Ratio: round(apiLoad.p50Ms / Math.max(bareLoad.p50Ms, 1)),
      bareP99Ratio: round(apiLoad.p99Ms / Math.max(bareLoad.p99Ms, 1)),
      rpsRatio: round(apiLoad.requestsPerSecond / bareLoad.requestsPerSecond),
    },
    wallSeconds: round((Date.now() - startedAt) / 1000, 1),
  };
}

/** `--only=time-aware` (or `scheduled`): seeds the users those figures need, starts one worker, and measures them alone. */
async function measureOnlyTimeAware(stack: BenchStack, group: (typeof GROUPS)[number]) {
  const users =
    group === 'scheduled' ? TIME_AWARE.scheduledSends : group === 'digests' ? TIME_AWARE.digestUsers : TIME_AWARE_USERS;
  const [seed] = await Promise.all([seedUsers(stack.database.users, 0, users), stack.startWorker()]);
  log(`seeded ${users} users in ${round(seed.seconds, 1)} s; worker pid ${stack.worker!.pid} ready`);
  let timeAware;
  let summary;
  if (group === 'scheduled') {
    timeAware = await measureScheduled(stack, seed.seeded, TIME_AWARE, log);
    summary = scheduledSummary(timeAware);
  } else if (group === 'digests') {
    const { digestUsers, eventsPerUser, digestWindowSeconds, eventsBudgetMs } = TIME_AWARE;
    const events = await measureEvents(
      stack,
      seed.seeded.slice(0, digestUsers),
      eventsPerUser,
      digestWindowSeconds,
      eventsBudgetMs,
      log,
    );
    timeAware = { events };
    summary = eventsSummary(events);
  } else {
    timeAware = await measureTimeAware(stack, seed.seeded, TIME_AWARE, quick ? 75_000 : 1_200_000, log);
    summary = timeAwareSummary(timeAware);
  }
  return {
    mode: `${quick ? 'quick' : 'full'}, only ${group}`,
    startedAt: new Date(startedAt).toISOString(),
    summary: { ...summary, store: stack.storeName },
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    store: stack.storeName,
    timeAware,
    wallSeconds: round((Date.now() - startedAt) / 1000, 1),
  };
}

/**
 * After a send terminated at its deadline: its activities keep querying until they heartbeat, so the workers
 * are stopped until the store goes quiet, then one is started again.
 */
async function restartQuietWorker(stack: BenchStack): Promise<void> {
  const count = stack.workers.length;
  const slots =
    stack.worker?.slots === stack.config.service.worker.maxConcurrentActivities ? undefined : stack.worker?.slots;
  await stack.stopWorker();
  const waited = await waitUntilIdle(stack.pids.store, quick ? 20_000 : 120_000);
  log(`workers stopped; store idle after ${round(waited, 1)} s`);
  await Promise.all(Array.from({ length: count }, () => stack.startWorker({ slots })));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
