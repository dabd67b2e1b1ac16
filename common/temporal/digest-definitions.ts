import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The `digest` workflow's contract: its signals and query, and the shapes they carry. The workflow handles them and
 * the API sends them through these definitions, never by name. Free of Node modules, since the workflow bundle imports
 * it. The names are on the wire and in recorded histories: they stay.
 */

/**
 * When a digest flushes, as the API read it from the event that opened the digest's batch (durations in ms). Exactly
 * one of `windowMs` and `atFlushAt` is set.
 */
export interface DigestSettings {
  /** The window: fixed from the batch's first event, or extended by each event when `sliding`. */
  windowMs?: number;
  sliding?: boolean;
  /** A sliding window never ends later than this after the batch's first event. */
  maxWindowMs?: number;
  /** When nothing of this digest was sent in the last `lookBackMs`, the batch's first event goes at once. */
  lookBackMs?: number;
  /** A scheduled digest: the next time (epoch ms) its user's clocks show `at`, from the event's arrival. */
  atFlushAt?: number;
  /** Reaching this many pending events flushes at once. */
  maxEvents: number;
}

/** One accepted event for one user's digest: ids and times only, never the event's data. */
export interface DigestEvent {
  eventId: string;
  /** When the API accepted it (epoch ms). */
  receivedAt: number;
  settings: DigestSettings;
}

/** What the `pendingEvents` query answers: ids, never personal data. */
export interface DigestSnapshot {
  digestId: string;
  /** The pending events' ids, in arrival order. */
  pendingEventIds: string[];
  /** When the pending events flush (epoch ms); null with none pending. */
  flushAt: number | null;
  flushCount: number;
  /** When the last flush went (epoch ms), in this run or before it. */
  lastFlushAt: number | null;
}

/** An event for the digest; signal-with-start delivers it, so two events of the same instant meet in one workflow. */
export const digestEventSignal = defineSignal<[DigestEvent]>('digestEvent');

/** Removes a pending event (`DELETE /events/:eventId`); one already flushed, or unknown, is left alone. */
export const removeDigestEventSignal = defineSignal<[{ eventId: string }]>('removeDigestEvent');

/** Flushes the pending events now (`POST /digests/:id/flush`). */
export const flushDigestNowSignal = defineSignal('flushDigestNow');

/** Drops the pending events unsent and ends the digest (`DELETE /digests/:id`). */
export const discardDigestSignal = defineSignal('discardDigest');

/** The pending events' ids and the flush time, for the API and the Temporal UI's Queries tab. */
export const pendingEventsQuery = defineQuery<DigestSnapshot>('pendingEvents');

/**
 * The send id of a digest's `flushNumber`th flush (1, 2, …): derived, so a flush retried after a crash finds its send
 * instead of starting a second one. `digestId` is `digest-<hash>` (common/temporal/workflow-ids.ts).
 */
export const digestFlushSendId = (digestId: string, flushNumber: number): string => `send-${digestId}-${flushNumber}`;

/** The most events `maxEvents` may ask for, and its default. */
export const MAX_DIGEST_EVENTS = 1000;
export const DEFAULT_DIGEST_EVENTS = 100;
