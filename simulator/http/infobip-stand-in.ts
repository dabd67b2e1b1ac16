import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimulatorContext } from '../context';
import { uuidLike } from '../simulated-ids';
import { infobipDate } from '../reports';
import { FREE_FORM, isHttpUrl, templateContent, type Content, type ContentCheck } from './infobip-content-stand-in';
import { bodyOf, injectFault, reject, str } from './util';

/**
 * Infobip's WhatsApp API: the OAuth 2.0 token endpoint, text, template, document, image, location, interactive
 * buttons and interactive URL button messages, with delivery and seen reports posted to each message's `notifyUrl`.
 *
 * Credentials, by the simulator's rule: `Authorization: App <key>` with any key not starting with `INVALID`, or
 * `Bearer <token>` with a token this simulator issued (`POST /auth/1/oauth2/token`, any client id and secret not
 * starting with `INVALID`) that has neither expired nor been revoked (`DELETE /infobip/tokens`, to exercise a
 * client's renewal). Anything else is a 401 like Infobip's.
 */

/** Infobip's error JSON: `{ requestError: { serviceException: { messageId, text } } }`. */
export function infobipError(messageId: string, text: string, validationErrors?: Record<string, string[]>) {
  return { requestError: { serviceException: { messageId, text, ...(validationErrors ? { validationErrors } : {}) } } };
}

function faultError(status: number) {
  if (status === 401) return infobipError('UNAUTHORIZED', 'Invalid login details');
  if (status === 429) return infobipError('TOO_MANY_REQUESTS', 'Too many requests');
  if (status >= 500) return infobipError('GENERAL_ERROR', 'Something went wrong. Please contact support.');
  return infobipError('BAD_REQUEST', 'Bad request');
}

const PENDING = {
  groupId: 1,
  groupName: 'PENDING',
  id: 7,
  name: 'PENDING_ENROUTE',
  description: 'Message sent to next instance',
};

/** How long an issued token lives, as Infobip announces it in `expires_in`. */
const TOKEN_LIFETIME_S = 3600;

/** Whether `header` carries credentials the simulator accepts; `tokens`: the issued bearer tokens and their expiry. */
function authorized(header: string | undefined, tokens: ReadonlyMap<string, number>): boolean {
  if (!header) return false;
  const app = /^App (\S+)$/.exec(header);
  if (app) return !app[1].startsWith('INVALID');
  const bearer = /^Bearer (\S+)$/.exec(header);
  if (!bearer) return false;
  const expiresAt = tokens.get(bearer[1]);
  return expiresAt !== undefined && expiresAt > Date.now();
}

const unauthorized = infobipError('UNAUTHORIZED', 'Invalid login details');
const invalid = (field: string, problem = 'must not be blank') =>
  infobipError('BAD_REQUEST', 'Bad request', { [field]: [problem] });
const notRegistered = (to: string) =>
  infobipError('BAD_REQUEST', 'Bad request', { to: [`destination ${to} is not a registered WhatsApp user`] });

/**
 * Schedules the message's delivery report to `notifyUrl`, Infobip's JSON `{ results: [...] }`: DELIVERED (or
 * UNDELIVERABLE for a recipient the reports configuration lists), then for a delivered message a SEEN report.
 */
function reportTo(
  ctx: SimulatorContext,
  message: { messageId: string; from: string; to: string; notifyUrl?: string; callbackData?: string },
) {
  const { messageId, from, to, notifyUrl, callbackData } = message;
  if (!notifyUrl) return;
  const sentAt = infobipDate();
  const undeliverable = ctx.reports.isUndeliverable(to);
  const status = undeliverable
    ? {
        groupId: 2,
        groupName: 'UNDELIVERABLE',
        id: 9,
        name: 'UNDELIVERABLE_NOT_DELIVERED',
        description: 'Message sent not delivered',
      }
    : {
        groupId: 3,
        groupName: 'DELIVERED',
        id: 5,
        name: 'DELIVERED_TO_HANDSET',
        description: 'Message delivered to handset',
      };
  const error = undeliverable
    ? {
        groupId: 1,
        groupName: 'HANDSET_ERRORS',
        id: 27,
        name: 'EC_ABSENT_SUBSCRIBER',
        description: 'Absent Subscriber',
        permanent: false,
      }
    : { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false };
  const report = () =>
    JSON.stringify({
      results: [
        {
          bulkId: null,
          price: { pricePerMessage: 0, currency: 'EUR' },
          status,
          error,
          messageId,
          doneAt: infobipDate(),
          messageCount: 1,
          sentAt,
          to,
          channel: 'WHATSAPP',
          ...(callbackData ? { callbackData } : {}),
        },
      ],
    });
  const seen = () =>
    ctx.reports.schedule(
      {
        provider: 'infobip',
        kind: 'seen',
        messageId,
        to,
        url: notifyUrl,
        contentType: 'application/json',
        body: JSON.stringify({ results: [{ messageId, from, to, sentAt, seenAt: infobipDate() }] }),
      },
      { delayMs: ctx.reports.settings().seenDelayMs },
    );
  ctx.reports.schedule(
    {
      provider: 'infobip',
      kind: undeliverable ? 'undelivered' : 'delivered',
      messageId,
      to,
      url: notifyUrl,
      contentType: 'application/json',
      body: report(),
    },
    { then: undeliverable ? undefined : seen },
  );
}

