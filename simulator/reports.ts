import { createHmac } from 'node:crypto';
import { z } from 'zod';

/**
 * Delivery reports, as the real providers send them: after accepting a message that names a status callback
 * (Twilio's `StatusCallback`, Infobip's `notifyUrl`), the simulator POSTs the provider's own report format to it a
 * little later (`delayMs`), retrying a few times when the receiver does not answer 2xx, and keeps a record of each
 * report (`GET /reports`). Reports go only to loopback hosts and to the hosts listed in `reportHosts`
 * (`SIMULATOR_REPORT_HOSTS`, e.g. the API's service name in docker compose): the simulator never posts to the
 * internet on anyone's say-so.
 */

export type ReportProvider = 'twilio' | 'infobip' | 'ses' | 'pinpoint';
/** `delivered` and `undelivered` are delivery reports; `seen` is WhatsApp's read report (Infobip sends it apart). */
export type ReportKind = 'delivered' | 'undelivered' | 'seen';

/** One report the simulator sent, or tried to send. */
export interface ReportRecord {
  seq: number;
  provider: ReportProvider;
  kind: ReportKind;
  /** The provider message id the report is about (Twilio's sid, Infobip's messageId). */
  messageId: string;
  to: string;
  url: string;
  contentType: string;
  headers: Record<string, string>;
  /** The body exactly as posted (form-encoded or JSON text). */
  body: string;
  /** `pending` until the first attempt ends; `skipped` when the URL's host is not allowed. */
  outcome: 'pending' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  /** The receiver's last HTTP status, when it answered. */
  lastStatus?: number;
  error?: string;
  scheduledAt: string;
  sentAt?: string;
}

/** Body of `PUT /reports/config`: each field given replaces that setting. */
export const reportConfigSchema = z.strictObject({
  /** Milliseconds between accepting a message and posting its delivery report. */
  delayMs: z.number().int().min(0).max(600_000).optional(),
  /** Milliseconds between the delivery report and WhatsApp's seen report. */
  seenDelayMs: z.number().int().min(0).max(600_000).optional(),
  /** Attempts per report, the first included. */
  maxAttempts: z.number().int().min(1).max(10).optional(),
  /** Milliseconds before the second attempt; doubled for each further one. */
  retryDelayMs: z.number().int().min(0).max(60_000).optional(),
  /**
   * Recipients whose report says the message was not delivered (Twilio `undelivered` 30003, Infobip UNDELIVERABLE,
   * an SES permanent bounce, Pinpoint `TEXT_UNREACHABLE`).
   */
  undeliverableAddresses: z.array(z.string()).optional(),
  /**
   * The HTTP(S) endpoint of the SNS subscription that SES and Pinpoint SMS events go to, signed as SNS signs them;
   * null (the default) sends none.
   */
  awsEventsUrl: z.url().nullable().optional(),
});
export type ReportConfigInput = z.infer<typeof reportConfigSchema>;

export interface ReportConfig {
  delayMs: number;
  seenDelayMs: number;
  maxAttempts: number;
  retryDelayMs: number;
  undeliverableAddresses: string[];
  awsEventsUrl: string | null;
}

const DEFAULT_CONFIG: ReportConfig = {
  delayMs: 500,
  seenDelayMs: 500,
  maxAttempts: 3,
  retryDelayMs: 500,
  undeliverableAddresses: [],
  awsEventsUrl: null,
};

/** How long one attempt may take: a receiver that hangs must not hold reports forever. */
const ATTEMPT_TIMEOUT_MS = 5_000;
const MAX_REPORTS = 10_000;

/** A report to send: everything but the bookkeeping. */
export interface NewReport {
  provider: ReportProvider;
  kind: ReportKind;
  messageId: string;
  to: string;
  url: string;
  contentType: string;
  headers?: Record<string, string>;
  body: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Twilio's request signature (`X-Twilio-Signature`): HMAC-SHA1 with the account's auth token over the full URL
 * followed by each POST parameter's name and value, sorted by name; base64.
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, key) => text + key + params[key], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Infobip's timestamps: `2026-01-31T12:00:00.000+0000`. */
export const infobipDate = (date = new Date()) => date.toISOString().replace('Z', '+0000');

