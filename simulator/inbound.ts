import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SimulatorRecord } from './recorder';
import { infobipDate } from './reports';

/**
 * Inbound WhatsApp messages, as Infobip forwards them: a customer answers the business, and Infobip POSTs the message
 * to the URL configured for the business number, in its own format (`{ results: [{ from, to, integrationType:
 * "WHATSAPP", receivedAt, messageId, pairedMessageId, callbackData, message: { type, text, … }, price }],
 * messageCount, pendingMessageCount }`, numbers as digits without `+`). Here a person or a test plays the customer
 * (`POST /whatsapp/reply`), the simulator posts the call at once and keeps a record of it with the receiver's answer
 * (`GET /whatsapp/replies`). Like the delivery reports, it posts only to loopback and `SIMULATOR_REPORT_HOSTS`.
 */

const phone = z
  .string()
  .trim()
  .regex(/^\+?[\d\s()-]{4,30}$/, 'must be a phone number');

/** Body of `PUT /whatsapp/inbound`: where inbound messages to `from` (a business number) go, or to any without it. */
export const inboundConfigSchema = z.strictObject({
  url: z.string().min(1).max(2000),
  from: phone.optional(),
});

/** One customer message: an answer to a recorded WhatsApp message (`messageId`), or from `from` to `to`. */
export const replySchema = z.strictObject({
  /** The recorded WhatsApp message answered: its recipient answers its sender, and the reply is paired with it. */
  messageId: z.string().min(1).max(200).optional(),
  /** The business number written to; the answered message's sender by default. */
  to: phone.optional(),
  /** The customer; the answered message's recipient by default. */
  from: phone.optional(),
  /** What the customer wrote; a medium's caption (optional there); none for a location. */
  text: z.string().min(1).max(4096).optional(),
  /**
   * `BUTTON`: the customer tapped a quick-reply button whose label is `text` (and `payload`, its payload).
   * `IMAGE`, `DOCUMENT`, `AUDIO`, `VIDEO`: a medium at `mediaUrl`; `LOCATION`: `latitude` and `longitude`.
   */
  type: z.enum(['TEXT', 'BUTTON', 'IMAGE', 'DOCUMENT', 'AUDIO', 'VIDEO', 'LOCATION']).default('TEXT'),
  payload: z.string().min(1).max(1000).optional(),
  mediaUrl: z.url().max(2000).optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  /** Posts to this URL instead of the configured one. */
  url: z.string().min(1).max(2000).optional(),
});
export type ReplyInput = z.infer<typeof replySchema>;

/** Body of `POST /whatsapp/replies`: several messages in one call, as Infobip may batch them. */
export const repliesSchema = z.strictObject({
  replies: z
    .array(replySchema.omit({ url: true }))
    .min(1)
    .max(100),
  url: z.string().min(1).max(2000).optional(),
});

/** One result of an inbound call, in Infobip's shape. */
export interface InboundResult {
  from: string;
  to: string;
  integrationType: 'WHATSAPP';
  receivedAt: string;
  messageId: string;
  pairedMessageId: string | null;
  callbackData: string | null;
  message:
    | { type: 'TEXT'; text: string }
    | { type: 'BUTTON'; text: string; payload: string }
    | { type: 'IMAGE' | 'DOCUMENT' | 'AUDIO' | 'VIDEO'; url: string; caption?: string }
    | { type: 'LOCATION'; latitude: number; longitude: number };
  price: { pricePerMessage: number; currency: string };
}

/** One call the simulator made to an inbound URL. */
export interface InboundCall {
  seq: number;
  url: string;
  /** The body exactly as posted. */
  body: string;
  results: {
    messageId: string;
    from: string;
    to: string;
    type: string;
    text: string;
    pairedMessageId: string | null;
  }[];
  postedAt: string;
  /** `delivered`: the receiver answered 2xx. */
  outcome: 'delivered' | 'failed';
  /** The receiver's HTTP status, when it answered. */
  answered?: number;
  error?: string;
  /** The call this one repeats (`POST /whatsapp/replies/:seq/resend`). */
  resendOf?: number;
}

/** The Infobip `message` of one reply, or a 400 naming the field it lacks (`replies[0].mediaUrl`). */
function messageOf(reply: Omit<ReplyInput, 'url'>, field: (name: string) => string): InboundResult['message'] {
  const { type, text } = reply;
  if (type === 'TEXT' || type === 'BUTTON') {
    if (text === undefined) throw new ReplyRefusal(400, `${field('text')}: required for a ${type}`);
    return type === 'BUTTON' ? { type, text, payload: reply.payload ?? text } : { type, text };
  }
  if (type === 'LOCATION') {
    if (reply.latitude === undefined || reply.longitude === undefined)
      throw new ReplyRefusal(400, `${field('latitude')}: latitude and longitude are required for a LOCATION`);
    return { type, latitude: reply.latitude, longitude: reply.longitude };
  }
  if (reply.mediaUrl === undefined) throw new ReplyRefusal(400, `${field('mediaUrl')}: required for an ${type}`);
  return { type, url: reply.mediaUrl, ...(text !== undefined ? { caption: text } : {}) };
}

/** Why a reply cannot be made: the HTTP status and the message naming the field. */
export class ReplyRefusal extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

const ATTEMPT_TIMEOUT_MS = 5_000;
const MAX_CALLS = 10_000;

/** A number as Infobip writes it: digits only. */
export const digits = (number: string): string => number.replace(/\D/g, '').replace(/^00/, '');

