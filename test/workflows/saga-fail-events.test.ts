import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Collection, MongoClient, ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import type { Database } from '../../common/store/db';
import type { SagaFailEventDocument } from '../../common/store/saga-fail-events-repository';
import { freePort } from '../../scripts/local-stack';
import { insertUsers, person, simMessages, storeRunningSend, waitFor, type SimMessage } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

const FLOW_MANAGER = {
  successEventLabel: 'notificationSent',
  failEventLabel: 'notificationFailed',
  // The events of the send's end: success, or fail when every delivery failed (docs/operating-sends.md "Saga sends").
  eventsWhen: 'finished' as const,
  // Commands give either a template or a title and a text, and may list attachments to check.
  metadataSchema: {
    messageTitle: 'title',
    messageContent: 'text',
    templateId: 'notification.template',
    emailAttachments: 'notification.attachments',
    channels: 'notification.channels',
    recipients: 'buyer.id',
  },
};

/**
 * The fail event of a refused saga command (docs/operating-sends.md "Saga sends"): sent for a 4xx and a 5xx alike,
 * through a `sagaFailEvent` workflow retried until the Flow Manager answers 2xx, queued in MongoDB while Temporal
 * cannot be reached, and each label at most once per saga. On the real stack; the unreachable servers are an API built
 * on a Temporal address or a MongoDB where nothing listens.
 */
