import { request } from 'undici';
import { runFanOut } from './fanout';
import { round, sampleProcess } from './proc-stats';
import { percentiles, type Percentiles } from './small-send';
import type { BenchStack } from './stack';
import { blockClusters, SEND_BODY, smallSendBody, type SeededUser } from './workload';

/**
 * The figures of sends that wait or stop: many scheduled sends waiting (`scheduled-wait-worker-cpu-s`,
 * `scheduled-list-p99-ms`), scheduled sends firing (`scheduled-fire-lag-ms`), a cancel stopping a
 * large send (`cancel-stop-ms`), a send reading every user's preferences (`preferences-fanout-ratio`), and events
 * gathered into digests (`events-per-s`, `digest-flush-lag-ms`). bench/README.md says how each is measured.
 */

export interface TimeAwareSizes {
  /** Scheduled sends waiting at once while the worker's CPU is read and `GET /sends?status=scheduled` is timed. */
  waitingSends: number;
  /** One-recipient sms sends whose `sendAt` falls, evenly spread, within one minute. */
  scheduledSends: number;
  /** Recipients of the send cancelled mid-fan-out (3 channels each). */
  cancelRecipients: number;
  /** Recipients of the send measured with and without preferences documents. */
  preferencesRecipients: number;
  digestUsers: number;
  eventsPerUser: number;
  /** The digests' fixed window: long enough that a user's events meet in few flushes while they are posted. */
  digestWindowSeconds: number;
  /** The posting of events stops after this long (the rest counted as `notPosted`). */
  eventsBudgetMs: number;
}

export interface ScheduledFireFigures extends Percentiles {
  sends: number;
  /** Sends the API did not answer 202 (a POST later than its own `sendAt` is refused). */
  notScheduled: number;
  /** Sends with no provider call when the bench stopped waiting. */
  notFired: number;
  /** Where the lag goes, from the histories of the fired sends (each step from the end of the one before). */
  steps: FireLagSteps;
}

/**
 * A scheduled send's way from its `sendAt` to its provider call: `timer` = TimerFired − sendAt; `begin` = the end of
 * `beginScheduledSend` (its activity's completion, or its local activity's marker) − TimerFired; `audience` = the
 * start of its first dispatch activity − that (the audience snapshot and page read between); `dispatch` = the
 * provider call − that start.
 */
export interface FireLagSteps {
  timer: Percentiles;
  /**
   * Of `timer`: the send's first workflow task, from its start (whose time the workflow counts its wait from) to the
   * timer's start (the task's completion), which delays the timer as much.
   */
  firstTask: Percentiles;
  /** Of `timer`: TimerFired − (TimerStarted + its duration), Temporal's own lateness. */
  timerService: Percentiles;
  begin: Percentiles;
  audience: Percentiles;
  dispatch: Percentiles;
  /** How `beginScheduledSend` ran in the histories read: as an activity, as a local activity. */
  beganAs: { activity: number; local: number };
}

export interface ScheduledWaitFigures {
  sends: number;
  notScheduled: number;
  /** How long creating them took (`POST /send` with a `sendAt`, `concurrency` at a time). */
  createSeconds: number;
  concurrency: number;
  /** Worker CPU seconds over `idleSeconds` with no send waiting, before they were created. */
  idleCpuSeconds: number;
  idleSeconds: number;
  /** Worker CPU seconds over `waitSeconds` with all of them waiting (after their first workflow tasks settled). */
  waitCpuSeconds: number;
  waitSeconds: number;
  /** Temporal's own CPU seconds over the same wait, for comparison (it holds the timers). */
  temporalWaitCpuSeconds: number | null;
  /** `GET /sends?status=scheduled` (50 per page), one at a time, while they all wait. */
  list: Percentiles & { calls: number };
  /** `DELETE /sends/:id` answered 200, and how long cancelling all of them took (`concurrency` at a time). */
  cancelled: number;
  cancelSeconds: number;
  /** Sends still `scheduled` in the store once the cancelled workflows ended (0: none of them will fire). */
  stillScheduled: number;
}

