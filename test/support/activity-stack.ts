import { createActivities, type SendActivities } from '../../activities';
import { activityDepsOn } from '../../activities/activity-deps';
import { startTestStack, type TestStack } from './test-stack';
import { createWorker } from '../../worker/create-worker';

export interface ActivityStack {
  stack: TestStack;
  activities: SendActivities;
}

/**
 * For a test file that runs the send activities itself (in a MockActivityEnvironment): a test stack without a worker
 * and the activities on its database, started before the file's tests and closed after them. Read its fields inside
 * the tests, once `beforeAll` has filled them.
 */
export function useActivityStack(): ActivityStack {
  const started = {} as ActivityStack;
  let closeDeps: () => Promise<void>;
  beforeAll(async () => {
    started.stack = await startTestStack({ worker: false });
    const deps = activityDepsOn(started.stack.config, started.stack.database);
    closeDeps = deps.close;
    started.activities = createActivities(deps);
  });
  afterAll(async () => {
    await closeDeps();
    await started.stack.close();
  });
  return started;
}

/** A worker of the stack's task queue running the suite's workflow bundle, with some activities stood in for. */
export interface StandInWorker {
  /** Stops the worker, waits for it to end and closes the activities' dependencies. */
  stop(): Promise<void>;
}

/**
 * Starts a worker on `stack` whose activities are the real ones on its database (`createActivities`), with those that
 * `standIns` returns in their place; `standIns` gets the real ones, to wrap them. For a stack started with
 * `worker: false`.
 */
export async function startWorkerWithStandIns(
  stack: TestStack,
  standIns: (activities: SendActivities) => Record<string, unknown>,
): Promise<StandInWorker> {
  const deps = activityDepsOn(stack.config, stack.database);
  const activities = createActivities(deps);
  const worker = await createWorker(stack.config, {
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    workflowsPath: undefined,
    activities: { ...activities, ...standIns(activities) },
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await deps.close();
    },
  };
}
