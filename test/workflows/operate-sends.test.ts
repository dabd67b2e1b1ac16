import { decodeArrayFromPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { temporalDataConverter } from '../../common/temporal/data-converter';
import {
  insertUsers,
  person,
  resetToFirstWorkflowTask,
  simMessages,
  storeRunningSend,
  waitFor,
  type SimMessage,
} from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const FLOW_MANAGER = {
  successEventLabel: 'notificationSent',
  failEventLabel: 'notificationFailed',
  // The events of the send's end: success, or fail when every delivery failed (docs/operating-sends.md "Saga sends").
  eventsWhen: 'finished' as const,
  metadataSchema: {
    channels: 'notification.channels',
    recipients: ['buyer.id', 'seller.id'],
    templateId: 'notification.template',
  },
};

/** Operating sends (issue: saga variant, inspection, retry, replay) on the real stack. */
describe('operating sends', () => {
  let stack: TestStack;
  const templateId = new ObjectId();

  beforeAll(async () => {
    stack = await startTestStack({ service: { flowManagerConfiguration: FLOW_MANAGER } });
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'order',
      smsMessage: 'Order {{data.value.messagePayload.order.id}} for {{user.name}}',
      emailTitle: 'Order',
      emailMessage: 'Order {{data.value.messagePayload.order.id}}',
    });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const events = async (sagaId: string) =>
    (await simMessages(stack, 'channel=event')).filter((event: SimMessage) => event.to === sagaId);
  const command = (sagaId: string, payload: Record<string, unknown>) => ({
    key: sagaId,
    value: { messageLabel: 'sendNotification', messagePayload: payload },
  });
  const sagaSend = (body: object) => stack.app.inject({ method: 'POST', url: '/saga/send', payload: body });

  it('runs a saga send, reads fields through metadataSchema and sends the success event once, even when redelivered', async () => {
    const [buyer, seller] = await insertUsers(stack, [person('Buyer'), person('Seller')]);
    const sagaId = `saga-${randomUUID()}`;
    const body = command(sagaId, {
      notification: { channels: ['sms'], template: templateId.toHexString() },
      buyer: { id: buyer },
      seller: { id: seller },
      order: { id: 'A-42' },
    });
    const response = await sagaSend(body);
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');

    const [event] = await waitFor(async () => {
      const found = await events(sagaId);
      return found.length > 0 ? found : undefined;
    });
    expect(event.data).toEqual({ key: sagaId, value: { messageLabel: 'notificationSent', messagePayload: {} } });
    expect((await simMessages(stack, 'channel=sms')).map((m) => m.body).sort()).toEqual([
      'Order A-42 for Buyer',
      'Order A-42 for Seller',
    ]);

    expect((await sagaSend(body)).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await events(sagaId)).toHaveLength(1);
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(2);

    const sends = (await stack.app.inject({ method: 'GET', url: `/sends/saga-${sagaId}` })).json();
    expect(sends).toMatchObject({ kind: 'saga', status: 'completed', counts: { sms: { sent: 2 } } });
  });

  it('sends the fail event when every dispatch fails', async () => {
    const [buyer] = await insertUsers(stack, [person('Refused', { phoneNumber: '+15550001234' })]);
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550001234'] });
    const sagaId = `saga-${randomUUID()}`;
    const response = await sagaSend(
      command(sagaId, {
        notification: { channels: ['sms'], template: templateId.toHexString() },
        buyer: { id: buyer },
      }),
    );
    expect(response.statusCode).toBe(200);
    const found = await waitFor(async () => ((await events(sagaId)).length > 0 ? events(sagaId) : undefined));
    expect(found.map((event) => (event.data as { value: { messageLabel: string } }).value.messageLabel)).toEqual([
      'notificationFailed',
    ]);
  });

  it('answers an invalid command with 400, sends the fail event through its own workflow and starts no send', async () => {
    const sagaId = `saga-${randomUUID()}`;
    const response = await sagaSend(command(sagaId, { notification: { channels: ['pigeon'] }, buyer: { id: 'x' } }));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(/channels/) });
    const found = await waitFor(async () => ((await events(sagaId)).length > 0 ? events(sagaId) : undefined));
    expect(found.map((event) => (event.data as { value: { messageLabel: string } }).value.messageLabel)).toEqual([
      'notificationFailed',
    ]);
    expect(await stack.database.sends.countDocuments({ sagaId })).toBe(0);
    const workflow = await stack.temporal.workflow.getHandle(`saga-${sagaId}`).describe();
    expect(workflow.type).toBe('sagaFailEvent');
  });

  it("counts a retry's recipients once each, across the pages and channels it claimed them in", async () => {
    // 30 users failed on email and sms: 60 failed deliveries, in retry pages of 50 (email's 30 and sms's first 20,
    // then sms's last 10), so 10 users come in both pages.
    const users = await insertUsers(
      stack,
      Array.from({ length: 30 }, (_, index) =>
        person(`Twice${index}`, { phoneNumber: `+1555001${String(index).padStart(4, '0')}` }),
      ),
    );
    await stack.sim('POST', '/faults', { target: '*', status: 400, failForMs: 60_000 });
    const sent = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: {
        channels: ['email', 'sms'],
        recipients: users,
        messageTitle: 'T',
        messageContent: 'Both {{user.name}}',
      },
    });
    expect(await stack.database.sends.findOne({ _id: sent.json().sendId })).toMatchObject({
      status: 'failed',
      counts: { email: { failed: 30 }, sms: { failed: 30 } },
    });
    await stack.sim('DELETE', '/faults');

    const retry = await stack.app.inject({ method: 'POST', url: `/sends/${sent.json().sendId}/retry` });
    expect(retry.statusCode).toBe(202);
    const summary = await stack.temporal.workflow.getHandle(retry.json().workflowId).result();

    expect(summary).toMatchObject({ status: 'completed', recipients: 30 });
    expect(await stack.database.sends.findOne({ _id: retry.json().sendId })).toMatchObject({ recipientCount: 30 });
  });

  it('retries only the failed deliveries, once, after the fault is cleared', async () => {
    const [ok, flaky] = await insertUsers(stack, [
      person('RetryOk'),
      person('RetryFlaky', { phoneNumber: '+15550007777' }),
    ]);
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550007777'] });
    const sent = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['sms'], recipients: [ok, flaky], messageTitle: 'T', messageContent: 'Retry {{user.name}}' },
    });
    const { sendId, failures } = sent.json();
    expect(failures).toHaveLength(1);
    await stack.sim('DELETE', '/faults');

    const retry = await stack.app.inject({ method: 'POST', url: `/sends/${sendId}/retry` });
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toMatchObject({
      sendId: `${sendId}-retry-1`,
      workflowId: `${sendId}-retry-1`,
      retryOf: sendId,
    });
    await stack.temporal.workflow.getHandle(`${sendId}-retry-1`).result();
    // Each dispatch of the round names it, and touches only the entries that round claimed.
    const converter = loadDataConverter(temporalDataConverter(stack.config.env));
    const history = await stack.temporal.workflow.getHandle(`${sendId}-retry-1`).fetchHistory();
    const dispatches = await Promise.all(
      (history.events ?? [])
        .map((event) => event.activityTaskScheduledEventAttributes)
        .filter((scheduled) => scheduled?.activityType?.name === 'dispatchSms')
        .map(async (scheduled) => (await decodeArrayFromPayloads(converter, scheduled!.input?.payloads))[0]),
    );
    expect(dispatches).toEqual([expect.objectContaining({ userIds: [flaky], retryRound: 1 })]);

    const sms = await simMessages(stack, 'channel=sms');
    expect(sms.filter((m) => m.to === '+15550007777')).toHaveLength(1);
    expect(sms).toHaveLength(2);
    const original = (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json();
    expect(original).toMatchObject({
      status: 'completed',
      counts: { sms: { sent: 2 } },
      failures: [],
      retries: [`${sendId}-retry-1`],
    });
    const retried = (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}-retry-1` })).json();
    expect(retried).toMatchObject({ kind: 'retry', retryOf: sendId, status: 'completed' });

    const again = await stack.app.inject({ method: 'POST', url: `/sends/${sendId}/retry` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringMatching(/sendId/),
    });
  });

  it('replays a reset workflow without sending anything twice', async () => {
    const users = await insertUsers(stack, [person('Replay1'), person('Replay2'), person('Replay3')]);
    const sent = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['sms', 'email'], recipients: users, messageTitle: 'T', messageContent: 'Replay' },
    });
    const { sendId } = sent.json();
    expect(await simMessages(stack)).toHaveLength(6);

    const runId = await resetToFirstWorkflowTask(stack, sendId, 'replay test');
    const replayed = stack.temporal.workflow.getHandle(sendId, runId);
    const summary = await replayed.result();
    expect(summary).toMatchObject({ status: 'completed', recipients: 3 });
    const replayHistory = await replayed.fetchHistory();
    expect(
      replayHistory.events!.some(
        (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'dispatchSms',
      ),
    ).toBe(true);
    expect(await simMessages(stack)).toHaveLength(6);
  });

  it('replays a reset saga send without a second Flow Manager event', async () => {
    const [buyer, seller] = await insertUsers(stack, [person('ResetBuyer'), person('ResetSeller')]);
    const sagaId = `saga-${randomUUID()}`;
    const body = command(sagaId, {
      notification: { channels: ['sms'], template: templateId.toHexString() },
      buyer: { id: buyer },
      seller: { id: seller },
      order: { id: 'R-1' },
    });
    expect((await sagaSend(body)).statusCode).toBe(200);
    const workflowId = `saga-${sagaId}`;
    await stack.temporal.workflow.getHandle(workflowId).result();
    expect(await events(sagaId)).toHaveLength(1);

    const runId = await resetToFirstWorkflowTask(stack, workflowId, 'saga replay test');
    await stack.temporal.workflow.getHandle(workflowId, runId).result();
    expect(await events(sagaId)).toHaveLength(1);
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(2);
  });

  it('closes a send whose workflow was terminated as failed, instead of running forever', async () => {
    const [user] = await insertUsers(stack, [person('Terminated')]);
    await stack.sim('POST', '/faults', { target: 'sms', failForMs: 60000, status: 503 });
    const sent = await stack.app.inject({
      method: 'POST',
      url: '/send',
      headers: { prefer: 'respond-async' },
      payload: { channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: 'Never' },
    });
    expect(sent.statusCode).toBe(202);
    const { sendId } = sent.json();
    expect((await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json()).toMatchObject({
      status: 'running',
    });
    await stack.temporal.workflow.getHandle(sendId).terminate('operator gave up');
    const closed = (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json();
    expect(closed).toMatchObject({ status: 'failed', closedBy: 'TERMINATED' });
    // GET only reads it so; the periodic reconciliation (every minute) stores it, and lists it as failed.
    await stack.app.sendReconciler.closeRunning();
    const listed = (await stack.app.inject({ method: 'GET', url: '/sends?status=failed&limit=100' })).json();
    expect(JSON.stringify(listed)).toContain(sendId);
  });

  it('closes a stored send whose workflow never started (API died in between), after a grace period', async () => {
    const { _id: orphan } = await storeRunningSend(stack, new Date(Date.now() - 2 * 60_000));
    const { _id: starting } = await storeRunningSend(stack, new Date());
    expect((await stack.app.inject({ method: 'GET', url: `/sends/${orphan}` })).json()).toMatchObject({
      status: 'failed',
      closedBy: 'NOT_STARTED',
    });
    expect((await stack.app.inject({ method: 'GET', url: `/sends/${starting}` })).json()).toMatchObject({
      status: 'running',
      closedBy: null,
    });
  });

  it('finds sends by search attributes, lists them, and pages through the ledger', async () => {
    const users = await insertUsers(
      stack,
      Array.from({ length: 7 }, (_, index) => person(`Page${index}`)),
    );
    const sent = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['email'], recipients: users, templateId: templateId.toHexString() },
    });
    const { sendId } = sent.json();
    const query = `templateId = "${templateId.toHexString()}" AND sendStatus = "completed" AND channels = "email"`;
    const found = await waitFor(async () => {
      const ids: string[] = [];
      for await (const execution of stack.temporal.workflow.list({ query })) ids.push(execution.workflowId);
      return ids.includes(sendId) ? ids : undefined;
    });
    expect(found).toContain(sendId);

    const list = (await stack.app.inject({ method: 'GET', url: '/sends?status=completed&limit=100' })).json();
    expect(list.map((send: { sendId: string }) => send.sendId)).toContain(sendId);

    const first = (
      await stack.app.inject({ method: 'GET', url: `/sends/${sendId}/deliveries?limit=4&channel=email` })
    ).json();
    expect(first.deliveries).toHaveLength(4);
    const second = (
      await stack.app.inject({
        method: 'GET',
        url: `/sends/${sendId}/deliveries?limit=4&cursor=${encodeURIComponent(first.nextCursor)}`,
      })
    ).json();
    expect(second.deliveries).toHaveLength(3);
    expect(second.nextCursor).toBeNull();
    expect([...first.deliveries, ...second.deliveries].every((d: { status: string }) => d.status === 'sent')).toBe(
      true,
    );
  });
});
