import { startWorkerWithStandIns, type StandInWorker } from '../support/activity-stack';
import { insertUsers, person, simMessages, waitFor } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * The first pages of a send go out while its audience snapshot is still being taken (docs/internals.md), and the
 * audience stays the one of the moment the send started. The snapshot here holds its completion until the simulator
 * has a message of the send (at most 15 s): a workflow that waited for the snapshot before dispatching would only
 * dispatch after that, and the history would show it.
 */
describe('dispatch during the audience snapshot, users dropped page by page', () => {
  let stack: TestStack;
  let worker: StandInWorker;
  /** The pages that still held copies of user documents when `finishSend` started. */
  let pagesWithUsersAtFinish: number[] | undefined;

  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      fanOut: { pageSize: 10, chunkSize: 5, perDeliveryLimit: 0, pagesPerRun: 2, heartbeatTimeoutMs: 3000 },
    });
    worker = await startWorkerWithStandIns(stack, (activities) => ({
      async snapshotAudience(input: Parameters<typeof activities.snapshotAudience>[0]) {
        const summary = await activities.snapshotAudience(input);
        await waitFor(async () => (await simMessages(stack, 'channel=sms')).length > 0, 15_000).catch(() => undefined);
        // A user who joins the cluster after the snapshot was taken is not part of this send.
        await insertUsers(stack, [person('Late', { clusters: ['early'] })]);
        return summary;
      },
      async finishSend(input: Parameters<typeof activities.finishSend>[0]) {
        const pages = await stack.database.audiencePages
          .find({ sendId: input.sendId, users: { $exists: true } })
          .toArray();
        pagesWithUsersAtFinish ??= pages.map((page) => page.page).sort();
        return activities.finishSend(input);
      },
    }));
  });
  afterAll(async () => {
    await worker.stop();
    await stack.close();
  });

  it('dispatches the first page before the snapshot ends, to the audience of the moment the send started', async () => {
    const audience = Array.from({ length: 35 }, (_, index) => person(`Early${index}`, { clusters: ['early'] }));
    await insertUsers(stack, audience);
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['sms'], clusters: ['early'], messageTitle: 'T', messageContent: 'Hi {{user.name}}' },
    });
    expect(response.statusCode).toBe(200);
    const { sendId, recipients } = response.json();
    expect(recipients).toBe(35);

    // 35 users in pages of 10, 2 pages per run: the snapshot is taken in the first of two runs.
    const first = await firstRunHistory(sendId);
    const scheduled = (name: string) =>
      first.findIndex((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === name);
    const snapshotScheduled = first[scheduled('snapshotAudience')];
    const snapshotCompleted = first.findIndex(
      (event) =>
        event.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === String(snapshotScheduled.eventId),
    );
    expect(scheduled('dispatchSms')).toBeGreaterThan(-1);
    expect(snapshotCompleted).toBeGreaterThan(-1);
    expect(scheduled('dispatchSms')).toBeLessThan(snapshotCompleted);

    // Everyone of the moment once; the late user not at all.
    const sms = await simMessages(stack, 'channel=sms');
    expect(sms).toHaveLength(35);
    expect(new Set(sms.map((message) => message.to)).size).toBe(35);
    expect(sms.map((message) => message.body)).not.toContain('Hi Late');

    // The copies of user documents go page by page as each page's dispatches end: the first run's pages before the
    // send finishes, the rest by finishSend; none outlives the send.
    expect(pagesWithUsersAtFinish).toBeDefined();
    expect(pagesWithUsersAtFinish).not.toContain(0);
    expect(pagesWithUsersAtFinish).not.toContain(1);
    expect(await stack.database.audiencePages.countDocuments({ sendId, users: { $exists: true } })).toBe(0);
    expect(await stack.database.audiencePages.countDocuments({ sendId })).toBe(4);
  });

  async function firstRunHistory(workflowId: string) {
    // Visibility lags a little behind the runs.
    const executions = await waitFor(async () => {
      const found = [];
      for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        found.push(execution);
      }
      return found.length === 2 && found;
    });
    const oldest = executions.sort((a, b) => a.startTime.getTime() - b.startTime.getTime())[0];
    return (await stack.temporal.workflow.getHandle(workflowId, oldest.runId).fetchHistory()).events ?? [];
  }
});