export interface CancelFigures {
  recipients: number;
  /** Provider calls the simulator had accepted when the DELETE was sent. */
  acceptedBeforeCancel: number;
  status: number;
  cancelledWhile?: string;
  deliveries?: { sentBefore: number; inFlight: number; cancelled: number | null };
  /** Provider calls recorded after the DELETE's answer; the promise is at most `deliveries.inFlight`. */
  callsAfterAnswer: number;
  /** Provider calls the simulator had accepted once the send wound down (the DELETE's own time included). */
  acceptedAtEnd: number;
  /** From the DELETE's answer to the last provider call (0 when none came after it). */
  stopMs: number;
  /** The last provider call minus the DELETE's answer, negative when it came before the answer. */
  lastCallMs: number;
  workflowClosedMs: number;
}

export interface PreferencesFigures {
  recipients: number;
  optedOut: number;
  withoutPreferences: { deliveriesPerSecond: number; deliveries: number; partial: boolean };
  /** `done` counts deliveries sent and those skipped as opted out. */
  withPreferences: { donePerSecond: number; deliveries: number; skipped: number; partial: boolean };
  ratio: number;
}

export interface EventFigures {
  users: number;
  events: number;
  /** Events not posted because the posting ran past its time budget. */
  notPosted: number;
  accepted: number;
  notAccepted: number;
  seconds: number;
  eventsPerSecond: number;
  latency: Percentiles;
  windowMs: number;
  /** Per flush: its first provider call minus the end of its window (first event + window). */
  flushLag: Percentiles;
  /** Events the flushes' messages counted, against `accepted`. */
  eventsFlushed: number;
}

export interface TimeAwareFigures {
  /** null when left out (`waitingSends` 0). */
  scheduledWait: ScheduledWaitFigures | null;
  scheduledFireLag: ScheduledFireFigures;
  cancel: CancelFigures;
  preferences: PreferencesFigures;
  events: EventFigures;
}

