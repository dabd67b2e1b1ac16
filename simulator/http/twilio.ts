import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32 } from '../ids';
import { bodyOf, injectFault, str } from './util';

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

function unauthorized(reply: FastifyReply, ctx: SimulatorContext): FastifyReply {
  ctx.stats.rejected += 1;
  return reply
    .code(401)
    .header('www-authenticate', 'Basic realm="Twilio API"')
    .send(twilioError(401, 20003, 'Authenticate'));
}

function badRequest(reply: FastifyReply, ctx: SimulatorContext, code: number, message: string): FastifyReply {
  ctx.stats.rejected += 1;
  return reply.code(400).send(twilioError(400, code, message));
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

export function registerTwilio(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post<{ Params: AccountParams }>(`/${API_VERSION}/Accounts/:accountSid/Messages.json`, async (request, reply) => {
    ctx.stats.request('twilio');
    const { accountSid } = request.params;
    if (!authorized(request.headers.authorization, accountSid)) return unauthorized(reply, ctx);
    const form = bodyOf(request);
    const to = str(form.To);
    const from = str(form.From) ?? str(form.MessagingServiceSid);
    const body = str(form.Body);
    if (!to) return badRequest(reply, ctx, 21604, "A 'To' phone number is required.");
    if (!from) return badRequest(reply, ctx, 21603, "A 'From' phone number is required.");
    if (!body && !form.MediaUrl) return badRequest(reply, ctx, 21602, 'Message body is required.');
    if (await injectFault(ctx, 'sms', request, reply, faultError)) return reply;
    if (ctx.faults.isRejected('sms', to)) {
      return badRequest(reply, ctx, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }
    const sid = 'SM' + hex32();
    ctx.accept({ id: sid, channel: 'sms', provider: 'twilio', to, from, body, raw: form });
    const now = twilioDate();
    return reply.code(201).send({
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
    });
  });

  app.post<{ Params: AccountParams }>(`/${API_VERSION}/Accounts/:accountSid/Calls.json`, async (request, reply) => {
    ctx.stats.request('twilio');
    const { accountSid } = request.params;
    if (!authorized(request.headers.authorization, accountSid)) return unauthorized(reply, ctx);
    const form = bodyOf(request);
    const to = str(form.To);
    const from = str(form.From);
    const twiml = str(form.Twiml);
    const url = str(form.Url);
    if (!to) return badRequest(reply, ctx, 21201, 'No called number is specified');
    if (!from) return badRequest(reply, ctx, 21202, 'No caller ID (From) is specified');
    if (!twiml && !url) return badRequest(reply, ctx, 21205, 'Either Url, Twiml or ApplicationSid is required');
    if (await injectFault(ctx, 'voice', request, reply, faultError)) return reply;
    if (ctx.faults.isRejected('voice', to)) {
      return badRequest(reply, ctx, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }
    const sid = 'CA' + hex32();
    ctx.accept({
      id: sid,
      channel: 'voice',
      provider: 'twilio',
      to,
      from,
      body: twiml ? sayText(twiml) : undefined,
      raw: form,
    });
    const now = twilioDate();
    return reply.code(201).send({
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
    });
  });
}
