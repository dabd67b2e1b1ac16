import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createChannelProviders } from '../activities/providers';
import type { AppConfig } from '../common/config';
import { connectDatabase } from '../common/db';
import { FilesServiceClient } from '../common/files-service';
import { Ledger } from '../common/ledger';
import { UsersRepository } from '../common/users-repository';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after `shutdown()`), with its dependencies closed. */
  run(): Promise<void>;
  shutdown(): void;
}

/** Builds the Temporal worker with the send workflows and activities; used by `npm run start:worker` and tests. */
export async function createWorker(config: AppConfig, overrides: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  const database = await connectDatabase(config);
  const providers = createChannelProviders(config);
  const files = new FilesServiceClient(config.env.FILE_SERVICE_URL);
  const activities = createActivities({
    config,
    database,
    ledger: new Ledger(database),
    users: new UsersRepository(database, config.service.userFields),
    providers,
    files,
  });
  const connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.env.TEMPORAL_NAMESPACE,
    taskQueue: config.env.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities,
    maxConcurrentActivityTaskExecutions: 64,
    ...overrides,
  });
  return {
    worker,
    async run() {
      try {
        await worker.run();
      } finally {
        await Promise.allSettled([providers.close(), files.close(), database.close(), connection.close()]);
      }
    },
    shutdown: () => worker.shutdown(),
  };
}
