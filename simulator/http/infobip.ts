import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimulatorContext } from '../context';
import { uuidLike } from '../ids';
import { infobipDate } from '../reports';
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

/** What a message's content adds to its record, or the field it lacks (Infobip's 400 names it). */
type ContentCheck =
  | { ok: true; body?: string; title?: string; data?: Record<string, unknown> }
  | { ok: false; field: string; problem?: string };

const need = (field: string, problem?: string): ContentCheck => ({ ok: false, field, problem });
const isHttpUrl = (value: unknown) => typeof value === 'string' && /^https?:\/\/\S+$/.test(value);
const inRange = (value: unknown, limit: number) => typeof value === 'number' && Math.abs(value) <= limit;

type Content = Record<string, unknown>;

/** An interactive message's optional header: text, or a medium by URL. */
function headerProblem(header: unknown, path: string): ContentCheck | undefined {
  if (header === undefined) return undefined;
  const { type, text, mediaUrl } = header as Content;
  if (type === 'TEXT') return str(text) ? undefined : need(`${path}.text`);
  if (type === 'IMAGE' || type === 'DOCUMENT' || type === 'VIDEO') {
    return isHttpUrl(mediaUrl) ? undefined : need(`${path}.mediaUrl`, 'must be a valid http(s) URL');
  }
  return need(`${path}.type`, 'must be one of TEXT, IMAGE, DOCUMENT, VIDEO');
}

/** The free-form message types, by their path under `/whatsapp/1/message/`, each with its content's checks. */
const FREE_FORM: Record<string, (content: Content) => ContentCheck> = {
  text: (content) => (str(content.text) ? { ok: true, body: str(content.text) } : need('content.text')),
  document: (content) =>
    isHttpUrl(content.mediaUrl)
      ? {
          ok: true,
          body: str(content.caption),
          data: { type: 'document', mediaUrl: content.mediaUrl, filename: str(content.filename) },
        }
      : need('content.mediaUrl', 'must be a valid http(s) URL'),
  image: (content) =>
    isHttpUrl(content.mediaUrl)
      ? { ok: true, body: str(content.caption), data: { type: 'image', mediaUrl: content.mediaUrl } }
      : need('content.mediaUrl', 'must be a valid http(s) URL'),
  location: (content) => {
    if (!inRange(content.latitude, 90)) return need('content.latitude', 'must be between -90 and 90');
    if (!inRange(content.longitude, 180)) return need('content.longitude', 'must be between -180 and 180');
    const { latitude, longitude, name, address } = content;
    return {
      ok: true,
      body: str(name) ?? str(address),
      data: { type: 'location', latitude, longitude, name, address },
    };
  },
  'interactive/buttons': (content) => {
    const text = str((content.body as Content | undefined)?.text);
    if (!text) return need('content.body.text');
    const buttons = (content.action as { buttons?: unknown } | undefined)?.buttons;
    if (!Array.isArray(buttons) || buttons.length === 0 || buttons.length > 3) {
      return need('content.action.buttons', 'must hold 1 to 3 buttons');
    }
    for (const [index, button] of (buttons as Content[]).entries()) {
      if (button?.type !== 'REPLY') return need(`content.action.buttons[${index}].type`, 'must be REPLY');
      if (!str(button.id) || str(button.id)!.length > 256) {
        return need(`content.action.buttons[${index}].id`, 'must have 1 to 256 characters');
      }
      if (!str(button.title) || str(button.title)!.length > 20) {
        return need(`content.action.buttons[${index}].title`, 'must have 1 to 20 characters');
      }
    }
    const header = headerProblem(content.header, 'content.header');
    if (header) return header;
    return {
      ok: true,
      body: text,
      data: { type: 'interactive buttons', buttons, ...(content.header ? { header: content.header } : {}) },
    };
  },
  'interactive/url-button': (content) => {
    const text = str((content.body as Content | undefined)?.text);
    if (!text) return need('content.body.text');
    const action = (content.action ?? {}) as Content;
    if (!str(action.displayText) || str(action.displayText)!.length > 20) {
      return need('content.action.displayText', 'must have 1 to 20 characters');
    }
    if (!isHttpUrl(action.url)) return need('content.action.url', 'must be a valid http(s) URL');
    const header = headerProblem(content.header, 'content.header');
    if (header) return header;
    return {
      ok: true,
      body: text,
      data: { type: 'interactive url button', url: action.url, ...(content.header ? { header: content.header } : {}) },
    };
  },
};

/** A template message's content: name, language, body placeholders, and an optional header and buttons. */
function templateContent(content: Content): ContentCheck {
  const name = str(content.templateName);
  if (!name) return need('content.templateName');
  if (!str(content.language)) return need('content.language');
  const data = (content.templateData ?? {}) as Content;
  const placeholders = (data.body as Content | undefined)?.placeholders;
  if (!Array.isArray(placeholders)) return need('content.templateData.body.placeholders', 'must be an array');
  const header = data.header as Content | undefined;
  if (header) {
    const { type } = header;
    if (type === 'DOCUMENT' || type === 'IMAGE' || type === 'VIDEO') {
      if (!isHttpUrl(header.mediaUrl)) {
        return need('content.templateData.header.mediaUrl', 'must be a valid http(s) URL');
      }
      if (type === 'DOCUMENT' && !str(header.filename)) return need('content.templateData.header.filename');
    } else if (type === 'LOCATION') {
      if (!inRange(header.latitude, 90) || !inRange(header.longitude, 180)) {
        return need('content.templateData.header.latitude', 'latitude and longitude must be coordinates');
      }
    } else if (type === 'TEXT') {
      if (!str(header.placeholder)) return need('content.templateData.header.placeholder');
    } else {
      return need('content.templateData.header.type', 'must be one of TEXT, DOCUMENT, IMAGE, VIDEO, LOCATION');
    }
  }
  const buttons = data.buttons;
  if (buttons !== undefined) {
    if (!Array.isArray(buttons)) return need('content.templateData.buttons', 'must be an array');
    for (const [index, button] of (buttons as Content[]).entries()) {
      if (button?.type !== 'QUICK_REPLY' && button?.type !== 'URL') {
        return need(`content.templateData.buttons[${index}].type`, 'must be QUICK_REPLY or URL');
      }
      if (!str(button.parameter)) return need(`content.templateData.buttons[${index}].parameter`);
    }
  }
  return {
    ok: true,
    title: name,
    body: placeholders.map(String).join(' | '),
    data: {
      type: 'template',
      language: content.language,
      ...(header ? { header } : {}),
      ...(buttons ? { buttons } : {}),
    },
  };
}

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