type Log = (line: string) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Runs `count` jobs, `concurrency` at a time, in index order. */
async function inParallel(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

/** Waits until the simulator has accepted `expected` messages, or its count stood still `quietMs`, or `untilMs`. */
async function waitForMessages(stack: BenchStack, expected: number, quietMs: number, untilMs: number): Promise<number> {
  let last = -1;
  let changedAt = Date.now();
  for (;;) {
    const { accepted } = await stack.sim<{ accepted: number }>('GET', '/stats');
    if (accepted !== last) {
      last = accepted;
      changedAt = Date.now();
    }
    if (accepted >= expected || Date.now() - changedAt >= quietMs || Date.now() >= untilMs) return accepted;
    await sleep(250);
  }
}

interface SimMessage {
  to: string;
  body?: string;
  text?: string;
  receivedAt: string;
}

const messagesOf = async (stack: BenchStack, query: string) =>
  (await stack.sim<{ messages: SimMessage[] }>('GET', `/messages?${query}`)).messages;

/**
 * `scheduled-fire-lag-ms`: sends to one user each, on sms, whose `sendAt` are spread evenly over one minute that
 * starts 10 s plus 50 ms a send from now (time to post them, in `sendAt` order, and for their first workflow tasks);
 * each lag is its provider call minus its `sendAt`.
 */
export async function measureScheduledFireLag(
  stack: BenchStack,
  users: SeededUser[],
  sends: number,
  log: Log,
): Promise<ScheduledFireFigures> {
  await stack.sim('DELETE', '/messages');
  // Posting takes about 30 ms a send here, and each send's first workflow task (which starts its timer) runs after:
  // a send created just before its time waits for that queue, not for its timer. 10 s plus 50 ms a send ahead.
  const windowStart = Math.ceil((Date.now() + 10_000 + 50 * sends) / 1000) * 1000;
  const sendAtOf = (index: number) => windowStart + Math.floor((index * 60_000) / sends);
  let notScheduled = 0;
  const sendIds: (string | undefined)[] = [];
  await inParallel(sends, 10, async (index) => {
    const body = {
      ...smallSendBody(users[index].id, `fire-${index}`),
      sendAt: new Date(sendAtOf(index)).toISOString(),
    };
    const answer = await postJson(`${stack.apiUrl}/send`, body);
    sendIds[index] = answer.body.sendId as string | undefined;
    if (answer.status !== 202) {
      notScheduled++;
      if (notScheduled === 1) log(`  scheduled send answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
  });
  log(`  ${sends - notScheduled} sends scheduled over the minute from ${new Date(windowStart).toISOString()}`);
  await waitForMessages(stack, sends - notScheduled, Number.POSITIVE_INFINITY, windowStart + 60_000 + 60_000);
  const firstCall = new Map<string, number>();
  for (const message of await messagesOf(stack, `channel=sms&limit=${sends * 2 + 100}`)) {
    if (!firstCall.has(message.to)) firstCall.set(message.to, Date.parse(message.receivedAt));
  }
  const lags: number[] = [];
  const fired: { sendId: string; sendAt: number; calledAt: number }[] = [];
  for (let index = 0; index < sends; index++) {
    const at = firstCall.get(users[index].phoneNumber);
    if (at === undefined) continue;
    lags.push(at - sendAtOf(index));
    const sendId = sendIds[index];
    if (sendId) fired.push({ sendId, sendAt: sendAtOf(index), calledAt: at });
  }
  const steps = await fireLagSteps(stack, fired);
  return { sends, notScheduled, notFired: sends - notScheduled - lags.length, ...percentiles(lags), steps };
}

const eventMs = (time: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  time ? Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : Number.NaN;

/** The steps of `FireLagSteps`, from the workflow history of each fired send (its workflow id is its send id). */
async function fireLagSteps(
  stack: BenchStack,
  fired: { sendId: string; sendAt: number; calledAt: number }[],
): Promise<FireLagSteps> {
  const timer: number[] = [];
  const firstTask: number[] = [];
  const timerService: number[] = [];
  const begin: number[] = [];
  const audience: number[] = [];
  const dispatch: number[] = [];
  const beganAs = { activity: 0, local: 0 };
  await inParallel(fired.length, 5, async (index) => {
    const { sendId, sendAt, calledAt } = fired[index];
    const events = (await stack.temporal.workflow.getHandle(sendId).fetchHistory()).events ?? [];
    const activityNames = new Map<string, string>();
    let timerFiredAt = Number.NaN;
    let firstTaskStartedAt = Number.NaN;
    let timerDueAt = Number.NaN;
    let begunAt = Number.NaN;
    let dispatchStartedAt = Number.NaN;
    for (const event of events) {
      const at = eventMs(event.eventTime);
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) activityNames.set(String(event.eventId), scheduled.activityType?.name ?? '');
      if (event.workflowTaskStartedEventAttributes && Number.isNaN(firstTaskStartedAt)) firstTaskStartedAt = at;
      const timerStarted = event.timerStartedEventAttributes;
      if (timerStarted && Number.isNaN(timerDueAt)) {
        timerDueAt = at + eventMs(timerStarted.startToFireTimeout);
        firstTask.push(at - firstTaskStartedAt);
      }
      if (event.timerFiredEventAttributes && Number.isNaN(timerFiredAt)) {
        timerFiredAt = at;
        timerService.push(at - timerDueAt);
      }
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed && activityNames.get(String(completed.scheduledEventId)) === 'beginScheduledSend') {
        begunAt = at;
        beganAs.activity++;
      }
      // The first local activity after the timer is beginScheduledSend's (a patch's marker is another name).
      const marker = event.markerRecordedEventAttributes?.markerName;
      if (marker === 'core_local_activity' && !Number.isNaN(timerFiredAt) && Number.isNaN(begunAt)) {
        begunAt = at;
        beganAs.local++;
      }
      const started = event.activityTaskStartedEventAttributes;
      if (started && Number.isNaN(dispatchStartedAt)) {
        if (activityNames.get(String(started.scheduledEventId))?.startsWith('dispatch')) dispatchStartedAt = at;
      }
    }
    timer.push(timerFiredAt - sendAt);
    begin.push(begunAt - timerFiredAt);
    audience.push(dispatchStartedAt - begunAt);
    dispatch.push(calledAt - dispatchStartedAt);
  });
  return {
    timer: percentiles(timer),
    firstTask: percentiles(firstTask),
    timerService: percentiles(timerService),
    begin: percentiles(begin),
    audience: percentiles(audience),
    dispatch: percentiles(dispatch),
    beganAs,
  };
}

/**
 * `scheduled-wait-worker-cpu-s` and `scheduled-list-p99-ms`: `count` one-recipient sms sends scheduled 30 minutes
 * ahead (posted `concurrency` at a time), the worker's CPU over a minute while they all wait (against as long with
 * none waiting, read before), `GET /sends?status=scheduled` timed `listCalls` times one after the other, then every
 * send cancelled (`concurrency` at a time), so none fires.
 */
export async function measureScheduledWait(
  stack: BenchStack,
  users: SeededUser[],
  count: number,
  log: Log,
  { concurrency = 20, waitSeconds = 60, idleSeconds = 20, listCalls = 200, listBudgetMs = 120_000 } = {},
): Promise<ScheduledWaitFigures> {
  const workerPid = stack.worker?.pid;
  if (workerPid === undefined) throw new Error('the scheduled sends need a running worker');
  const cpuOf = (pid: number | undefined) => (pid === undefined ? undefined : sampleProcess(pid)?.cpuSeconds);
  const cpuOver = async (seconds: number) => {
    const [worker, temporal] = [cpuOf(workerPid), cpuOf(stack.pids.temporal)];
    await sleep(seconds * 1000);
    const [workerAfter, temporalAfter] = [cpuOf(workerPid), cpuOf(stack.pids.temporal)];
    return {
      worker: round((workerAfter ?? Number.NaN) - (worker ?? Number.NaN), 2),
      temporal: temporal === undefined || temporalAfter === undefined ? null : round(temporalAfter - temporal, 2),
    };
  };
  const idle = await cpuOver(idleSeconds);
  log(`  worker idle: ${idle.worker} CPU s over ${idleSeconds} s`);

  const sendAt = new Date(Date.now() + 30 * 60_000).toISOString();
  const sendIds: string[] = [];
  let notScheduled = 0;
  const createStarted = performance.now();
  await inParallel(count, concurrency, async (index) => {
    const body = { ...smallSendBody(users[index % users.length].id, `wait-${index}`), sendAt };
    const answer = await postJson(`${stack.apiUrl}/send`, body);
    if (answer.status === 202) sendIds.push(answer.body.sendId as string);
    else if (++notScheduled === 1) log(`  scheduled send answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    if ((index + 1) % 2000 === 0) log(`  ${index + 1} of ${count} scheduled sends posted`);
  });
  const createSeconds = round((performance.now() - createStarted) / 1000, 1);
  log(`  ${sendIds.length} sends scheduled for ${sendAt} in ${createSeconds} s`);
  // Each send's first workflow task (its timer) may still be queued: wait until the worker has run them all.
  const settled = await untilSettled(stack, cpuOver, 0.1, 900);
  log(`  first workflow tasks run ${settled} s after the last send was created`);
  const waiting = await cpuOver(waitSeconds);
  log(`  worker while ${sendIds.length} sends wait: ${waiting.worker} CPU s over ${waitSeconds} s`);

  const latencies: number[] = [];
  const listUntil = performance.now() + listBudgetMs;
  for (let call = 0; call < listCalls && performance.now() < listUntil; call++) {
    const t0 = performance.now();
    const response = await request(`${stack.apiUrl}/sends?status=scheduled&limit=50`);
    await response.body.text();
    latencies.push(performance.now() - t0);
    if (response.statusCode !== 200) throw new Error(`GET /sends?status=scheduled answered ${response.statusCode}`);
  }
  const list = { ...percentiles(latencies), calls: latencies.length };
  log(`  GET /sends?status=scheduled: p50 ${list.p50Ms} ms, p99 ${list.p99Ms} ms`);

  let cancelled = 0;
  const cancelStarted = performance.now();
  await inParallel(sendIds.length, concurrency, async (index) => {
    const response = await request(`${stack.apiUrl}/sends/${encodeURIComponent(sendIds[index])}`, {
      method: 'DELETE',
    });
    await response.body.text();
    if (response.statusCode === 200) cancelled++;
  });
  const cancelSeconds = round((performance.now() - cancelStarted) / 1000, 1);
  log(`  ${cancelled} cancelled in ${cancelSeconds} s`);
  // The cancelled sends' workflows end now (each marks its document): let the worker finish them first.
  await untilSettled(stack, cpuOver, 0.2, 900);
  const stillScheduled = await stack.database.sends.countDocuments({ _id: { $in: sendIds }, status: 'scheduled' });
  log(`  ${stillScheduled} still scheduled once their workflows ended`);
  return {
    sends: count,
    notScheduled,
    createSeconds,
    concurrency,
    idleCpuSeconds: idle.worker,
    idleSeconds,
    waitCpuSeconds: waiting.worker,
    waitSeconds,
    temporalWaitCpuSeconds: waiting.temporal,
    list,
    cancelled,
    cancelSeconds,
    stillScheduled,
  };
}

/**
 * Until the task queue has no workflow or activity task waiting and the worker used less than `cpuSeconds` in each of
 * two 2-second spans in a row, or `maxSeconds`; answers the seconds waited.
 */
async function untilSettled(
  stack: BenchStack,
  cpuOver: (seconds: number) => Promise<{ worker: number }>,
  cpuSeconds: number,
  maxSeconds: number,
): Promise<number> {
  const backlog = async (taskQueueType: 1 | 2) => {
    const { stats } = await stack.temporal.workflowService.describeTaskQueue({
      namespace: stack.config.env.TEMPORAL_NAMESPACE,
      taskQueue: { name: stack.config.env.TEMPORAL_TASK_QUEUE },
      taskQueueType,
      reportStats: true,
    });
    return Number(stats?.approximateBacklogCount ?? 0);
  };
  let spent = 0;
  for (let quiet = 0; quiet < 2 && spent < maxSeconds; spent += 2) {
    const { worker } = await cpuOver(2);
    const waiting = (await backlog(1)) + (await backlog(2));
    quiet = worker < cpuSeconds && waiting === 0 ? quiet + 1 : 0;
  }
  return spent;
}

/**
 * `cancel-stop-ms`: a 3-channel send to `recipients` users is cancelled once a tenth of its provider calls are
 * made; the calls the simulator records after the DELETE's answer are counted, and the last one timed.
 */
export async function measureCancelStop(stack: BenchStack, recipients: number, log: Log): Promise<CancelFigures> {
  await stack.sim('DELETE', '/messages');
  const started = await postJson(
    `${stack.apiUrl}/send`,
    { ...SEND_BODY, clusters: blockClusters(recipients) },
    { prefer: 'respond-async' },
  );
  const sendId = started.body.sendId as string | undefined;
  const workflowId = started.body.workflowId as string | undefined;
  if (started.status !== 202 || !sendId || !workflowId) throw new Error(`POST /send answered ${started.status}`);
  const threshold = Math.ceil((recipients * SEND_BODY.channels.length) / 10);
  let acceptedBeforeCancel = 0;
  const until = Date.now() + 300_000;
  while (Date.now() < until) {
    ({ accepted: acceptedBeforeCancel } = await stack.sim<{ accepted: number }>('GET', '/stats'));
    if (acceptedBeforeCancel >= threshold) break;
    await sleep(20);
  }
  const response = await request(`${stack.apiUrl}/sends/${encodeURIComponent(sendId)}`, { method: 'DELETE' });
  const answer = (await response.body.json()) as Pick<CancelFigures, 'cancelledWhile' | 'deliveries'>;
  const answeredAt = Date.now();
  log(`  cancelled at ${acceptedBeforeCancel} provider calls: ${response.statusCode} ${JSON.stringify(answer)}`);
  const closed = await Promise.race([
    stack.temporal.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => Date.now(),
        () => Date.now(),
      ),
    sleep(120_000).then(() => Number.NaN),
  ]);
  // Calls in flight finish (and retries give up) within seconds: wait until the simulator's count stands still.
  const acceptedAtEnd = await waitForMessages(stack, Number.POSITIVE_INFINITY, 3000, Date.now() + 60_000);
  const limit = (answer.deliveries?.inFlight ?? 0) + 5000;
  const times = (await messagesOf(stack, `limit=${limit}`)).map((message) => Date.parse(message.receivedAt));
  const after = times.filter((at) => at > answeredAt);
  return {
    recipients,
    acceptedBeforeCancel,
    status: response.statusCode,
    cancelledWhile: answer.cancelledWhile,
    deliveries: answer.deliveries,
    callsAfterAnswer: after.length,
    acceptedAtEnd,
    stopMs: after.length > 0 ? Math.max(...after) - answeredAt : 0,
    lastCallMs: times.length > 0 ? Math.max(...times) - answeredAt : Number.NaN,
    workflowClosedMs: closed - answeredAt,
  };
}

/**
 * `preferences-fanout-ratio`: the same send to the same users, first with no preferences stored, then with one
 * document per user (every tenth has sms off), which are removed afterwards so later figures do not read them.
 */
export async function measurePreferencesRatio(
  stack: BenchStack,
  users: SeededUser[],
  recipients: number,
  timeoutMs: number,
  log: Log,
): Promise<PreferencesFigures> {
  const body = { ...SEND_BODY, clusters: blockClusters(recipients) };
  const without = await runFanOut(stack, recipients, timeoutMs, log, { body });
  log(`  without preferences: ${without.deliveriesPerSecond} deliveries/s`);
  const ids = users.slice(0, recipients).map((user) => user.id);
  const updatedAt = new Date();
  for (let start = 0; start < ids.length; start += 1000) {
    await stack.database.preferences.insertMany(
      ids.slice(start, start + 1000).map((id, offset) => ({
        _id: id,
        channels: (start + offset) % 10 === 0 ? { sms: false } : {},
        categories: { marketing: { email: false } },
        updatedAt,
      })),
    );
  }
  try {
    const withPreferences = await runFanOut(stack, recipients, timeoutMs, log, { body });
    const donePerSecond = round((withPreferences.deliveries + withPreferences.skipped) / withPreferences.seconds, 1);
    log(`  with preferences: ${donePerSecond} deliveries/s (${withPreferences.skipped} skipped)`);
    return {
      recipients,
      optedOut: Math.ceil(recipients / 10),
      withoutPreferences: {
        deliveriesPerSecond: without.deliveriesPerSecond,
        deliveries: without.deliveries,
        partial: without.partial,
      },
      withPreferences: {
        donePerSecond,
        deliveries: withPreferences.deliveries,
        skipped: withPreferences.skipped,
        partial: withPreferences.partial,
      },
      ratio: round(donePerSecond / without.deliveriesPerSecond),
    };
  } finally {
    await stack.database.preferences.deleteMany({ _id: { $in: ids } });
  }
}

/**
 * `events-per-s` and `digest-flush-lag-ms`: `eventsPerUser` events for each of `users`, posted round robin over the
 * users by 10 connections for at most `budgetMs`, into fixed windows of `windowSeconds` on sms. Each flush's message
 * names its first event's time, so its window's end is that plus the window.
 */
export async function measureEvents(
  stack: BenchStack,
  users: SeededUser[],
  eventsPerUser: number,
  windowSeconds: number,
  budgetMs: number,
  log: Log,
): Promise<EventFigures> {
  await stack.sim('DELETE', '/messages');
  const events = users.length * eventsPerUser;
  const latencies: number[] = [];
  let notAccepted = 0;
  const started = performance.now();
  const progress = setInterval(() => log(`  ${latencies.length} of ${events} events answered`), 10_000);
  let skipped = 0;
  await inParallel(events, 10, async (index) => {
    if (performance.now() - started > budgetMs) {
      skipped++;
      return;
    }
    const user = users[index % users.length];
    const t0 = performance.now();
    const answer = await postJson(`${stack.apiUrl}/events`, {
      userId: user.id,
      digestKey: 'bench',
      channels: ['sms'],
      messageTitle: 'Digest',
      messageContent: 'digest {{data.firstEventAt}} {{data.eventCount}}',
      data: { index },
      digest: { window: `PT${windowSeconds}S` },
    });
    latencies.push(performance.now() - t0);
    if (answer.status !== 202) {
      notAccepted++;
      if (notAccepted === 1) log(`  POST /events answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
  }).finally(() => clearInterval(progress));
  const seconds = (performance.now() - started) / 1000;
  const accepted = events - skipped - notAccepted;
  log(`  ${accepted} events accepted in ${round(seconds, 1)} s; waiting for the last windows`);
  await sleep(windowSeconds * 1000);
  await waitForMessages(stack, Number.POSITIVE_INFINITY, 5000, Date.now() + 120_000);
  const lags: number[] = [];
  let eventsFlushed = 0;
  for (const message of await messagesOf(stack, `channel=sms&limit=${events + 1000}`)) {
    const match = /digest (\S+) (\d+)/.exec(message.body ?? message.text ?? '');
    if (!match) continue;
    lags.push(Date.parse(message.receivedAt) - (Date.parse(match[1]) + windowSeconds * 1000));
    eventsFlushed += Number(match[2]);
  }
  return {
    users: users.length,
    events,
    notPosted: skipped,
    accepted,
    notAccepted,
    seconds: round(seconds),
    eventsPerSecond: round(accepted / seconds, 1),
    latency: percentiles(latencies),
    windowMs: windowSeconds * 1000,
    flushLag: percentiles(lags),
    eventsFlushed,
  };
}

/** Every figure above, one after the other, on users already seeded (at least the largest of `sizes`). */
export async function measureTimeAware(
  stack: BenchStack,
  users: SeededUser[],
  sizes: TimeAwareSizes,
  fanOutTimeoutMs: number,
  log: Log,
): Promise<TimeAwareFigures> {
  const { scheduledWait, scheduledFireLag } = await measureScheduled(stack, users, sizes, log);
  const cancel = await measureCancelStop(stack, sizes.cancelRecipients, log);
  log(
    `cancel-stop: ${cancel.stopMs} ms, ${cancel.callsAfterAnswer} calls after the answer (inFlight ${cancel.deliveries?.inFlight}); ` +
      `${cancel.acceptedBeforeCancel} calls when the DELETE went, ${cancel.acceptedAtEnd} in all, the last ${cancel.lastCallMs} ms from the answer`,
  );
  const preferences = await measurePreferencesRatio(stack, users, sizes.preferencesRecipients, fanOutTimeoutMs, log);
  log(`preferences-fanout-ratio: ${preferences.ratio}`);
  const events = await measureEvents(
    stack,
    users.slice(0, sizes.digestUsers),
    sizes.eventsPerUser,
    sizes.digestWindowSeconds,
    sizes.eventsBudgetMs,
    log,
  );
  log(
    `events: ${events.eventsPerSecond} events/s (${events.notPosted} not posted in time), p99 ${events.latency.p99Ms} ms; flush lag p99 ${events.flushLag.p99Ms} ms ` +
      `(${events.flushLag.samples} flushes, ${events.eventsFlushed} of ${events.accepted} events)`,
  );
  return { scheduledWait, scheduledFireLag, cancel, preferences, events };
}

/** The scheduled sends' figures alone: many waiting, then a minute of them firing. */
export async function measureScheduled(
  stack: BenchStack,
  users: SeededUser[],
  sizes: Pick<TimeAwareSizes, 'waitingSends' | 'scheduledSends'>,
  log: Log,
): Promise<Pick<TimeAwareFigures, 'scheduledWait' | 'scheduledFireLag'>> {
  const scheduledWait =
    sizes.waitingSends > 0 ? await measureScheduledWait(stack, users, sizes.waitingSends, log) : null;
  if (scheduledWait) {
    log(
      `scheduled-wait: worker ${scheduledWait.waitCpuSeconds} CPU s over ${scheduledWait.waitSeconds} s with ${scheduledWait.sends} sends waiting ` +
        `(${scheduledWait.idleCpuSeconds} over ${scheduledWait.idleSeconds} s idle); GET /sends?status=scheduled p99 ${scheduledWait.list.p99Ms} ms (${scheduledWait.list.calls} calls)`,
    );
  }
  const scheduledFireLag = await measureScheduledFireLag(stack, users, sizes.scheduledSends, log);
  const { steps } = scheduledFireLag;
  log(
    `scheduled-fire-lag: p50 ${scheduledFireLag.p50Ms} ms, p99 ${scheduledFireLag.p99Ms} ms (${scheduledFireLag.samples} sends, ${scheduledFireLag.notFired} not fired); ` +
      `p50/p99 timer ${steps.timer.p50Ms}/${steps.timer.p99Ms} (first task ${steps.firstTask.p50Ms}/${steps.firstTask.p99Ms}, ` +
      `Temporal ${steps.timerService.p50Ms}/${steps.timerService.p99Ms}), begin ${steps.begin.p50Ms}/${steps.begin.p99Ms}, ` +
      `audience ${steps.audience.p50Ms}/${steps.audience.p99Ms}, dispatch ${steps.dispatch.p50Ms}/${steps.dispatch.p99Ms} ms`,
  );
  return { scheduledWait, scheduledFireLag };
}

/** The figures as the `bench:` line names them. */
export function timeAwareSummary(figures: TimeAwareFigures): Record<string, string | number> {
  return { ...scheduledSummary(figures), ...otherSummary(figures) };
}

/** The scheduled sends' figures as the `bench:` line names them. */
export function scheduledSummary(
  figures: Pick<TimeAwareFigures, 'scheduledWait' | 'scheduledFireLag'>,
): Record<string, string | number> {
  const { scheduledWait, scheduledFireLag } = figures;
  return {
    'scheduled-wait-worker-cpu-s': scheduledWait
      ? `${scheduledWait.waitCpuSeconds}/${scheduledWait.waitSeconds}`
      : 'n/a',
    'scheduled-list-p99-ms': scheduledWait ? Math.round(scheduledWait.list.p99Ms) : 'n/a',
    'scheduled-fire-lag-ms': `${Math.round(scheduledFireLag.p50Ms)}/${Math.round(scheduledFireLag.p99Ms)}`,
  };
}

function otherSummary(figures: TimeAwareFigures): Record<string, string | number> {
  const { cancel, preferences, events } = figures;
  return {
    'cancel-stop-ms': cancel.stopMs,
    'cancel-calls-after': `${cancel.callsAfterAnswer}/${cancel.deliveries?.inFlight ?? 'n/a'}`,
    'preferences-fanout-ratio': preferences.ratio,
    ...eventsSummary(events),
  };
}

/** The digests' figures as the `bench:` line names them. */
export function eventsSummary(events: TimeAwareFigures['events']): Record<string, string | number> {
  return {
    'events-per-s': events.eventsPerSecond,
    'events-p99-ms': Math.round(events.latency.p99Ms),
    'digest-flush-lag-ms': Math.round(events.flushLag.p99Ms),
  };
}
