import { request } from 'undici';
import { runFanOut } from './fanout';
import { round } from './proc-stats';
import { percentiles, type Percentiles } from './small-send';
import type { BenchStack } from './stack';
import { blockClusters, SEND_BODY, smallSendBody, type SeededUser } from './workload';

/**
 * The figures of sends that wait or stop: scheduled sends firing (`scheduled-fire-lag-ms`), a cancel stopping a
 * large send (`cancel-stop-ms`), a send reading every user's preferences (`preferences-fanout-ratio`), and events
 * gathered into digests (`events-per-s`, `digest-flush-lag-ms`). bench/README.md says how each is measured.
 */

export interface TimeAwareSizes {
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
 * starts 10 s from now (time to post them, in `sendAt` order); each lag is its provider call minus its `sendAt`.
 */
export async function measureScheduledFireLag(
  stack: BenchStack,
  users: SeededUser[],
  sends: number,
  log: Log,
): Promise<ScheduledFireFigures> {
  await stack.sim('DELETE', '/messages');
  const windowStart = Math.ceil((Date.now() + 10_000) / 1000) * 1000;
  const sendAtOf = (index: number) => windowStart + Math.floor((index * 60_000) / sends);
  let notScheduled = 0;
  await inParallel(sends, 10, async (index) => {
    const body = {
      ...smallSendBody(users[index].id, `fire-${index}`),
      sendAt: new Date(sendAtOf(index)).toISOString(),
    };
    const answer = await postJson(`${stack.apiUrl}/send`, body);
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
  for (let index = 0; index < sends; index++) {
    const at = firstCall.get(users[index].phoneNumber);
    if (at !== undefined) lags.push(at - sendAtOf(index));
  }
  return { sends, notScheduled, notFired: sends - notScheduled - lags.length, ...percentiles(lags) };
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
  const scheduledFireLag = await measureScheduledFireLag(stack, users, sizes.scheduledSends, log);
  log(
    `scheduled-fire-lag: p50 ${scheduledFireLag.p50Ms} ms, p99 ${scheduledFireLag.p99Ms} ms (${scheduledFireLag.samples} sends, ${scheduledFireLag.notFired} not fired)`,
  );
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
  return { scheduledFireLag, cancel, preferences, events };
}

/** The figures as the `bench:` line names them. */
export function timeAwareSummary(figures: TimeAwareFigures): Record<string, string | number> {
  const { scheduledFireLag, cancel, preferences, events } = figures;
  return {
    'scheduled-fire-lag-ms': `${Math.round(scheduledFireLag.p50Ms)}/${Math.round(scheduledFireLag.p99Ms)}`,
    'cancel-stop-ms': cancel.stopMs,
    'cancel-calls-after': `${cancel.callsAfterAnswer}/${cancel.deliveries?.inFlight ?? 'n/a'}`,
    'preferences-fanout-ratio': preferences.ratio,
    'events-per-s': events.eventsPerSecond,
    'events-p99-ms': Math.round(events.latency.p99Ms),
    'digest-flush-lag-ms': Math.round(events.flushLag.p99Ms),
  };
}
