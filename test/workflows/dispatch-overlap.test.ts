import type { temporal } from '@temporalio/proto';
import { simMessages } from '../support/fixtures';
import { insertAudience, perAddress } from '../support/http-sends';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * Dispatch attempts never overlap (docs/internals.md): a provider slower than the dispatch's heartbeat timeout, and a
 * 429 whose `Retry-After` is longer than a dispatch waits itself, on the real stack (Temporal, FerretDB, the
 * simulator's fault injection), through `POST /send` and `POST /messages`: each message reaches the provider once.
 */

/** The provider stand-in's answer time: longer than both heartbeat timeouts (`/send`'s 3 s here, `/messages`' 30 s). */
const SLOW_ANSWER_MS = 40_000;

describe('dispatch attempts never overlap', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // A `Retry-After` beyond 1 s is handed back to the workflow, and no wait lasts more than 3 s (the 429 below asks
    // for 90 s), so the durable-timer path is taken and the test stays short.
    stack = await startTestStack({ service: { retryAfter: { capMs: 1000, maxMs: 3000 } } });
    const templates = [
      {
        name: 'slow email',
        mode: 'email',
        data: { body: 'Slow {{n}}', subject: 'Slow', format: 'text/plain', from: '' },
      },
      { name: 'throttled sms', mode: 'sms', data: { body: 'Throttled {{n}}' } },
    ];
    for (const template of templates) {
      const created = await stack.app.inject({
        method: 'POST',
        url: '/templates',
        payload: { ...template, isActive: true },
      });
      expect(created.statusCode).toBe(201);
    }
  }, 60_000);
  afterAll(() => stack.close(), 60_000);
  beforeEach(async () => {
    await stack.sim('DELETE', '/faults');
    await stack.sim('DELETE', '/messages');
  });

  const post = (url: string, payload: object) => stack.app.inject({ method: 'POST', url, payload });

  /** Starts a send to the cluster's users on one channel; resolves with its workflow's id. */
  async function startSend(channel: string, cluster: string): Promise<string> {
    const response = await post('/send', {
      channels: [channel],
      clusters: [cluster],
      messageTitle: 'T',
      messageContent: `${cluster} {{user.name}}`,
    });
    expect([200, 202]).toContain(response.statusCode);
    return response.json().sendId as string;
  }

  /** Posts one `POST /messages` request of `count` messages on one channel; resolves with its workflow's id. */
  async function startMessages(channel: 'email' | 'sms', template: string, to: string[]): Promise<string> {
    const message = (address: string, n: number) =>
      channel === 'email'
        ? { template, provider: '', to: [address], data: { n } }
        : { senderId: 'DLHVRY', template, to: [{ countryCode: '1', number: address }], data: { n } };
    const response = await post('/messages', { [channel]: to.map(message) });
    expect(response.json()).toMatchObject({ requestId: expect.any(String) });
    return response.json().requestId as string;
  }

  const finished = (workflowId: string) => stack.temporal.workflow.getHandle(workflowId).result();

  async function history(workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
    return (await stack.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  }

  // One route at a time: the SMTP transport's pool of 8 connections is shared, and the calls of one route's overlapping
  // attempts would hold the other route's back.
  it.each([
    ['POST /send', 'send'],
    ['POST /messages', 'messages'],
  ])(
    'a provider that answers after 40 s, slower than the heartbeat timeout, through %s: each message arrives once',
    async (_route, path) => {
      await stack.sim('POST', '/faults', { target: 'email', latencyMs: SLOW_ANSWER_MS });
      const started = Date.now();
      let workflowId: string;
      let expected: string[];
      if (path === 'send') {
        const users = await insertAudience(stack, 'slow', 3, 'slow');
        expected = users.map((user) => user.emailAddress);
        workflowId = await startSend('email', 'slow');
      } else {
        expected = ['slow.a@example.com', 'slow.b@example.com', 'slow.c@example.com'];
        workflowId = await startMessages('email', 'slow email', expected);
      }
      await finished(workflowId);
      const elapsed = Date.now() - started;

      const counts = perAddress(await simMessages(stack, 'channel=email'));
      console.log(`slow provider, ${path}: ${elapsed} ms, per address ${JSON.stringify(Object.fromEntries(counts))}`);
      expect(elapsed).toBeGreaterThanOrEqual(SLOW_ANSWER_MS);
      expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(expected.map((address) => [address, 1])));
      const statuses = await stack.database.deliveries.distinct('status', { sendId: workflowId });
      expect(statuses).toEqual(['sent']);
    },
    3 * SLOW_ANSWER_MS,
  );

  it.each([
    ['POST /send', 'send'],
    ['POST /messages', 'messages'],
  ])(
    'a 429 with Retry-After: 90 through %s: the batch waits on a workflow timer, and each message arrives once',
    async (_route, path) => {
      await stack.sim('POST', '/faults', { target: 'sms', failNext: 1, status: 429, retryAfter: 90 });
      let workflowId: string;
      let expected: string[];
      if (path === 'send') {
        const users = await insertAudience(stack, `throttled${path}`, 3, `throttled${path}`);
        expected = users.map((user) => user.phoneNumber);
        workflowId = await startSend('sms', `throttled${path}`);
      } else {
        expected = ['+15550000001', '+15550000002', '+15550000003'];
        workflowId = await startMessages(
          'sms',
          'throttled sms',
          expected.map((number) => number.slice(2)),
        );
      }
      await finished(workflowId);

      const counts = perAddress(await simMessages(stack, 'channel=sms'));
      expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(expected.map((address) => [address, 1])));
      // The 90 s were clamped to `retryAfter.maxMs` and waited out by a durable timer of the workflow, after which the
      // batch was dispatched again.
      const events = await history(workflowId);
      const timers = events.flatMap(({ timerStartedEventAttributes: timer }) => {
        const timeout = timer?.startToFireTimeout;
        return timeout ? [Number(timeout.seconds) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6)] : [];
      });
      // One per batch handed back: the first one's 3 s, or what was left of the channel's pause for the others.
      expect(timers.length).toBeGreaterThanOrEqual(1);
      for (const timerMs of timers) {
        expect(timerMs).toBeGreaterThan(1000);
        expect(timerMs).toBeLessThanOrEqual(3000);
      }
      const patches = events.flatMap((event) =>
        (event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? []).map(
          (payload) => JSON.parse(Buffer.from(payload.data!).toString('utf8')).id as string,
        ),
      );
      expect(patches).toContain('hand-back-throttled-batches');
      const statuses = await stack.database.deliveries.distinct('status', { sendId: workflowId });
      expect(statuses).toEqual(['sent']);
    },
    60_000,
  );
});