/** The checks every send makes before its content's: credentials, then sender and recipient. */
function envelopeProblem(message: Content): string | undefined {
  if (!str(message.from)) return 'from';
  if (!str(message.to)) return 'to';
  if (!message.content || typeof message.content !== 'object') return 'content';
  if (message.notifyUrl !== undefined && !isHttpUrl(message.notifyUrl)) return 'notifyUrl';
  return undefined;
}

export function registerInfobip(app: FastifyInstance, ctx: SimulatorContext): void {
  /** The bearer tokens this simulator issued, with their expiry. */
  const tokens = new Map<string, number>();

  app.post('/auth/1/oauth2/token', async (request, reply) => {
    ctx.stats.request('infobip');
    const form = bodyOf(request);
    const clientId = str(form.client_id);
    const clientSecret = str(form.client_secret);
    if (str(form.grant_type) !== 'client_credentials') {
      return reject(reply, ctx, 400, invalid('grant_type', 'must be client_credentials'));
    }
    if (!clientId || !clientSecret) return reject(reply, ctx, 400, invalid(!clientId ? 'client_id' : 'client_secret'));
    if (clientId.startsWith('INVALID') || clientSecret.startsWith('INVALID')) {
      return reject(reply, ctx, 401, unauthorized);
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + TOKEN_LIFETIME_S * 1000);
    ctx.stats.tokensIssued += 1;
    return reply.send({ access_token: token, expires_in: TOKEN_LIFETIME_S });
  });

  /** Revokes every issued token: the next Bearer call is a 401, as when Infobip expires a token early. */
  app.delete('/infobip/tokens', async () => {
    const revoked = tokens.size;
    tokens.clear();
    return { revoked };
  });

  /** Accepts one message: the common checks, its content's, the faults; records it and schedules its reports. */
  async function acceptOne(
    request: FastifyRequest,
    reply: FastifyReply,
    message: Content,
    check: (content: Content) => ContentCheck,
    path: (field: string) => string,
  ): Promise<{ ok: true; accepted: () => Record<string, unknown> } | { ok: false }> {
    const missing = envelopeProblem(message);
    if (missing) {
      const problem = missing === 'notifyUrl' ? 'must be a valid http(s) URL' : undefined;
      reject(reply, ctx, 400, invalid(path(missing), problem));
      return { ok: false };
    }
    const result = check(message.content as Content);
    if (!result.ok) {
      reject(reply, ctx, 400, invalid(path(result.field), result.problem));
      return { ok: false };
    }
    const from = str(message.from)!;
    const to = str(message.to)!;
    return {
      ok: true,
      accepted: () => {
        const messageId = str(message.messageId) ?? uuidLike();
        ctx.accept({ id: messageId, channel: 'whatsapp', provider: 'infobip', to, from, ...result, raw: message });
        reportTo(ctx, {
          messageId,
          from,
          to,
          notifyUrl: str(message.notifyUrl),
          callbackData: str(message.callbackData),
        });
        return { to, messageCount: 1, messageId, status: PENDING };
      },
    };
  }

  for (const [type, check] of Object.entries(FREE_FORM)) {
    app.post(`/whatsapp/1/message/${type}`, async (request, reply) => {
      ctx.stats.request('infobip');
      if (!authorized(request.headers.authorization, tokens)) return reject(reply, ctx, 401, unauthorized);
      const message = bodyOf(request);
      const checked = await acceptOne(request, reply, message, check, (field) => field);
      if (!checked.ok) return reply;
      if (await injectFault(ctx, 'whatsapp', request, reply, faultError)) return reply;
      const to = str(message.to)!;
      if (ctx.faults.isRejected('whatsapp', to)) return reject(reply, ctx, 400, notRegistered(to));
      return reply.send(checked.accepted());
    });
  }

  // Template messages (business-initiated, outside the 24-hour session): several messages in one request.
  app.post('/whatsapp/1/message/template', async (request, reply) => {
    ctx.stats.request('infobip');
    if (!authorized(request.headers.authorization, tokens)) return reject(reply, ctx, 401, unauthorized);
    const body = bodyOf(request);
    const messages = Array.isArray(body.messages) ? (body.messages as Content[]) : [];
    if (messages.length === 0) return reject(reply, ctx, 400, invalid('messages', 'must not be empty'));
    const accepted: (() => Record<string, unknown>)[] = [];
    for (const [index, message] of messages.entries()) {
      const checked = await acceptOne(
        request,
        reply,
        message ?? {},
        templateContent,
        (field) => `messages[${index}].${field}`,
      );
      if (!checked.ok) return reply;
      accepted.push(checked.accepted);
    }
    if (await injectFault(ctx, 'whatsapp', request, reply, faultError)) return reply;
    const refused = messages.map((m) => str(m.to)!).find((to) => ctx.faults.isRejected('whatsapp', to));
    if (refused) return reject(reply, ctx, 400, notRegistered(refused));
    return reply.send({ messages: accepted.map((accept) => accept()), bulkId: str(body.bulkId) ?? uuidLike() });
  });
}