describe('saga fail events', () => {
  let stack: TestStack;
  /** Apps built by a test, closed after it. */
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ service: { flowManagerConfiguration: FLOW_MANAGER } });
  });
  afterAll(() => stack.close());
  beforeEach(async () => {
    await stack.sim('DELETE', '/messages');
    await stack.sim('DELETE', '/faults');
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
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
  const sagaCommand = (sagaId: string, payload: Record<string, unknown>) => ({
    key: sagaId,
    value: { messageLabel: 'sendNotification', messagePayload: payload },
  });
  const sagaSend = (app: FastifyInstance, body: object) =>
    app.inject({ method: 'POST', url: '/saga/send', payload: body });
  const invalid = (sagaId: string) =>
    sagaCommand(sagaId, { notification: { channels: ['pigeon'] }, buyer: { id: 'x' } });
  const valid = async (sagaId: string, extra: Record<string, unknown> = {}) => {
    const [buyer] = await insertUsers(stack, [person(`Buyer${sagaId.slice(-6)}`)]);
    return sagaCommand(sagaId, {
      notification: { channels: ['sms'] },
      buyer: { id: buyer },
      title: 'T',
      text: 'C',
      ...extra,
    });
  };
  const failEventRecord = (sagaId: string) =>
    stack.database.db.collection<SagaFailEventDocument>('saga_fail_events').findOne({ _id: sagaId });
  const workflowType = async (sagaId: string) =>
    (await stack.temporal.workflow.getHandle(`saga-${sagaId}`).describe()).type;

  /** An API on the stack's configuration whose Temporal or MongoDB (or both) does not answer. */
  async function apiWithout(down: { temporal?: boolean; mongodb?: boolean }, reconcileEveryMs = 3_600_000) {
    const port = await freePort();
    // No retry interceptor: a refused connection fails the call at once instead of after ~20 s of retries.
    const temporal = down.temporal
      ? new Client({ connection: Connection.lazy({ address: `127.0.0.1:${port}`, interceptors: [] }) })
      : stack.temporal;
    const app = await buildApp({
      config: stack.config,
      database: down.mongodb ? unreachableDatabase(stack.database, port) : stack.database,
      temporal,
      logger: false,
      reconcileEveryMs,
    });
    apps.push(app);
    // Ready: the periodic job starts.
    await app.ready();
    return app;
  }

  it('sends the fail event of a 4xx once, even when the command is redelivered, and refuses the saga after', async () => {
    const sagaId = `fail-${randomUUID()}`;
    const first = await sagaSend(stack.app, invalid(sagaId));
    const second = await sagaSend(stack.app, invalid(sagaId));
    expect([first.statusCode, second.statusCode]).toEqual([400, 400]);
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    expect(await workflowType(sagaId)).toBe('sagaFailEvent');
    expect((await failEventRecord(sagaId))?.deliveredLabels).toEqual(['notificationFailed']);

    // The saga's outcome is its fail event: a valid command for it now starts no send and sends nothing more.
    const late = await sagaSend(stack.app, await valid(sagaId));
    expect(late.statusCode).toBe(409);
    expect(late.json().message).toMatch(/^key: saga .* was refused before/);
    expect(await stack.database.sends.countDocuments({ sagaId })).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await labels(sagaId)).toEqual(['notificationFailed']);
    expect(await simMessages(stack, 'channel=sms')).toHaveLength(0);
  });

  it('sends the fail event of a 503: the Files Service down when the attachments are checked', async () => {
    await stack.sim('POST', '/faults', { target: 'files', failForMs: 60_000, status: 503 });
    const sagaId = `files-${randomUUID()}`;
    const response = await sagaSend(
      stack.app,
      await valid(sagaId, { notification: { channels: ['sms'], attachments: ['terms.pdf'] } }),
    );
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toMatch(/^emailAttachments: the Files Service cannot be reached/);
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    expect(await stack.database.sends.countDocuments({ sagaId })).toBe(0);
  });

  it('sends the fail event of a command answered while MongoDB cannot be reached', async () => {
    const api = await apiWithout({ mongodb: true });
    const sagaId = `mongo-${randomUUID()}`;
    const response = await sagaSend(
      api,
      sagaCommand(sagaId, { notification: { channels: ['sms'] }, buyer: { id: 'u' }, title: 'T', text: 'C' }),
    );
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'MongoDB cannot be reached; try again later',
    });
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    expect(await workflowType(sagaId)).toBe('sagaFailEvent');
  });

  it('queues the fail event while Temporal cannot be reached; the periodic job starts it once Temporal answers', async () => {
    const api = await apiWithout({ temporal: true });
    const invalidSaga = `temporal-4xx-${randomUUID()}`;
    const unreachableSaga = `temporal-5xx-${randomUUID()}`;
    const redeliveredSaga = `temporal-again-${randomUUID()}`;

    expect((await sagaSend(api, invalid(invalidSaga))).statusCode).toBe(400);
    const unreachable = await sagaSend(api, await valid(unreachableSaga));
    expect(unreachable.statusCode).toBe(503);
    expect(unreachable.json().message).toBe('Temporal cannot be reached; try again later');
    expect((await sagaSend(api, await valid(redeliveredSaga))).statusCode).toBe(503);
    for (const sagaId of [invalidSaga, unreachableSaga, redeliveredSaga]) {
      expect((await failEventRecord(sagaId))?.queued).toMatchObject({ sagaId, messageLabel: 'notificationFailed' });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await labels(unreachableSaga)).toEqual([]);

    // The Flow Manager redelivers one command before the periodic job runs: its queued fail event starts at once,
    // and the saga stays refused rather than sending after its fail event was promised.
    const redelivered = await sagaSend(stack.app, await valid(redeliveredSaga));
    expect(redelivered.statusCode).toBe(409);
    expect(await settledLabels(redeliveredSaga)).toEqual(['notificationFailed']);

    // An API whose Temporal answers drains the others on its periodic job.
    await apiWithout({}, 200);
    expect(await settledLabels(invalidSaga)).toEqual(['notificationFailed']);
    expect(await settledLabels(unreachableSaga)).toEqual(['notificationFailed']);
    for (const sagaId of [invalidSaga, unreachableSaga, redeliveredSaga]) {
      const record = await failEventRecord(sagaId);
      expect(record?.queued).toBeUndefined();
      expect(record?.deliveredLabels).toEqual(['notificationFailed']);
    }
    // Temporal refused before anything was stored.
    expect(await stack.database.sends.countDocuments({ sagaId: unreachableSaga })).toBe(0);
  });

  /** A saga send whose sms takes 30 s at the provider: its workflow still runs when the test closes it. */
  const slowSagaSend = async (sagaId: string) => {
    await stack.sim('POST', '/faults', { target: 'sms', latencyMs: 30_000 });
    expect((await sagaSend(stack.app, await valid(sagaId))).statusCode).toBe(200);
    const handle = stack.temporal.workflow.getHandle(`saga-${sagaId}`);
    await waitFor(async () => (await handle.describe()).status.name === 'RUNNING');
    return handle;
  };

  it('sends the fail event of a saga send that is cancelled, once, from its workflow', async () => {
    const sagaId = `cancelled-${randomUUID()}`;
    const handle = await slowSagaSend(sagaId);

    await handle.cancel();

    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    await waitFor(async () => (await handle.describe()).status.name === 'CANCELLED');
    await stack.app.sendReconciler.closeRunning();
    expect(await stack.database.sends.findOne({ _id: `saga-${sagaId}` })).toMatchObject({
      status: 'failed',
      closedBy: 'CANCELLED',
    });
    expect((await failEventRecord(sagaId))?.deliveredLabels).toEqual(['notificationFailed']);
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
  });

  it('sends the fail event of a saga send that is terminated, once, from the reconciliation', async () => {
    const sagaId = `terminated-${randomUUID()}`;
    const handle = await slowSagaSend(sagaId);

    await handle.terminate('operator gave up');
    await stack.app.sendReconciler.closeRunning();
    await stack.app.sendReconciler.closeRunning();

    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    expect(await stack.database.sends.findOne({ _id: `saga-${sagaId}` })).toMatchObject({
      status: 'failed',
      closedBy: 'TERMINATED',
    });
  });

  it('closes a stored saga send whose id the fail event took as never started (a start that lost the race)', async () => {
    const sagaId = `race-${randomUUID()}`;
    const stored = await storeRunningSend(stack, new Date());
    await stack.database.sends.deleteOne({ _id: stored._id });
    const sendId = `saga-${sagaId}`;
    await stack.database.sends.insertOne({ ...stored, _id: sendId, workflowId: sendId, kind: 'saga', sagaId });
    expect((await sagaSend(stack.app, invalid(sagaId))).statusCode).toBe(400);
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    const send = await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` });
    expect(send.json()).toMatchObject({ status: 'failed', closedBy: 'NOT_STARTED' });
  });

  it('answers 503 when neither Temporal nor MongoDB can take the fail event; the redelivery carries it', async () => {
    const api = await apiWithout({ temporal: true, mongodb: true });
    const sagaId = `neither-${randomUUID()}`;
    const response = await sagaSend(api, invalid(sagaId));
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toMatch(
      /^channels.*\(and its fail event could not be recorded: Temporal and MongoDB cannot be reached; redeliver the command\)$/,
    );
    expect(await failEventRecord(sagaId)).toBeNull();
    await expect(workflowType(sagaId)).rejects.toThrow(/not found/i);

    // The Flow Manager redelivers a command that got no 2xx.
    expect((await sagaSend(stack.app, invalid(sagaId))).statusCode).toBe(400);
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
  });

  it('delivers a fail event while the Flow Manager answers 503, once it recovers', async () => {
    await stack.sim('POST', '/faults', { target: 'event', failForMs: 3000, status: 503 });
    const sagaId = `flow-manager-down-${randomUUID()}`;
    expect((await sagaSend(stack.app, invalid(sagaId))).statusCode).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await labels(sagaId)).toEqual([]);
    expect(await settledLabels(sagaId)).toEqual(['notificationFailed']);
    const stats = await stack.sim<{ failedByFault: number }>('GET', '/stats');
    expect(stats.failedByFault).toBeGreaterThan(0);
  });

  it('sends no fail event for a redelivered command that fails once its send has started: the send owns the saga', async () => {
    const templateId = new ObjectId();
    await stack.database.templates.insertOne({ _id: templateId, name: 'gone', smsMessage: 'Hi {{user.name}}' });
    const sagaId = `owned-${randomUUID()}`;
    const command = await valid(sagaId, { notification: { channels: ['sms'], template: templateId.toHexString() } });
    expect((await sagaSend(stack.app, command)).statusCode).toBe(200);
    expect(await settledLabels(sagaId)).toEqual(['notificationSent']);

    await stack.database.templates.deleteOne({ _id: templateId });
    expect((await sagaSend(stack.app, command)).statusCode).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await labels(sagaId)).toEqual(['notificationSent']);
    expect(await workflowType(sagaId)).toBe('sagaSendMessage');
  });
});

/** The stack's database as seen through a MongoDB where nothing listens: every operation fails within 300 ms. */
function unreachableDatabase(database: Database, port: number): Database {
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/unreachable`, { serverSelectionTimeoutMS: 300 });
  const db = client.db(database.db.databaseName);
  const unreachable: Record<string, unknown> = { ...database, client, db, close: () => client.close() };
  for (const [name, value] of Object.entries(database)) {
    if (value instanceof Collection) unreachable[name] = db.collection(value.collectionName);
  }
  return unreachable as unknown as Database;
}
