import { insertUsers, person, simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * The workflow on the real dev server (docs/internals.md): paging, batching and continue-as-new keep every history
 * bounded, and every user gets exactly one message per channel.
 */
describe('sendMessage workflow', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      fanOut: { pageSize: 40, chunkSize: 15, perDeliveryLimit: 5, pagesPerRun: 2, heartbeatTimeoutMs: 3000 },
    });
  });
  afterAll(() => stack.close());
  beforeEach(() => stack.sim('DELETE', '/messages'));

  async function historyOfEveryRun(workflowId: string): Promise<number[]> {
    const lengths: number[] = [];
    for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
      const history = await stack.temporal.workflow.getHandle(workflowId, execution.runId).fetchHistory();
      lengths.push(history.events?.length ?? 0);
    }
    return lengths;
  }

  it('pages a large audience through continue-as-new, batches dispatches, and sends each user once', async () => {
    const audience = Array.from({ length: 130 }, (_, index) => person(`Bulk${index}`, { clusters: ['bulk'] }));
    await insertUsers(stack, audience);
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['sms', 'push'], clusters: ['bulk'], messageTitle: 'T', messageContent: 'Hi {{user.name}}' },
    });
    expect(response.statusCode).toBe(200);
    const { sendId, recipients, failures } = response.json();
    expect(recipients).toBe(130);
    expect(failures).toEqual([]);

    const sms = await simMessages(stack, 'channel=sms');
    expect(sms).toHaveLength(130);
    expect(new Set(sms.map((message) => message.body)).size).toBe(130);
    expect(await simMessages(stack, 'channel=push')).toHaveLength(130);

    // 130 users / 40 per page = 4 pages; 2 pages per run = 2 runs, each history bounded by pages, not users: the
    // first run's 16 activities take 3 events each, plus up to a workflow task (3 events) per completion when the
    // machine is busy and none are batched, about 106; one per delivery would be 260 activities.
    const runs = await historyOfEveryRun(sendId);
    expect(runs).toHaveLength(2);
    for (const length of runs) expect(length).toBeLessThan(120);

    const batchInputs: number[] = [];
    const handle = stack.temporal.workflow.getHandle(sendId);
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'dispatchSms') batchInputs.push(1);
    }
    // The last run dispatched 50 users (pages of 40 and 10) in batches of at most 15: 3 + 1 = 4 sms activities.
    expect(batchInputs.length).toBe(4);
  });

  it('shows one activity per (user, channel) for small sends', async () => {
    const ids = await insertUsers(stack, [person('Small1'), person('Small2')]);
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['sms', 'email'], recipients: ids, messageTitle: 'T', messageContent: 'C' },
    });
    const history = await stack.temporal.workflow.getHandle(response.json().sendId).fetchHistory();
    const dispatches = (history.events ?? [])
      .map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name) => name?.startsWith('dispatch'));
    expect(dispatches.sort()).toEqual(['dispatchEmail', 'dispatchEmail', 'dispatchSms', 'dispatchSms']);
  });

  it('sets search attributes that a visibility query finds', async () => {
    const ids = await insertUsers(stack, [person('Visible')]);
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['voice'], recipients: ids, messageTitle: 'T', messageContent: 'C' },
    });
    const { sendId } = response.json();
    const found: string[] = [];
    const query = `channels = "voice" AND sendStatus = "completed" AND WorkflowId = "${sendId}"`;
    for (let attempt = 0; attempt < 50 && found.length === 0; attempt++) {
      for await (const execution of stack.temporal.workflow.list({ query })) found.push(execution.workflowId);
      if (found.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(found).toEqual([sendId]);
  });
});
