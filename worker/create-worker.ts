import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityMetrics } from '../activities';
import { connectActivityDeps } from '../activities/activity-deps';
import { checkChannelProviders } from '../activities/providers';
import { checkEvery, type AppConfig } from '../common/config/config';
import { temporalDataConverter } from '../common/temporal/data-converter';
import { workflowCacheOptions } from './worker-cache';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after `shutdown()`), with its dependencies closed. */
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * Builds the Temporal worker with the send workflows and activities; used by `npm run start:worker` and tests.
 * `metrics`: where the activities count (the served ones of `WorkerMetricsServer`); default: metrics nothing serves.
 */
export async function createWorker(
  config: AppConfig,
  overrides: Partial<WorkerOptions> = {},
  metrics?: ActivityMetrics,
): Promise<RunningWorker> {
  // Before connecting, every check at once: a missing codec key and missing provider settings are named together.
  const [dataConverter] = await checkEvery([
    () => temporalDataConverter(config.env),
    () => checkChannelProviders(config),
  ]);
  const deps = await connectActivityDeps(config);
  const activities = createActivities({ ...deps, metrics });
  const connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    taskQueue: config.env.TEMPORAL_TASK_QUEUE,
    // A bundle built ahead (`npm run build`, worker/workflow-bundle.ts) spares the worker webpack and its memory.
    ...(config.env.WORKFLOW_BUNDLE_PATH
      ? { workflowBundle: { codePath: config.env.WORKFLOW_BUNDLE_PATH } }
      : { workflowsPath: require.resolve('../workflows') }),
    activities,
    // Inputs, results and failure messages are stored encrypted (docs/operations.md "Encryption of workflow data"); a
    // prebuilt `workflowBundle` must be bundled with `FAILURE_CONVERTER_PATH` too.
    dataConverter,
    maxConcurrentActivityTaskExecutions: config.service.worker.maxConcurrentActivities,
    shutdownGraceTime: config.service.worker.shutdownGraceMs,
    ...workflowCacheOptions(config.service.worker),
    ...overrides,
  });
  return {
    worker,
    async run() {
      try {
        await worker.run();
      } finally {
        await Promise.allSettled([deps.close(), connection.close()]);
      }
    },
    shutdown: () => worker.shutdown(),
  };
}
