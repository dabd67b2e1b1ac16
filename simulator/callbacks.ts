import { z } from 'zod';

/**
 * The callback catcher: a receiver for the service's signed status callbacks (`POST /messages` `callback.url`), like
 * webhook.site. `POST /callbacks` and `POST /callbacks/:name` keep each call, with the body exactly as received (the
 * signature is over it), answer 204, or the status of a fault set for that name, so the service's retries show.
 */

/** The request headers kept of a caught callback: the ones a receiver checks. */
export const CAUGHT_HEADERS = ['x-signature', 'x-timestamp', 'content-type', 'user-agent'] as const;
export type CaughtHeader = (typeof CAUGHT_HEADERS)[number];

/** One call to `POST /callbacks[/:name]`. */
export interface CaughtCallback {
  seq: number;
  /** The `:name` of the URL, `default` for `POST /callbacks`. */
  name: string;
  receivedAt: string;
  /** What the simulator answered: 204, or the status of an injected fault. */
  answered: number;
  /** Those of `CAUGHT_HEADERS` the call had. */
  headers: Partial<Record<CaughtHeader, string>>;
  /** The request body exactly as received (`''` when there was none). */
  body: string;
}

/** Body of `PUT /callbacks/faults`: answer the next `failNext` calls to `name` with `status`; 0 removes the fault. */
export const callbackFaultSchema = z.strictObject({
  name: z.string().min(1).max(100).default('default'),
  failNext: z.number().int().min(0).max(1_000_000),
  status: z.number().int().min(400).max(599).default(503),
});
export type CallbackFaultInput = z.input<typeof callbackFaultSchema>;

export interface CallbackFault {
  failNext: number;
  status: number;
}

export const DEFAULT_CALLBACK_NAME = 'default';
const OK_STATUS = 204;

export class CallbackCatcher {
  private readonly calls: CaughtCallback[] = [];
  private readonly faults = new Map<string, CallbackFault>();
  private seq = 0;

  constructor(private readonly maxCalls = 10_000) {}

  get size(): number {
    return this.calls.length;
  }

  /** Keeps the call (dropping the oldest beyond `maxCalls`) and decides what to answer, consuming one fault. */
  catch(name: string, headers: Record<string, string | string[] | undefined>, body: string): CaughtCallback {
    const kept: Partial<Record<CaughtHeader, string>> = {};
    for (const header of CAUGHT_HEADERS) {
      const value = headers[header];
      if (value !== undefined) kept[header] = Array.isArray(value) ? value.join(', ') : value;
    }
    const fault = this.faults.get(name);
    let answered = OK_STATUS;
    if (fault) {
      answered = fault.status;
      fault.failNext -= 1;
      if (fault.failNext <= 0) this.faults.delete(name);
    }
    const call: CaughtCallback = {
      seq: ++this.seq,
      name,
      receivedAt: new Date().toISOString(),
      answered,
      headers: kept,
      body,
    };
    this.calls.push(call);
    if (this.calls.length > this.maxCalls) this.calls.shift();
    return call;
  }

  /** The calls, oldest first; with `name`, that name's only; with `limit`, the newest `limit`. */
  query(name?: string, limit?: number): CaughtCallback[] {
    const matching = name === undefined ? [...this.calls] : this.calls.filter((call) => call.name === name);
    return limit === undefined ? matching : matching.slice(Math.max(0, matching.length - limit));
  }

  setFault(input: CallbackFaultInput): Record<string, CallbackFault> {
    const { name, failNext, status } = callbackFaultSchema.parse(input);
    if (failNext === 0) this.faults.delete(name);
    else this.faults.set(name, { failNext, status });
    return this.faultSnapshot();
  }

  faultSnapshot(): Record<string, CallbackFault> {
    return Object.fromEntries([...this.faults].map(([name, fault]) => [name, { ...fault }]));
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Forgets the calls; the faults stay. */
  clear(): void {
    this.calls.length = 0;
  }

  /** Forgets the calls and the faults. */
  reset(): void {
    this.clear();
    this.clearFaults();
  }
}

/** The `status` field of a JSON body (the service's callbacks carry one), if there is one. */
export function statusOfBody(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const status = (parsed as Record<string, unknown>).status;
      if (typeof status === 'string' || typeof status === 'number') return String(status);
    }
  } catch {
    // not JSON
  }
  return undefined;
}