export class InboundReplies {
  /** Inbound URL per business number (digits); `''` is the default for any number. */
  private readonly urls = new Map<string, string>();
  private readonly calls: InboundCall[] = [];
  private seq = 0;

  /** `refusalOf(url)`: why the simulator may not post there (the delivery reports' rule), or undefined. */
  constructor(private readonly refusalOf: (url: string) => string | undefined) {}

  configure(input: z.infer<typeof inboundConfigSchema>): Record<string, string> {
    const refusal = this.refusalOf(input.url);
    if (refusal) throw new ReplyRefusal(400, `url: ${refusal}`);
    this.urls.set(input.from === undefined ? '' : digits(input.from), input.url);
    return this.settings();
  }

  /** The configured URLs by business number, `default` for the one of any number. */
  settings(): Record<string, string> {
    return Object.fromEntries([...this.urls].map(([number, url]) => [number || 'default', url]));
  }

  /**
   * The Infobip results of these replies and the one URL they go to. `findMessage` finds a recorded WhatsApp message
   * by its id (a reply's `messageId`).
   */
  prepare(
    replies: Omit<ReplyInput, 'url'>[],
    url: string | undefined,
    findMessage: (id: string) => SimulatorRecord | undefined,
    path: (index: number, field: string) => string,
  ): { url: string; results: InboundResult[] } {
    const results = replies.map((reply, index) => {
      let answered: SimulatorRecord | undefined;
      if (reply.messageId !== undefined) {
        answered = findMessage(reply.messageId);
        if (!answered) {
          throw new ReplyRefusal(
            404,
            `${path(index, 'messageId')}: no WhatsApp message ${reply.messageId} was recorded`,
          );
        }
      }
      const from = reply.from ?? answered?.to;
      const to = reply.to ?? answered?.from;
      if (!from) throw new ReplyRefusal(400, `${path(index, 'from')}: required without messageId`);
      if (!to) throw new ReplyRefusal(400, `${path(index, 'to')}: required without messageId`);
      const callbackData = answered?.raw?.callbackData;
      const result: InboundResult = {
        from: digits(from),
        to: digits(to),
        integrationType: 'WHATSAPP',
        receivedAt: infobipDate(),
        messageId: `ABEG${randomBytes(15).toString('base64url')}`,
        pairedMessageId: answered?.id ?? null,
        callbackData: typeof callbackData === 'string' ? callbackData : null,
        message: messageOf(reply, (name) => path(index, name)),
        price: { pricePerMessage: 0, currency: 'EUR' },
      };
      return result;
    });
    const targets = new Set(results.map((result) => url ?? this.urls.get(result.to) ?? this.urls.get('')));
    if (targets.size > 1) {
      throw new ReplyRefusal(400, 'replies: these business numbers have different inbound URLs; post them apart');
    }
    const [target] = targets;
    if (target === undefined) {
      throw new ReplyRefusal(
        409,
        `url: no inbound URL for ${results[0].to}; PUT /whatsapp/inbound { url } (the provider's inboundWebhookUrl) first, or give url`,
      );
    }
    const refusal = this.refusalOf(target);
    if (refusal) throw new ReplyRefusal(400, `url: ${refusal}`);
    return { url: target, results };
  }

  /** Posts the results in one call, as Infobip does, and records it with the receiver's answer. */
  async post(url: string, results: InboundResult[]): Promise<InboundCall> {
    const body = JSON.stringify({ results, messageCount: results.length, pendingMessageCount: 0 });
    return this.send(url, body, results);
  }

  /** Posts a recorded call's body again, as a provider does when it believes the first did not arrive. */
  async resend(seq: number): Promise<InboundCall> {
    const original = this.calls.find((call) => call.seq === seq);
    if (!original) throw new ReplyRefusal(404, `seq: no inbound call ${seq} is recorded`);
    return this.send(original.url, original.body, JSON.parse(original.body).results as InboundResult[], seq);
  }

  private async send(url: string, body: string, results: InboundResult[], resendOf?: number): Promise<InboundCall> {
    const call: InboundCall = {
      seq: ++this.seq,
      url,
      body,
      results: results.map(({ messageId, from, to, message, pairedMessageId }) => ({
        messageId,
        from,
        to,
        type: message.type,
        text: 'text' in message ? message.text : 'caption' in message ? (message.caption ?? '') : '',
        pairedMessageId,
      })),
      postedAt: new Date().toISOString(),
      outcome: 'failed',
      ...(resendOf !== undefined ? { resendOf } : {}),
    };
    this.calls.push(call);
    if (this.calls.length > MAX_CALLS) this.calls.shift();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'provider-simulator' },
        body,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        redirect: 'manual',
      });
      await response.arrayBuffer().catch(() => undefined);
      call.answered = response.status;
      if (response.ok) call.outcome = 'delivered';
      else call.error = `answered ${response.status}`;
    } catch (error) {
      call.error = (error as Error).message;
    }
    return call;
  }

  /** The calls, oldest first; with `number`, those with a result from or to it; with `limit`, the newest `limit`. */
  query(number?: string, limit?: number): InboundCall[] {
    const wanted = number === undefined ? undefined : digits(number);
    const matching =
      wanted === undefined
        ? [...this.calls]
        : this.calls.filter((call) => call.results.some((result) => result.from === wanted || result.to === wanted));
    return limit === undefined ? matching : matching.slice(Math.max(0, matching.length - limit));
  }

  get size(): number {
    return this.calls.length;
  }

  /** Forgets the calls; the URLs stay. */
  clear(): void {
    this.calls.length = 0;
  }

  /** Forgets the calls and the URLs. */
  reset(): void {
    this.clear();
    this.urls.clear();
  }
}
