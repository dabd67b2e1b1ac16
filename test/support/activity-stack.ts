import { createActivities, type SendActivities } from '../../activities';
import { activityDepsOn } from '../../activities/activity-deps';
import { startTestStack, type TestStack } from './test-stack';

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