export class DeliveryReporter {
  private config: ReportConfig = { ...DEFAULT_CONFIG, undeliverableAddresses: [] };
  private readonly reports: ReportRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private seq = 0;
  /** Bumped by `clear()`: attempts in flight from before it schedule no retry. */
  private generation = 0;

  constructor(private readonly extraHosts: readonly string[] = []) {}

  settings(): ReportConfig {
    return { ...this.config, undeliverableAddresses: [...this.config.undeliverableAddresses] };
  }

  configure(input: ReportConfigInput): ReportConfig {
    this.config = {
      ...this.config,
      ...Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)),
    };
    return this.settings();
  }

  isUndeliverable(to: string): boolean {
    return this.config.undeliverableAddresses.includes(to);
  }

  /** A URL the simulator may post to: http(s), on loopback or an allowed host. Otherwise why not. */
  refusalOf(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'not a URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${parsed.protocol} is not http(s)`;
    if (LOOPBACK.has(parsed.hostname) || this.extraHosts.includes(parsed.hostname)) return undefined;
    return `${parsed.hostname} is neither loopback nor in SIMULATOR_REPORT_HOSTS`;
  }

  /**
   * Records the report and posts it after `delay` (default `delayMs`); `then` runs once it was delivered (Infobip's
   * seen report follows its delivery report).
   */
  schedule(report: NewReport, options: { delayMs?: number; then?: () => void } = {}): ReportRecord {
    const record: ReportRecord = {
      ...report,
      headers: report.headers ?? {},
      seq: ++this.seq,
      outcome: 'pending',
      attempts: 0,
      scheduledAt: new Date().toISOString(),
    };
    this.reports.push(record);
    if (this.reports.length > MAX_REPORTS) this.reports.shift();
    const refusal = this.refusalOf(report.url);
    if (refusal) {
      record.outcome = 'skipped';
      record.error = refusal;
      return record;
    }
    const generation = this.generation;
    this.later(options.delayMs ?? this.config.delayMs, () => void this.attempt(record, generation, options.then));
    return record;
  }

  private later(ms: number, task: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(record: ReportRecord, generation: number, then?: () => void): Promise<void> {
    record.attempts += 1;
    try {
      const response = await fetch(record.url, {
        method: 'POST',
        headers: { 'content-type': record.contentType, 'user-agent': 'provider-simulator', ...record.headers },
        body: record.body,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        redirect: 'manual',
      });
      await response.arrayBuffer().catch(() => undefined);
      record.lastStatus = response.status;
      if (response.ok) {
        record.outcome = 'delivered';
        record.sentAt = new Date().toISOString();
        record.error = undefined;
        if (generation === this.generation) then?.();
        return;
      }
      record.error = `answered ${response.status}`;
    } catch (error) {
      record.error = (error as Error).message;
    }
    if (generation !== this.generation) return;
    if (record.attempts < this.config.maxAttempts) {
      const backoff = this.config.retryDelayMs * 2 ** (record.attempts - 1);
      this.later(backoff, () => void this.attempt(record, generation, then));
    } else {
      record.outcome = 'failed';
    }
  }

  query(filter: { provider?: string; messageId?: string; kind?: string } = {}): ReportRecord[] {
    return this.reports.filter(
      (report) =>
        (filter.provider === undefined || report.provider === filter.provider) &&
        (filter.messageId === undefined || report.messageId === filter.messageId) &&
        (filter.kind === undefined || report.kind === filter.kind),
    );
  }

  /** Forgets every report and cancels the pending ones; the settings stay. */
  clear(): void {
    this.generation += 1;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.reports.length = 0;
  }

  /** `clear()`, and the settings back to their defaults. */
  reset(): void {
    this.clear();
    this.config = { ...DEFAULT_CONFIG, undeliverableAddresses: [] };
  }
}
