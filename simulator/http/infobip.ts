import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import { uuidLike } from '../ids';
import { bodyOf, injectFault, reject, str } from './util';

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

function authorized(header: string | undefined): boolean {
  return !!header && /^App \S+/.test(header);
}

export function registerInfobip(app: FastifyInstance, ctx: SimulatorContext): void {
  const unauthorized = infobipError('UNAUTHORIZED', 'Invalid login details');
  const notRegistered = (to: string) =>
    infobipError('BAD_REQUEST', 'Bad request', { to: [`destination ${to} is not a registered WhatsApp user`] });

  app.post('/whatsapp/1/message/text', async (request, reply) => {
    ctx.stats.request('infobip');
    if (!authorized(request.headers.authorization)) return reject(reply, ctx, 401, unauthorized);
    const body = bodyOf(request);
    const from = str(body.from);
    const to = str(body.to);
    const text = str((body.content as { text?: unknown } | undefined)?.text);
    if (!from || !to || !text) {
      const missing = !from ? 'from' : !to ? 'to' : 'content.text';
      return reject(reply, ctx, 400, infobipError('BAD_REQUEST', 'Bad request', { [missing]: ['must not be blank'] }));
    }
    if (await injectFault(ctx, 'whatsapp', request, reply, faultError)) return reply;
    if (ctx.faults.isRejected('whatsapp', to)) return reject(reply, ctx, 400, notRegistered(to));
    const messageId = str(body.messageId) ?? uuidLike();
    ctx.accept({ id: messageId, channel: 'whatsapp', provider: 'infobip', to, from, body: text, raw: body });
    return reply.send({ to, messageCount: 1, messageId, status: PENDING });
  });

  // Template messages (used to open two-way conversations): several messages in one request.
  app.post('/whatsapp/1/message/template', async (request, reply) => {
    ctx.stats.request('infobip');
    if (!authorized(request.headers.authorization)) return reject(reply, ctx, 401, unauthorized);
    const body = bodyOf(request);
    const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
    if (messages.length === 0 || messages.some((m) => !str(m?.from) || !str(m?.to) || !m?.content)) {
      return reject(reply, ctx, 400, infobipError('BAD_REQUEST', 'Bad request', { messages: ['invalid message'] }));
    }
    if (await injectFault(ctx, 'whatsapp', request, reply, faultError)) return reply;
    const refused = messages.map((m) => str(m.to) as string).find((to) => ctx.faults.isRejected('whatsapp', to));
    if (refused) return reject(reply, ctx, 400, notRegistered(refused));
    const results = messages.map((m) => {
      const to = str(m.to) as string;
      const content = m.content as { templateName?: unknown; templateData?: { body?: { placeholders?: unknown } } };
      const placeholders = content.templateData?.body?.placeholders;
      const messageId = str(m.messageId) ?? uuidLike();
      ctx.accept({
        id: messageId,
        channel: 'whatsapp',
        provider: 'infobip',
        to,
        from: str(m.from),
        title: str(content.templateName),
        body: Array.isArray(placeholders) ? placeholders.map(String).join(' | ') : undefined,
        raw: m,
      });
      return { to, messageCount: 1, messageId, status: PENDING };
    });
    return reply.send({ messages: results, bulkId: str(body.bulkId) ?? uuidLike() });
  });
}
