import { Runtime } from '@temporalio/worker';
import { loadConfig } from '../providers/service-configuration';
import { createLogger, userAddressFields } from '../common/config/logger';
import { createWorker } from './create-worker';
import { WorkerMetricsServer } from './metrics-server';
import { PinoSdkLogger } from './runtime-logger';

const logger = createLogger('worker');

async function main(): Promise<void> {
  const config = loadConfig();
  const redactFields = userAddressFields(config.service.userFields);
  const metricsPort = config.env.WORKER_METRICS_PORT;
  const metrics = metricsPort === undefined ? undefined : await WorkerMetricsServer.start(metricsPort);
  Runtime.install({
    logger: new PinoSdkLogger(createLogger('temporal', config.env.LOG_LEVEL, { redactFields })),
    telemetryOptions: metrics?.telemetryOptions,
  });
  const worker = await createWorker(config, {}, metrics?.activityMetrics);
  // A second signal (a terminal's Ctrl-C reaches the whole process group, a supervisor may add its own) must not
  // call shutdown() again: the SDK refuses that with an IllegalStateError.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      worker.shutdown();
    });
  }
  logger.info(
    { taskQueue: config.env.TEMPORAL_TASK_QUEUE, temporal: config.env.TEMPORAL_ADDRESS, metricsPort: metrics?.port },
    'worker started',
  );
  await worker.run();
  await metrics?.close();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, (error as Error).message);
  process.exit(1);
});
