/**
 * Records the workflow histories that `test/workflows/replay.test.ts` replays: real sends on a real Temporal
 * dev server, FerretDB, worker and simulator (the test suite's own stack). Run it when a workflow change is
 * meant to be incompatible (docs/operations.md "Changing a workflow safely"), never to make a failing replay pass:
 *
 *   npm run record-histories                      # every scenario
 *   npm run record-histories -- saga-fail-event   # only the scenarios named (a new one, without re-recording the rest)
 *   npm run record-histories -- --into with-patches small-send   # into a folder of its own, keeping the first
 *
 * Each scenario writes `test/workflows/histories/<name>.json` (every run of the workflow, the last one last), or
 * `test/workflows/histories/<folder>/<name>.json` with `--into <folder>`: a later recording of the same scenario, for
 * code that takes another path (behind a patch), replayed beside the first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ObjectId } from 'mongodb';
import { sendBodySchema } from '../../api/schemas/send-schemas';
import { freePort, toolPath } from '../../scripts/local-stack';
import globalSetup from './global-setup';
import globalTeardown from './global-teardown';
import { insertUsers, person, postSagaCommand, resetToFirstWorkflowTask, waitFor } from './fixtures';
import { startTestStack, type TestStack } from './test-stack';

const ARGS = process.argv.slice(2);
const INTO = ARGS[0] === '--into' ? ARGS[1] : undefined;
const HISTORIES_DIR = path.resolve(__dirname, '../workflows/histories', INTO ?? '.');

/** Every run of a workflow id, by when it ended, as the JSON `temporal workflow show --output json` prints. */
async function runsOf(stack: TestStack, workflowId: string): Promise<unknown[]> {
  const runIds: string[] = [];
  for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runIds.push(execution.runId);
  }
  const histories = await Promise.all(
    runIds.map(async (runId) => {
      // The CLI's JSON is the format every Temporal tool reads (the SDK's own converter needs a protobufjs
      // version that npm does not give it here).
      const output = execFileSync(
        toolPath('temporal'),
        [
          'workflow',
          'show',
          '--address',
          process.env.TEST_TEMPORAL_ADDRESS!,
          '-w',
          workflowId,
          '-r',
          runId,
          '-o',
          'json',
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const json = JSON.parse(output) as { events: { eventTime: string }[] };
      return { runId, ended: Date.parse(json.events.at(-1)!.eventTime), json };
    }),
  );
  return histories.sort((a, b) => a.ended - b.ended).map((run) => run.json);
}

/** Scenario names given on the command line: only those are written (all of them without any). */
const ONLY = INTO === undefined ? ARGS : ARGS.slice(2);

function save(name: string, workflowId: string, runs: unknown[]): void {
  if (ONLY.length > 0 && !ONLY.includes(name)) return;
  const file = path.join(HISTORIES_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ workflowId, runs }, null, 1)}\n`);
  console.log(`${name}: ${runs.length} run(s) of ${workflowId} → ${path.relative(process.cwd(), file)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The scenarios that wait on timers (quiet hours, `sendAt`, digest windows, schedules), recorded side by side. */
const TIMED_SCENARIOS = [
  'quiet-hours-release',
  'send-at',
  'send-at-rescheduled',
  'send-at-cancelled',
  'digest-flush',
  'digest-inbox',
  'recurring-send',
];

function wanted(name: string): boolean {
  return ONLY.length === 0 || ONLY.includes(name);
}

async function api<T>(
  stack: TestStack,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) {
  const response = await stack.app.inject({ method, url, ...(payload ? { payload } : {}) });
  if (response.statusCode >= 300) throw new Error(`${method} ${url} answered ${response.statusCode}: ${response.body}`);
  return response.json<T>();
}

/**
 * A send to a user inside quiet hours that end at the next minute boundary (in UTC) and to one outside them: the
 * first delivery is deferred, a timer waits for the release minute, the deferred deliveries are claimed and sent.
 */
async function recordQuietHoursRelease(stack: TestStack): Promise<void> {
  if (!wanted('quiet-hours-release')) return;
  const [quiet, outside] = await insertUsers(stack, [person('Quiet'), person('Awake')]);
  if (60_000 - (Date.now() % 60_000) < 5_000) await sleep(60_000 - (Date.now() % 60_000) + 50);
  const endsAt = Math.ceil(Date.now() / 60_000) * 60_000;
  const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
  await api(stack, 'PUT', `/users/${quiet}/preferences`, {
    quietHours: { start: hhmm(endsAt - 120_000), end: hhmm(endsAt) },
  });
  const response = await stack.app.inject({
    method: 'POST',
    url: '/send',
    headers: { prefer: 'respond-async' },
    payload: {
      channels: ['sms'],
      recipients: [quiet, outside],
      messageTitle: 'Hi',
      messageContent: 'Hi {{user.name}}',
    },
  });
  if (response.statusCode !== 202) throw new Error(`POST /send answered ${response.statusCode}: ${response.body}`);
  const sendId = response.json<{ sendId: string }>().sendId;
  await stack.temporal.workflow.getHandle(sendId).result();
  const deliveries = await stack.database.deliveries.find({ sendId }).toArray();
  if (deliveries.length !== 2 || deliveries.some((entry) => entry.status !== 'sent')) {
    throw new Error(`the quiet-hours send ended with ${JSON.stringify(deliveries.map((entry) => entry.status))}`);
  }
  save('quiet-hours-release', sendId, await runsOf(stack, sendId));
}

/** A send 3 s ahead, one moved by the `reschedule` update while it waits, one cancelled while it waits. */
async function recordSendAt(stack: TestStack): Promise<void> {
  if (!['send-at', 'send-at-rescheduled', 'send-at-cancelled'].some(wanted)) return;
  const [userId] = await insertUsers(stack, [person('Later')]);
  const send = async (extra: object) =>
    (
      await api<{ sendId: string }>(stack, 'POST', '/send', {
        channels: ['sms'],
        recipients: [userId],
        messageTitle: 'T',
        messageContent: 'Later',
        ...extra,
      })
    ).sendId;
  const scheduled = await send({ delay: 'PT3S' });
  const rescheduled = await send({ delay: 'PT2S' });
  await api(stack, 'PATCH', `/sends/${rescheduled}`, { delay: 'PT4S' });
  const cancelled = await send({ delay: 'PT3S' });
  await api(stack, 'DELETE', `/sends/${cancelled}`);
  for (const [name, sendId] of [
    ['send-at', scheduled],
    ['send-at-rescheduled', rescheduled],
    ['send-at-cancelled', cancelled],
  ]) {
    await stack.temporal.workflow.getHandle(sendId).result();
    save(name, sendId, await runsOf(stack, sendId));
  }
}

/** Two events for one user's digest with a 2 s window, and its flush: the digest workflow stays open, idle. */
async function recordDigest(stack: TestStack, templateId: ObjectId): Promise<void> {
  if (!wanted('digest-flush')) return;
  const [userId] = await insertUsers(stack, [person('Digest')]);
  let digestId = '';
  for (const text of ['one', 'two']) {
    const answer = await api<{ digests: { digestId: string }[] }>(stack, 'POST', '/events', {
      userId,
      digestKey: 'comments',
      channels: ['sms'],
      templateId: templateId.toHexString(),
      data: { text },
      digest: { window: 'PT2S' },
    });
    digestId = answer.digests[0].digestId;
  }
  await waitFor(async () => {
    const detail = await api<{ flushes: { sendId: string }[] }>(stack, 'GET', `/digests/${digestId}`);
    const [flush] = detail.flushes;
    if (!flush) return false;
    const sent = await api<{ status: string }>(stack, 'GET', `/sends/${flush.sendId}`);
    return sent.status === 'completed';
  }, 30_000);
  save('digest-flush', digestId, await runsOf(stack, digestId));
}

/**
 * A digest whose events join its waiting batch through the store: the first signalled, three pushed into the inbox
 * (`maxEvents` 3: the third of them flushes at once and one is carried over), then the carried one flushed by hand.
 */
async function recordDigestInbox(stack: TestStack, templateId: ObjectId): Promise<void> {
  if (!wanted('digest-inbox')) return;
  const [userId] = await insertUsers(stack, [person('DigestInbox')]);
  const post = (text: string) =>
    api<{ digests: { digestId: string }[] }>(stack, 'POST', '/events', {
      userId,
      digestKey: 'inbox',
      channels: ['sms'],
      templateId: templateId.toHexString(),
      data: { text },
      digest: { window: 'PT1M', maxEvents: 3 },
    });
  const digestId = (await post('one')).digests[0].digestId;
  await waitFor(async () => ((await stack.database.digests.findOne({ _id: digestId }))?.joinable ? true : undefined));
  for (const text of ['two', 'three', 'four']) await post(text);
  const flushesDone = async (count: number) =>
    waitFor(async () => {
      const detail = await api<{ flushes: { sendId: string }[]; pendingEvents: unknown[] }>(
        stack,
        'GET',
        `/digests/${digestId}`,
      );
      if (detail.flushes.length < count) return false;
      const sends = await Promise.all(
        detail.flushes.map((flush) => api<{ status: string }>(stack, 'GET', `/sends/${flush.sendId}`)),
      );
      return sends.every((sent) => sent.status === 'completed') && detail;
    }, 30_000);
  await flushesDone(1);
  await waitFor(async () => {
    const detail = await api<{ pendingEvents: unknown[] }>(stack, 'GET', `/digests/${digestId}`);
    return detail.pendingEvents.length === 1;
  }, 30_000);
  await api(stack, 'POST', `/digests/${digestId}/flush`);
  await flushesDone(2);
  save('digest-inbox', digestId, await runsOf(stack, digestId));
}

/** A schedule firing every 2 s, deleted after its first firing: that firing's send. */
async function recordRecurringSend(stack: TestStack): Promise<void> {
  if (!wanted('recurring-send')) return;
  const [userId] = await insertUsers(stack, [person('Recurring')]);
  const scheduleId = `recorder-${randomUUID()}`;
  await api(stack, 'POST', '/schedules', {
    scheduleId,
    spec: { every: 'PT2S' },
    send: { channels: ['sms'], recipients: [userId], messageTitle: 'Daily', messageContent: 'Hi {{user.name}}' },
  });
  const firing = await waitFor(async () => {
    const detail = await api<{ lastSends: { sendId?: string; status: string }[] }>(
      stack,
      'GET',
      `/schedules/${scheduleId}`,
    );
    const first = detail.lastSends.find((sent) => sent.sendId !== undefined);
    return first?.status === 'completed' && first.sendId;
  }, 30_000);
  await stack.app.inject({ method: 'DELETE', url: `/schedules/${scheduleId}` });
  save('recurring-send', firing, await runsOf(stack, firing));
}

async function main(): Promise<void> {
  mkdirSync(HISTORIES_DIR, { recursive: true });
  await globalSetup();
  // The providers' delivery reports and the customer's answers reach the API over the network, as in production.
  const apiPort = await freePort();
  const stack = await startTestStack({
    env: { PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`, HTTP_PORT: String(apiPort) },
    fanOut: { pageSize: 4, chunkSize: 2, perDeliveryLimit: 3, pagesPerRun: 2, heartbeatTimeoutMs: 3000 },
    service: {
      flowManagerConfiguration: {
        successEventLabel: 'notificationSent',
        failEventLabel: 'notificationFailed',
        // saga-send.json is a send whose event goes as it ends, recorded before the events could go as it starts.
        eventsWhen: 'finished',
        metadataSchema: {
          channels: 'notification.channels',
          recipients: 'buyer.id',
          templateId: 'notification.template',
        },
      },
    },
  });
  await stack.app.listen({ host: '127.0.0.1', port: apiPort });
  await stack.sim('PUT', '/reports/config', { delayMs: 50, seenDelayMs: 50 });
  try {
    const send = async (payload: object) => {
      const response = await stack.app.inject({ method: 'POST', url: '/send', payload });
      if (response.statusCode !== 200) throw new Error(`POST /send answered ${response.statusCode}: ${response.body}`);
      return response.json<{ sendId: string }>().sendId;
    };
    const templateId = new ObjectId();
    await stack.database.templates.insertOne({
      _id: templateId,
      name: 'order',
      smsMessage: 'Order for {{user.name}}',
      pushTitle: 'Order',
      pushMessage: 'For {{user.name}}',
    });

    await Promise.all([
      recordQuietHoursRelease(stack),
      recordSendAt(stack),
      recordDigest(stack, templateId),
      recordDigestInbox(stack, templateId),
      recordRecurringSend(stack),
    ]);
    // Only the timed scenarios asked for: the others take minutes and are not written anyway.
    if (ONLY.length > 0 && ONLY.every((name) => TIMED_SCENARIOS.includes(name))) return;

    // A small send: one activity per (user, channel), one permanent failure, one transient failure retried.
    const small = await insertUsers(stack, [
      person('Small1', { phoneNumber: '+15550000001' }),
      person('Small2'),
      person('Small3'),
    ]);
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: ['+15550000001'] });
    await stack.sim('POST', '/faults', { target: 'email', failNext: 1 });
    const smallId = await send({
      channels: ['sms', 'email'],
      recipients: [...small, new ObjectId().toHexString()],
      messageTitle: 'Hello',
      messageContent: 'Hello {{user.name}}',
    });
    save('small-send', smallId, await runsOf(stack, smallId));

    // A paged send: 10 users in pages of 4, two pages per run, so the workflow continues as new.
    const paged = await insertUsers(
      stack,
      Array.from({ length: 10 }, (_, index) => person(`Paged${index}`, { clusters: ['paged'] })),
    );
    const pagedId = await send({
      channels: ['sms', 'push'],
      clusters: ['paged'],
      templateId: templateId.toHexString(),
    });
    if (paged.length !== 10) throw new Error('paged users not inserted');
    save('paged-send', pagedId, await runsOf(stack, pagedId));

    // A saga send and its Flow Manager event.
    const [buyer] = await insertUsers(stack, [person('Buyer')]);
    const sagaId = `order-${randomUUID()}`;
    const saga = await postSagaCommand(stack, sagaId, {
      notification: { channels: ['sms'], template: templateId.toHexString() },
      buyer: { id: buyer },
    });
    if (saga.statusCode !== 200) throw new Error(`POST /saga/send answered ${saga.statusCode}: ${saga.body}`);
    await stack.temporal.workflow.getHandle(`saga-${sagaId}`).result();
    save('saga-send', `saga-${sagaId}`, await runsOf(stack, `saga-${sagaId}`));

    // A saga send whose success event goes as it starts (eventsWhen "started"), paged so that it continues as new.
    const startedSagaId = `order-started-${randomUUID()}`;
    const startedRequest = await stack.app.sendPreparation.prepare(
      sendBodySchema.parse({ channels: ['sms'], clusters: ['paged'], templateId: templateId.toHexString() }),
    );
    await stack.app.sendStarter.start(startedRequest, {
      saga: {
        sagaId: startedSagaId,
        successEventLabel: 'notificationSent',
        failEventLabel: 'notificationFailed',
        eventsWhen: 'started',
      },
    });
    await stack.temporal.workflow.getHandle(`saga-${startedSagaId}`).result();
    save('saga-send-started', `saga-${startedSagaId}`, await runsOf(stack, `saga-${startedSagaId}`));

    // A retry of the small send's failed sms, once the fault is gone.
    await stack.sim('DELETE', '/faults');
    const retry = await stack.app.inject({ method: 'POST', url: `/sends/${smallId}/retry` });
    if (retry.statusCode !== 202) throw new Error(`retry answered ${retry.statusCode}: ${retry.body}`);
    const retryId = retry.json<{ workflowId: string }>().workflowId;
    await stack.temporal.workflow.getHandle(retryId).result();
    save('retry-send', retryId, await runsOf(stack, retryId));

    // A reset of a finished send to its first workflow task: a second run replays it against the ledger.
    const resetUsers = await insertUsers(stack, [person('Reset1'), person('Reset2')]);
    const resetId = await send({
      channels: ['sms'],
      recipients: resetUsers,
      messageTitle: 'T',
      messageContent: 'Reset',
    });
    const runId = await resetToFirstWorkflowTask(stack, resetId, 'recording a reset run');
    await stack.temporal.workflow.getHandle(resetId, runId).result();
    await waitFor(async () => (await runsOf(stack, resetId)).length === 2);
    save('reset-send', resetId, await runsOf(stack, resetId));

    // A refused saga command: its fail event goes out through a `sagaFailEvent` workflow on the saga's id.
    const refusedSagaId = `refused-${randomUUID()}`;
    const refused = await postSagaCommand(stack, refusedSagaId, { notification: {} });
    if (refused.statusCode !== 400) throw new Error(`a refused saga answered ${refused.statusCode}: ${refused.body}`);
    await waitFor(async () => {
      const description = await stack.temporal.workflow
        .getHandle(`saga-${refusedSagaId}`)
        .describe()
        .catch(() => null);
      return description?.status.name === 'COMPLETED';
    });
    save('saga-fail-event', `saga-${refusedSagaId}`, await runsOf(stack, `saga-${refusedSagaId}`));

    // OS1: providers and templates for a /messages request and a two-way conversation.
    const admin = async (url: string, payload: object) => {
      const response = await stack.app.inject({ method: 'POST', url, payload });
      if (response.statusCode >= 300) throw new Error(`POST ${url} answered ${response.statusCode}: ${response.body}`);
      return response.json<Record<string, unknown>>();
    };
    const infobip = await admin('/providers', {
      name: 'infobip',
      providerType: 'infobip',
      credentials: { clientId: 'recorder', clientSecret: 'recorder-secret', apiBaseUrl: stack.simulator.httpUrl },
      isTenantDefault: true,
    });
    await admin('/templates', { name: 'otp', mode: 'sms', data: { body: 'OTP {{otp}}' } });
    await admin('/templates', {
      name: 'order delivered',
      mode: 'whatsapp',
      data: { body: 'Dear {{name}}, order {{orderId}} is delivered', externalRef: 'order_delivered' },
    });
    const catcher = (name: string) => `${stack.simulator.httpUrl}/callbacks/${name}`;

    // A /messages request with a callback: one dispatch per message object, the callback rounds, the totals; its
    // WhatsApp deliveries are reported delivered and read, each change posted by a postMessageCallbacks workflow.
    const accepted = await admin('/messages', {
      sms: [{ template: 'otp', data: { otp: '1234' }, to: [{ countryCode: '1', number: '5550000101' }] }],
      whatsapp: [
        {
          template: 'order delivered',
          data: { name: 'Ada', orderId: 'A1' },
          to: [{ countryCode: '44', number: '7712345678' }],
        },
      ],
      callback: { url: catcher('recorder'), meta: { source: 'recorder' } },
    });
    const requestId = accepted.requestId as string;
    await stack.temporal.workflow.getHandle(requestId).result();
    save('messages-request', requestId, await runsOf(stack, requestId));
    const reportCallbacks = `callbacks-${requestId}|whatsapp|2/0|read`;
    await waitFor(async () => {
      const description = await stack.temporal.workflow
        .getHandle(reportCallbacks)
        .describe()
        .catch(() => null);
      return description?.status.name === 'COMPLETED';
    });
    save('message-callbacks', reportCallbacks, await runsOf(stack, reportCallbacks));

    // A two-way conversation answered invalidly (the customer gets errorMessage), then validly.
    await stack.sim('PUT', '/whatsapp/inbound', { url: infobip.inboundWebhookUrl });
    const secret = 'recorder-webhook-secret';
    const conversation = await admin('/conversations', {
      from: '123324242',
      message: { template: 'order delivered', data: { name: 'Ada', orderId: 'A2' } },
      provider: 'infobip',
      to: { countryCode: '91', number: '9812345600' },
      acceptedResponses: [{ messages: ['1'], webhook: { url: catcher('accepted'), secret } }],
      webhook: {
        status: { url: catcher('status'), secret },
        invalidResponse: { url: catcher('invalid'), secret },
      },
      responseTimeout: 300,
      context: { orderId: 'A2' },
      errorMessage: 'Please answer 1',
    });
    const conversationId = conversation.conversationId as string;
    const conversationStatus = async () =>
      (await stack.app.inject({ method: 'GET', url: `/conversations/${conversationId}` })).json<{ status: string }>()
        .status;
    await waitFor(async () => (await conversationStatus()) === 'awaiting_response');
    await stack.sim('POST', '/whatsapp/reply', { to: '123324242', from: '+919812345600', text: 'maybe' });
    await stack.sim('POST', '/whatsapp/reply', { to: '123324242', from: '+919812345600', text: '1' });
    await stack.temporal.workflow.getHandle(conversationId).result();
    save('conversation', conversationId, await runsOf(stack, conversationId));

    // An inbound message no conversation awaits, to the provider's default inbound webhook.
    await stack.app.inject({
      method: 'PATCH',
      url: '/providers/infobip',
      payload: { inboundWebhook: { url: catcher('inbound'), secret } },
    });
    const inbound = await stack.sim<{ call: { body: string } }>('POST', '/whatsapp/reply', {
      to: '123324242',
      from: '+15550000199',
      text: 'hello?',
    });
    const inboundMessageId = (JSON.parse(inbound.call.body) as { results: { messageId: string }[] }).results[0]
      .messageId;
    const routeId = `inbound-infobip|${inboundMessageId}`;
    await stack.temporal.workflow.getHandle(routeId).result();
    save('inbound-message', routeId, await runsOf(stack, routeId));
  } finally {
    await stack.close();
    await globalTeardown();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
