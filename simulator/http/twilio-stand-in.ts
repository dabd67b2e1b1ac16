import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32 } from '../simulated-ids';
import { twilioSignature } from '../reports';
import { bodyOf, injectFault, reject, str } from './util';

interface AccountParams {
  accountSid: string;
}

const API_VERSION = '2010-04-01';

/** Twilio's error JSON: `{ code, message, more_info, status }`. */
export function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function faultError(status: number) {
  if (status === 401) return twilioError(401, 20003, 'Authenticate');
  if (status === 404) return twilioError(404, 20404, 'The requested resource was not found');
  if (status === 429) return twilioError(429, 20429, 'Too Many Requests');
  if (status >= 500) return twilioError(status, status === 503 ? 20503 : 20500, 'Simulated service failure');
  return twilioError(status, 21000 + (status % 100), 'Simulated request failure');
}

// Twilio uses RFC 2822 dates with a numeric zone.
function twilioDate(): string {
  return new Date().toUTCString().replace(' GMT', ' +0000');
}

/** Twilio accepts HTTP basic auth whose username is the account SID (or an API key, not simulated). */
function authorized(header: string | undefined, accountSid: string): boolean {
  if (!header || !header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 && decoded.slice(0, colon) === accountSid && colon < decoded.length - 1;
}

/** The auth token of a basic-auth header (its password), which Twilio signs the account's callbacks with. */
function authTokenOf(header: string | undefined): string {
  const decoded = Buffer.from((header ?? '').slice(6), 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}

/**
 * Schedules the status callback of an SMS whose request named a `StatusCallback`: Twilio's form-encoded report,
 * `MessageStatus=delivered` (or `undelivered` with `ErrorCode=30003` for a recipient the reports configuration
 * lists), signed in `X-Twilio-Signature` with the auth token the message was sent with.
 */
function reportStatus(ctx: SimulatorContext, accountSid: string, authToken: string, sid: string, form: Form): void {
  const url = str(form.StatusCallback);
  const to = str(form.To);
  if (!url || !to) return;
  const undeliverable = ctx.reports.isUndeliverable(to);
  const status = undeliverable ? 'undelivered' : 'delivered';
  const params: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    From: str(form.From) ?? str(form.MessagingServiceSid) ?? '',
    MessageSid: sid,
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    To: to,
    ...(undeliverable ? { ErrorCode: '30003' } : {}),
  };
  ctx.reports.schedule({
    provider: 'twilio',
    kind: undeliverable ? 'undelivered' : 'delivered',
    messageId: sid,
    to,
    url,
    contentType: 'application/x-www-form-urlencoded',
    headers: { 'x-twilio-signature': twilioSignature(authToken, url, params) },
    body: new URLSearchParams(params).toString(),
  });
}

function unauthorized(reply: FastifyReply, ctx: SimulatorContext): FastifyReply {
  reply.header('www-authenticate', 'Basic realm="Twilio API"');
  return reject(reply, ctx, 401, twilioError(401, 20003, 'Authenticate'));
}

function badRequest(reply: FastifyReply, ctx: SimulatorContext, code: number, message: string): FastifyReply {
  return reject(reply, ctx, 400, twilioError(400, code, message));
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (m, e: string) => {
    const k = e.toLowerCase();
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    if (k === 'amp') return '&';
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : m;
  });
}

/** The spoken text of a TwiML document: every `<Say>` element's text, joined. */
export function sayText(twiml: string): string | undefined {
  const parts: string[] = [];
  for (const m of twiml.matchAll(/<Say\b[^>]*>([\s\S]*?)<\/Say>/gi)) parts.push(decodeXml(m[1].trim()));
  return parts.length > 0 ? parts.join(' ') : undefined;
}

type Form = Record<string, unknown>;

/** What Twilio's 201 for a created resource is made of. */
interface Created {
  accountSid: string;
  sid: string;
  to: string;
  from?: string;
  body?: string;
  form: Form;
  /** Creation time, in Twilio's date format. */
  now: string;
}

/** A parameter check of Twilio's: the error code and message of its 400 when `met` is false. */
type Requirement = [code: number, message: string, met: (form: Form) => boolean];

/** One resource created under `/Accounts/{AccountSid}/`. */
interface AccountResource {
  channel: 'sms' | 'voice';
  /** The two letters the resource's SIDs start with. */
  sidPrefix: 'SM' | 'CA';
  /** What Twilio answers when `To` is missing: each resource has its own code. */
  missingTo: [code: number, message: string];
  /** The resource's other checks, in the order Twilio makes them. */
  requirements: Requirement[];
  /** The sender and the text the simulator records. */
  content(form: Form): { from?: string; body?: string };
  /** Twilio's JSON for the created resource. */
  created(created: Created): Record<string, unknown>;
}

