import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import { sendBodySchema } from '../../api/schemas/send-schemas';
import { insertUsers, person, simMessages, waitFor, type SimMessage } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const FLOW_MANAGER = {
  successEventLabel: 'notificationSent',
  failEventLabel: 'notificationFailed',
  metadataSchema: { messageTitle: 'title', messageContent: 'text', channels: 'channels', recipients: 'to' },
};

/**
 * When a saga send tells the Flow Manager (docs/operating-sends.md "Saga sends"), in both modes of
 * `flowManagerConfiguration.eventsWhen`, on the real stack: the simulator stands in for the Flow Manager and records
 * each event. The stack's API runs the default (`started`); a second API on the same stack runs `finished`.
 */
describe('saga events, when the send has started (default) or finished', () => {
  let stack: TestStack;
  let finishedApi: FastifyInstance;

  beforeAll(async () => {
    stack = await startTestStack({ service: { flowManagerConfiguration: FLOW_MANAGER } });
    finishedApi = await buildApp({
      config: {
        ...stack.config,
        service: {
          ...stack.config.service,
          flowManagerConfiguration: { ...stack.config.service.flowManagerConfiguration, eventsWhen: 'finished' },
        },
      },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
      reconcileEveryMs: 3_600_000,
    });
  });
  afterAll(async () => {
    await finishedApi?.close();
    await stack.close();
  });
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });

  const labels = async (sagaId: string) =>
    (await simMessages(stack, 'channel=event'))
      .filter((event: SimMessage) => event.to === sagaId)
      .map((event) => (event.data as { value: { messageLabel: string } }).value.messageLabel);
  /** Waits for the saga's first event, then long enough for a second one to have arrived, and returns them all. */
  const settledLabels = async (sagaId: string) => {
    await waitFor(async () => (await labels(sagaId)).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return labels(sagaId);
  };
  const command = async (sagaId: string, phoneNumber?: string) => {
    const [user] = await insertUsers(stack, [person(`Saga${sagaId.slice(-6)}`, phoneNumber ? { phoneNumber } : {})]);
    return {
      key: sagaId,
      value: {
        messageLabel: 'sendNotification',
        messagePayload: { channels: ['sms'], to: user, title: 'T', text: 'C' },
      },
    };
  };
  const sagaSend = (api: FastifyInstance, body: object) =>
    api.inject({ method: 'POST', url: '/saga/send', payload: body });
  const handleOf = (sagaId: string) => stack.temporal.workflow.getHandle(`saga-${sagaId}`);
  const sendOf = (sagaId: string) => stack.database.sends.findOne({ _id: `saga-${sagaId}` });

  describe('eventsWhen "started" (the default)', () => {
    it('sends the success event once the send has started, while it still runs, once even when redelivered', async () => {
      await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 5000 });
      const sagaId = `started-${randomUUID()}`;
      const body = await command(sagaId);
      expect((await sagaSend(stack.app, body)).statusCode).toBe(200);

      await waitFor(async () => (await labels(sagaId)).length > 0);
      expect((await handleOf(sagaId).describe()).status.name).toBe('RUNNING');
      expect(await simMessages(stack, 'channel=sms')).toHaveLength(0);
      expect((await sagaSend(stack.app, body)).statusCode).toBe(200);

      await handleOf(sagaId).result();
      expect(await labels(sagaId)).toEqual(['notificationSent']);
      expect(await sendOf(sagaId)).toMatchObject({ status: 'completed', sagaEventsWhen: 'started' });
      expect(await stack.database.sagaFailEvents.findOne({ _id: sagaId })).toMatchObject({
        deliveredLabels: ['notificationSent'],
      });
    });

    it('sends the success event from the send itself: a send started by an API that died before its 200 still has it', async () => {
      const sagaId = `crashed-api-${randomUUID()}`;
      const [user] = await insertUsers(stack, [person('NoAnswer')]);
      // What the route does up to its answer, without the answer.
      const request = await stack.app.sendPreparation.prepare(
        sendBodySchema.parse({ channels: ['sms'], recipients: [user], messageTitle: 'T', messageContent: 'C' }),
      );
      const { successEventLabel, failEventLabel } = FLOW_MANAGER;
      await stack.app.sendStarter.start(request, {
        saga: { sagaId, successEventLabel, failEventLabel, eventsWhen: 'started' },
      });
      expect(await settledLabels(sagaId)).toEqual(['notificationSent']);
    });

    it('sends no fail event when every delivery fails: the send had started', async () => {
      await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550009876'] });
      const sagaId = `all-failed-${randomUUID()}`;
      expect((await sagaSend(stack.app, await command(sagaId, '+15550009876'))).statusCode).toBe(200);
      await handleOf(sagaId).result();
      expect((await sendOf(sagaId))?.status).toBe('failed');
      expect(await settledLabels(sagaId)).toEqual(['notificationSent']);
    });

    it('sends the fail event of a command that did not start, and only that', async () => {
      const sagaId = `refused-${randomUUID()}`;
      const response = await sagaSend(stack.app, {
        key: sagaId,
        value: { messageLabel: 'sendNotification', messagePayload: { channels: ['pigeon'], to: 'x' } },
      });
      expect(response.statusCode).toBe(400);
      expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
      expect(await stack.database.sends.countDocuments({ sagaId })).toBe(0);
    });

    it('sends no fail event for a cancelled send, whose success event went as it started', async () => {
      await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 30_000 });
      const sagaId = `cancelled-${randomUUID()}`;
      expect((await sagaSend(stack.app, await command(sagaId))).statusCode).toBe(200);
      await waitFor(async () => (await labels(sagaId)).length > 0);

      await handleOf(sagaId).cancel();
      await waitFor(async () => (await handleOf(sagaId).describe()).status.name === 'CANCELLED');
      await stack.app.sendReconciler.closeRunning();
      expect(await settledLabels(sagaId)).toEqual(['notificationSent']);
    });

    it('sends the success event of a send terminated before it could, once, from the reconciliation', async () => {
      await stack.sim('POST', '/faults', { target: 'event', failForMs: 60_000, status: 503 });
      await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 30_000 });
      const sagaId = `terminated-${randomUUID()}`;
      expect((await sagaSend(stack.app, await command(sagaId))).statusCode).toBe(200);
      await waitFor(async () => (await stack.sim<{ failedByFault: number }>('GET', '/stats')).failedByFault > 0);

      await handleOf(sagaId).terminate('operator gave up');
      await stack.sim('DELETE', '/faults');
      await stack.app.sendReconciler.closeRunning();
      await stack.app.sendReconciler.closeRunning();

      expect(await settledLabels(sagaId)).toEqual(['notificationSent']);
      expect(await sendOf(sagaId)).toMatchObject({ status: 'failed', closedBy: 'TERMINATED' });
    });
  });

  describe('eventsWhen "finished"', () => {
    it('sends the success event when the send ends, not before', async () => {
      await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 3000 });
      const sagaId = `finished-${randomUUID()}`;
      expect((await sagaSend(finishedApi, await command(sagaId))).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await handleOf(sagaId).describe()).status.name).toBe('RUNNING');
      expect(await labels(sagaId)).toEqual([]);

      await handleOf(sagaId).result();
      expect(await settledLabels(sagaId)).toEqual(['notificationSent']);
      expect(await sendOf(sagaId)).toMatchObject({ status: 'completed', sagaEventsWhen: 'finished' });
    });

    it('sends the fail event, and no success event, when every delivery fails', async () => {
      await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550008765'] });
      const sagaId = `finished-failed-${randomUUID()}`;
      expect((await sagaSend(finishedApi, await command(sagaId, '+15550008765'))).statusCode).toBe(200);
      await handleOf(sagaId).result();
      expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    });
  });
});
