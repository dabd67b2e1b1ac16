import { Runtime } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { createLogger, userAddressFields } from '../common/logger';
import { createWorker } from './create-worker';
import { PinoSdkLogger } from './runtime-logger';

const logger = createLogger('worker');

async function main(): Promise<void> {
  const config = loadConfig();
  const redactFields = userAddressFields(config.service.userFields);
  Runtime.install({ logger: new PinoSdkLogger(createLogger('temporal', config.env.LOG_LEVEL, { redactFields })) });
  const worker = await createWorker(config);
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
  logger.info({ taskQueue: config.env.TEMPORAL_TASK_QUEUE, temporal: config.env.TEMPORAL_ADDRESS }, 'worker started');
  await worker.run();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, (error as Error).message);
  process.exit(1);
});
