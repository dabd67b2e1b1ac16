import type { DigestEvent, DigestSettings, DigestSnapshot } from '../common/temporal/digest-definitions';

/** A pending event as the digest keeps it: its id and when the API accepted it. */
export interface PendingDigestEvent {
  eventId: string;
  receivedAt: number;
}

/**
 * What a digest holds between flushes, carried across `continueAsNew`: the pending events in arrival order and, while
 * there are any, the settings of the event that opened the batch and when the batch flushes. Ids and times only.
 */
export interface DigestState {
  pending: PendingDigestEvent[];
  /** The settings of the batch's first event; absent with none pending. */
  settings?: DigestSettings;
  /** When the batch opened (workflow time, epoch ms). */
  openedAt?: number;
  flushAt?: number;
  /** The store shows this digest as waiting (`recordDigestWaiting`) and has not been told since that it is not. */
  storeSaysWaiting: boolean;
  flushCount: number;
  lastFlushAt?: number;
  /** The ids of the latest events flushed or removed, newest last: a repeated signal of one of them is ignored. */
  doneIds: string[];
}

/** How many flushed or removed event ids a digest remembers, to ignore an event signalled again. */
export const DONE_IDS_KEPT = 2000;

export const newDigestState = (): DigestState => ({ pending: [], storeSaysWaiting: false, flushCount: 0, doneIds: [] });

/**
 * When a batch opened at `now` flushes: at once under a look-back that saw nothing sent in its span, else at the
 * scheduled time, else at the end of the window.
 */
export function firstFlushAt(settings: DigestSettings, now: number, lastFlushAt: number | undefined): number {
  if (settings.lookBackMs !== undefined && (lastFlushAt === undefined || now - lastFlushAt >= settings.lookBackMs)) {
    return now;
  }
  if (settings.atFlushAt !== undefined) return settings.atFlushAt;
  return now + (settings.windowMs ?? 0);
}

/** Records events as done, so that a signal of one of them after is ignored (a flush took it from the inbox). */
export function rememberDigestEvents(state: DigestState, ids: string[]): void {
  state.doneIds.push(...ids);
  if (state.doneIds.length > DONE_IDS_KEPT) state.doneIds.splice(0, state.doneIds.length - DONE_IDS_KEPT);
}

function openBatch(state: DigestState, settings: DigestSettings, now: number): void {
  state.settings = settings;
  state.openedAt = now;
  state.flushAt = firstFlushAt(settings, now, state.lastFlushAt);
}

function closeBatch(state: DigestState): void {
  delete state.settings;
  delete state.openedAt;
  delete state.flushAt;
}

/**
 * Takes an event into the digest at workflow time `now`; a repeat of a pending, flushed or removed one is ignored. The
 * first event opens the batch; each further one moves a sliding window's end, never past `maxWindow`.
 */
export function addDigestEvent(state: DigestState, event: DigestEvent, now: number): 'added' | 'repeated' {
  const { eventId, receivedAt } = event;
  if (state.pending.some((pending) => pending.eventId === eventId) || state.doneIds.includes(eventId)) {
    return 'repeated';
  }
  state.pending.push({ eventId, receivedAt });
  if (state.pending.length === 1) {
    openBatch(state, event.settings, now);
  } else if (state.settings?.sliding && state.settings.windowMs !== undefined && state.openedAt !== undefined) {
    const latest = state.openedAt + (state.settings.maxWindowMs ?? state.settings.windowMs);
    state.flushAt = Math.min(now + state.settings.windowMs, latest);
  }
  return 'added';
}

/** The look-back's decision needs the last flush, which a new run learns only after its batch opened: decide again. */
export function reconsiderOpenBatch(state: DigestState): void {
  if (state.settings && state.openedAt !== undefined && state.pending.length > 0) {
    state.flushAt = firstFlushAt(state.settings, state.openedAt, state.lastFlushAt);
  }
}

/**
 * Takes back the events of a batch's inbox when its signalled events were all removed: they open the batch again,
 * which keeps the end it had (`flushAt`, when the store still showed it).
 */
export function reopenDigestBatch(
  state: DigestState,
  events: DigestEvent[],
  flushAt: number | null,
  now: number,
): void {
  for (const event of [...events].sort((a, b) => a.receivedAt - b.receivedAt)) addDigestEvent(state, event, now);
  if (flushAt !== null && state.pending.length > 0 && !state.settings?.sliding) state.flushAt = flushAt;
}

/** Removes a pending event; the batch closes when it was the last. Whether it was pending. */
export function removeDigestEvent(state: DigestState, eventId: string): boolean {
  const index = state.pending.findIndex((pending) => pending.eventId === eventId);
  if (index < 0) return false;
  state.pending.splice(index, 1);
  rememberDigestEvents(state, [eventId]);
  if (state.pending.length === 0) closeBatch(state);
  return true;
}

/** Whether the batch flushes now: its time has come or it holds `maxEvents`. */
export function isDigestDue(state: DigestState, now: number): boolean {
  if (state.pending.length === 0 || !state.settings || state.flushAt === undefined) return false;
  return state.pending.length >= state.settings.maxEvents || now >= state.flushAt;
}

/**
 * Takes the next flush's events, the first `maxEvents` pending, and numbers the flush. What stays pending (a burst
 * larger than `maxEvents`) opens the next batch, as after any flush.
 */
export function takeDigestFlush(
  state: DigestState,
  now: number,
): { events: PendingDigestEvent[]; flushNumber: number } {
  const maxEvents = state.settings?.maxEvents ?? state.pending.length;
  const events = state.pending.splice(0, maxEvents);
  rememberDigestEvents(
    state,
    events.map((event) => event.eventId),
  );
  state.flushCount += 1;
  state.lastFlushAt = now;
  const settings = state.settings;
  closeBatch(state);
  if (state.pending.length > 0 && settings) openBatch(state, settings, now);
  return { events, flushNumber: state.flushCount };
}

export function digestSnapshot(digestId: string, state: DigestState): DigestSnapshot {
  return {
    digestId,
    pendingEventIds: state.pending.map((pending) => pending.eventId),
    flushAt: state.pending.length > 0 ? (state.flushAt ?? null) : null,
    flushCount: state.flushCount,
    lastFlushAt: state.lastFlushAt ?? null,
  };
}