/** The resources the simulator creates, by their name in the path: SMS messages and voice calls. */
const RESOURCES: Record<'Messages' | 'Calls', AccountResource> = {
  Messages: {
    channel: 'sms',
    sidPrefix: 'SM',
    missingTo: [21604, "A 'To' phone number is required."],
    requirements: [
      [21603, "A 'From' phone number is required.", (form) => !!(str(form.From) ?? str(form.MessagingServiceSid))],
      [21602, 'Message body is required.', (form) => !!str(form.Body) || !!form.MediaUrl],
    ],
    content: (form) => ({ from: str(form.From) ?? str(form.MessagingServiceSid), body: str(form.Body) }),
    created: ({ accountSid, sid, to, from, body, form, now }) => ({
      account_sid: accountSid,
      api_version: API_VERSION,
      body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: str(form.MessagingServiceSid) ?? null,
      num_media: '0',
      num_segments: String(Math.max(1, Math.ceil((body ?? '').length / 153))),
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `/${API_VERSION}/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to,
      uri: `/${API_VERSION}/Accounts/${accountSid}/Messages/${sid}.json`,
    }),
  },
  Calls: {
    channel: 'voice',
    sidPrefix: 'CA',
    missingTo: [21201, 'No called number is specified'],
    requirements: [
      [21202, 'No caller ID (From) is specified', (form) => !!str(form.From)],
      [21205, 'Either Url, Twiml or ApplicationSid is required', (form) => !!str(form.Twiml) || !!str(form.Url)],
    ],
    content: (form) => {
      const twiml = str(form.Twiml);
      return { from: str(form.From), body: twiml ? sayText(twiml) : undefined };
    },
    created: ({ accountSid, sid, to, from, now }) => ({
      account_sid: accountSid,
      answered_by: null,
      api_version: API_VERSION,
      caller_name: null,
      date_created: now,
      date_updated: now,
      direction: 'outbound-api',
      duration: null,
      end_time: null,
      from,
      from_formatted: from,
      parent_call_sid: null,
      price: null,
      price_unit: 'USD',
      sid,
      start_time: null,
      status: 'queued',
      subresource_uris: {},
      to,
      to_formatted: to,
      uri: `/${API_VERSION}/Accounts/${accountSid}/Calls/${sid}.json`,
    }),
  },
};

/**
 * Registers `POST /2010-04-01/Accounts/{AccountSid}/<Resource>.json` with the checks in the order Twilio makes
 * them: basic auth by the account SID (401), `To`, the resource's other requirements (400 with the code of the
 * first one unmet), the simulated faults, a `To` that answered STOP (21610) or that the fault injector refuses (21211); then 201 with the resource.
 */
function registerAccountResource(app: FastifyInstance, ctx: SimulatorContext, name: keyof typeof RESOURCES): void {
  const resource = RESOURCES[name];
  app.post<{ Params: AccountParams }>(`/${API_VERSION}/Accounts/:accountSid/${name}.json`, async (request, reply) => {
    ctx.stats.request('twilio');
    const { accountSid } = request.params;
    if (!authorized(request.headers.authorization, accountSid)) return unauthorized(reply, ctx);
    const form = bodyOf(request);
    const to = str(form.To);
    if (!to) return badRequest(reply, ctx, ...resource.missingTo);
    const unmet = resource.requirements.find(([, , met]) => !met(form));
    if (unmet) return badRequest(reply, ctx, unmet[0], unmet[1]);
    if (await injectFault(ctx, resource.channel, request, reply, faultError)) return reply;
    if (ctx.faults.isUnsubscribed(resource.channel, to)) {
      return badRequest(reply, ctx, 21610, 'Attempt to send to unsubscribed recipient');
    }
    if (ctx.faults.isRejected(resource.channel, to)) {
      return badRequest(reply, ctx, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }
    const sid = resource.sidPrefix + hex32();
    const { from, body } = resource.content(form);
    ctx.accept({ id: sid, channel: resource.channel, provider: 'twilio', to, from, body, raw: form });
    if (resource.channel === 'sms')
      reportStatus(ctx, accountSid, authTokenOf(request.headers.authorization), sid, form);
    return reply.code(201).send(resource.created({ accountSid, sid, to, from, body, form, now: twilioDate() }));
  });
}

/** Twilio's Messages (SMS) and Calls (voice, with inline TwiML or a URL) resources. */
export function registerTwilio(app: FastifyInstance, ctx: SimulatorContext): void {
  registerAccountResource(app, ctx, 'Messages');
  registerAccountResource(app, ctx, 'Calls');
}
