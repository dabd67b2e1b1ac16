import { z } from 'zod';

export const FAULT_TARGETS = ['email', 'sms', 'push', 'voice', 'whatsapp', 'files', 'event', '*'] as const;

/** A channel name, `files` (the Files Service downloads), or `*` for every target. */
export type FaultTarget = (typeof FAULT_TARGETS)[number];

/** Body of `POST /faults`: every field given replaces that field of the target's fault state. */
export const faultSpecSchema = z.object({
  target: z.enum(FAULT_TARGETS),
  /** Fail the next N calls with `status`. */
  failNext: z.number().int().min(0).optional(),
  /** HTTP status of injected failures (default 503); SMTP maps 429 and 5xx to 451, other 4xx to 550. */
  status: z.number().int().min(400).max(599).optional(),
  /** Seconds, sent as the Retry-After header of injected HTTP failures. 0 removes it. */
  retryAfter: z.number().int().min(0).optional(),
  /** Every call fails for this many milliseconds from now (an outage). 0 ends an outage. */
  failForMs: z.number().int().min(0).optional(),
  /** Added to every call. */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** Recipients (phone numbers, email addresses, FCM tokens, event keys) refused permanently. */
  rejectAddresses: z.array(z.string()).optional(),
  /** Recipients who answered STOP: Twilio refuses to send to them (21610, "unsubscribed recipient"). */
  unsubscribedAddresses: z.array(z.string()).optional(),
  /** Destroy the connection of the next N calls without answering. */
  dropNext: z.number().int().min(0).optional(),
});

export type FaultSpec = z.infer<typeof faultSpecSchema>;

interface TargetFaults {
  failNext: number;
  status: number;
  retryAfter: number;
  failUntil: number;
  latencyMs: number;
  rejectAddresses: Set<string>;
  unsubscribedAddresses: Set<string>;
  dropNext: number;
}

/** One target's fault state as shown by `GET /faults`. */
export interface TargetFaultsView {
  failNext: number;
  status: number;
  retryAfter?: number;
  failUntil?: string;
  latencyMs: number;
  rejectAddresses: string[];
  unsubscribedAddresses: string[];
  dropNext: number;
}

/** What an injected failure should do to the current call. */
export type FailureDecision = { action: 'drop' } | { action: 'fail'; status: number; retryAfter?: number };

export const DEFAULT_FAULT_STATUS = 503;

/**
 * Holds the faults per target and decides, call by call, whether one applies. With no fault
 * configured every check is a single Map size test, so the healthy path stays cheap.
 */
export class FaultInjector {
  private byTarget = new Map<FaultTarget, TargetFaults>();

  get active(): boolean {
    return this.byTarget.size > 0;
  }

  set(spec: FaultSpec): Record<string, TargetFaultsView> {
    let t = this.byTarget.get(spec.target);
    if (!t) {
      t = {
        failNext: 0,
        status: DEFAULT_FAULT_STATUS,
        retryAfter: 0,
        failUntil: 0,
        latencyMs: 0,
        rejectAddresses: new Set(),
        unsubscribedAddresses: new Set(),
        dropNext: 0,
      };
      this.byTarget.set(spec.target, t);
    }
    if (spec.failNext !== undefined) t.failNext = spec.failNext;
    if (spec.status !== undefined) t.status = spec.status;
    if (spec.retryAfter !== undefined) t.retryAfter = spec.retryAfter;
    if (spec.failForMs !== undefined) t.failUntil = spec.failForMs > 0 ? Date.now() + spec.failForMs : 0;
    if (spec.latencyMs !== undefined) t.latencyMs = spec.latencyMs;
    if (spec.rejectAddresses !== undefined) t.rejectAddresses = new Set(spec.rejectAddresses.map(normalize));
    if (spec.unsubscribedAddresses !== undefined)
      t.unsubscribedAddresses = new Set(spec.unsubscribedAddresses.map(normalize));
    if (spec.dropNext !== undefined) t.dropNext = spec.dropNext;
    return this.snapshot();
  }

  clear(target?: FaultTarget): void {
    if (target) this.byTarget.delete(target);
    else this.byTarget.clear();
  }

  snapshot(): Record<string, TargetFaultsView> {
    const out: Record<string, TargetFaultsView> = {};
    const now = Date.now();
    for (const [target, t] of this.byTarget) {
      out[target] = {
        failNext: t.failNext,
        status: t.status,
        ...(t.retryAfter > 0 ? { retryAfter: t.retryAfter } : {}),
        ...(t.failUntil > now ? { failUntil: new Date(t.failUntil).toISOString() } : {}),
        latencyMs: t.latencyMs,
        rejectAddresses: [...t.rejectAddresses],
        unsubscribedAddresses: [...t.unsubscribedAddresses],
        dropNext: t.dropNext,
      };
    }
    return out;
  }

  /** Total latency to add to a call on `target` (its own plus the `*` one). */
  latencyFor(target: FaultTarget): number {
    if (this.byTarget.size === 0) return 0;
    return (this.byTarget.get(target)?.latencyMs ?? 0) + (this.byTarget.get('*')?.latencyMs ?? 0);
  }

  /**
   * Decides whether this call fails, consuming one `dropNext` or `failNext` when it does.
   * The target's own faults take precedence over `*`.
   */
  takeFailure(target: FaultTarget): FailureDecision | undefined {
    if (this.byTarget.size === 0) return undefined;
    const own = this.byTarget.get(target);
    const all = target === '*' ? undefined : this.byTarget.get('*');
    for (const t of [own, all]) {
      if (t && t.dropNext > 0) {
        t.dropNext -= 1;
        return { action: 'drop' };
      }
    }
    const now = Date.now();
    for (const t of [own, all]) {
      if (!t) continue;
      if (t.failNext > 0 || t.failUntil > now) {
        if (t.failNext > 0) t.failNext -= 1;
        return { action: 'fail', status: t.status, retryAfter: t.retryAfter > 0 ? t.retryAfter : undefined };
      }
    }
    return undefined;
  }

  /** True when `address` is in the target's (or `*`'s) permanent rejection list. */
  isRejected(target: FaultTarget, address: string | undefined): boolean {
    return this.listed(target, address, 'rejectAddresses');
  }

  /** True when `address` answered STOP on the target (or `*`). */
  isUnsubscribed(target: FaultTarget, address: string | undefined): boolean {
    return this.listed(target, address, 'unsubscribedAddresses');
  }

  private listed(
    target: FaultTarget,
    address: string | undefined,
    list: 'rejectAddresses' | 'unsubscribedAddresses',
  ): boolean {
    if (this.byTarget.size === 0 || address === undefined) return false;
    const a = normalize(address);
    return (this.byTarget.get(target)?.[list].has(a) ?? false) || (this.byTarget.get('*')?.[list].has(a) ?? false);
  }
}

// Email addresses compare case-insensitively; lowercasing leaves phone numbers alone, and FCM tokens
// that differ only in case do not occur in practice.
function normalize(address: string): string {
  return address.trim().toLowerCase();
}
