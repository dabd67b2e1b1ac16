/** Channels the simulator records messages for. */
export type SimulatorChannel = 'email' | 'sms' | 'push' | 'voice' | 'whatsapp' | 'event';

/** Providers the simulator plays. */
export type SimulatorProvider =
  'smtp' | 'ses' | 'twilio' | 'kaleyra' | 'pinpoint' | 'fcm' | 'infobip' | 'mia-sms-service' | 'flow-manager';

export const SIMULATOR_CHANNELS: readonly SimulatorChannel[] = ['email', 'sms', 'push', 'voice', 'whatsapp', 'event'];

export interface RecordedAttachment {
  filename?: string;
  contentType: string;
  size: number;
  /** md5 of the content, so tests can check the bytes arrived intact without the simulator keeping them. */
  checksum?: string;
}

/** One message accepted by a simulated provider. */
export interface SimulatorRecord {
  /** The id the provider answered with (Twilio sid, FCM message id, SMTP queue id, ...). */
  id: string;
  /** Monotonic sequence number, increasing in arrival order. */
  seq: number;
  channel: SimulatorChannel;
  provider: SimulatorProvider;
  /** Recipient: phone number, FCM token, flow-manager key, or the email To header address(es) joined by ', '. */
  to: string;
  from?: string;
  subject?: string;
  text?: string;
  html?: string;
  cc?: string[];
  /** Email: envelope recipients that are neither in To nor in Cc. */
  bcc?: string[];
  /** Email: every RCPT TO address of the envelope. */
  envelopeTo?: string[];
  /** Email: the Message-ID header. */
  messageId?: string;
  attachments?: RecordedAttachment[];
  /** Email: the `List-*` headers (RFC 2369, RFC 8058) as written, by lower-cased name. */
  listHeaders?: Record<string, string>;
  title?: string;
  body?: string;
  subtitle?: string;
  data?: Record<string, unknown>;
  /** The parsed request body or provider-specific fields (e.g. the whole FCM message). */
  raw?: Record<string, unknown>;
  receivedAt: string;
}

export type NewRecord = Omit<SimulatorRecord, 'seq' | 'receivedAt'>;

/** Filters for {@link Recorder.query} and {@link Recorder.count}. */
export interface RecordFilter {
  channel?: string;
  provider?: string;
  /** Matches `to` exactly, or (email) any envelope recipient, case-insensitively. */
  to?: string;
}

function matches(r: SimulatorRecord, f: RecordFilter, toLower: string | undefined): boolean {
  if (f.channel !== undefined && r.channel !== f.channel) return false;
  if (f.provider !== undefined && r.provider !== f.provider) return false;
  if (toLower !== undefined && r.to.toLowerCase() !== toLower) {
    if (!r.envelopeTo || !r.envelopeTo.some((a) => a.toLowerCase() === toLower)) return false;
  }
  return true;
}

/**
 * In-memory ring buffer of records: O(1) append, oldest dropped beyond capacity, so a long
 * benchmark cannot exhaust memory.
 */
export class Recorder {
  private buf: SimulatorRecord[] = [];
  /** Index of the oldest record once the buffer has wrapped. */
  private start = 0;
  private seq = 0;
  private byChannel = new Map<string, number>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`maxRecords must be a positive integer`);
  }

  get size(): number {
    return this.buf.length;
  }

  add(input: NewRecord): SimulatorRecord {
    this.seq += 1;
    const record = input as SimulatorRecord;
    record.seq = this.seq;
    record.receivedAt = new Date().toISOString();
    if (this.buf.length < this.capacity) {
      this.buf.push(record);
    } else {
      const evicted = this.buf[this.start];
      this.byChannel.set(evicted.channel, (this.byChannel.get(evicted.channel) ?? 1) - 1);
      this.buf[this.start] = record;
      this.start = (this.start + 1) % this.capacity;
    }
    this.byChannel.set(record.channel, (this.byChannel.get(record.channel) ?? 0) + 1);
    return record;
  }

  /** The newest `limit` matching records, oldest first. */
  query(filter: RecordFilter = {}, limit = 1000): SimulatorRecord[] {
    const out: SimulatorRecord[] = [];
    const toLower = filter.to?.toLowerCase();
    const n = this.buf.length;
    // Walk newest to oldest so a small limit stops early even with a full buffer.
    for (let i = n - 1; i >= 0 && out.length < limit; i--) {
      const r = this.buf[(this.start + i) % n];
      if (matches(r, filter, toLower)) out.push(r);
    }
    return out.reverse();
  }

  count(filter: RecordFilter = {}): number {
    if (filter.provider === undefined && filter.to === undefined) {
      if (filter.channel === undefined) return this.buf.length;
      return this.byChannel.get(filter.channel) ?? 0;
    }
    const toLower = filter.to?.toLowerCase();
    let c = 0;
    for (const r of this.buf) if (matches(r, filter, toLower)) c++;
    return c;
  }

  clear(): void {
    this.buf = [];
    this.start = 0;
    this.byChannel.clear();
  }
}
