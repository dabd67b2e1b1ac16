import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32, uuidLike } from '../ids';
import { bodyOf, injectFault, str } from './util';

interface SidParams {
  sid: string;
}

/** Kaleyra's error JSON: `{ code, message, data, error }`. */
export function kaleyraError(code: string, message: string, error: Record<string, unknown> = {}) {
  return { code, message, data: [], error };
}

function faultError(status: number) {
  if (status === 429) return kaleyraError('E429', 'Too many requests. Please retry after some time.');
  if (status >= 500) return kaleyraError(`E${status}`, 'Simulated service failure, please retry.');
  return kaleyraError(`E${status}`, 'Simulated request failure.');
}

function reject(reply: FastifyReply, ctx: SimulatorContext, status: number, body: unknown): FastifyReply {
  ctx.stats.rejected += 1;
  return reply.code(status).send(body);
}

// Kaleyra's timestamps look like "2024-01-31 10:20:30+00:00".
function kaleyraDate(): string {
  return new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '+00:00');
}

/** The texts to speak in a Kaleyra `target` parameter: a JSON string (or array) like `[{"message":{"text":"Hi"}}]`. */
export function targetText(target: unknown): string | undefined {
  let parsed = target;
  if (typeof target === 'string') {
    try {
      parsed = JSON.parse(target);
    } catch {
      return target;
    }
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const texts: string[] = [];
  for (const item of items) {
    const text = (item as { message?: { text?: unknown } } | null)?.message?.text;
    if (typeof text === 'string') texts.push(text);
  }
  return texts.length > 0 ? texts.join(' ') : undefined;
}

export function registerKaleyra(app: FastifyInstance, ctx: SimulatorContext): void {
  const missingKey = kaleyraError('E110', 'Invalid API key or missing api-key header.');

  app.post<{ Params: SidParams }>('/v1/:sid/messages', async (request, reply) => {
    ctx.stats.request('kaleyra');
    if (!request.headers['api-key']) return reject(reply, ctx, 401, missingKey);
    const form = bodyOf(request);
    const toField = str(form.to);
    const sender = str(form.sender);
    const body = str(form.body);
    const type = str(form.type) ?? 'DEFAULT';
    if (!toField)
      return reject(reply, ctx, 400, kaleyraError('E400', 'Missing mandatory parameter: to', { to: 'required' }));
    if (!body)
      return reject(reply, ctx, 400, kaleyraError('E400', 'Missing mandatory parameter: body', { body: 'required' }));
    if (await injectFault(ctx, 'sms', request, reply, faultError)) return reply;
    // `to` may list several comma-separated recipients; each becomes one record.
    const recipients = toField
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const refused = recipients.find((r) => ctx.faults.isRejected('sms', r));
    if (refused) {
      return reject(
        reply,
        ctx,
        400,
        kaleyraError('E413', 'Invalid/incorrect phone number.', { to: `Invalid number ${refused}` }),
      );
    }
    const id = uuidLike();
    const data = recipients.map((recipient, i) => {
      const messageId = `${id}:${i + 1}`;
      ctx.accept({ id: messageId, channel: 'sms', provider: 'kaleyra', to: recipient, from: sender, body, raw: form });
      return { message_id: messageId, recipient };
    });
    return reply.code(202).send({
      id,
      type,
      sender,
      body: { content: body, charset: null, encoding: 'plain', length: body.length, billable_size: 1 },
      createdDateTime: kaleyraDate(),
      totalCount: data.length,
      data,
      error: {},
    });
  });

  app.post<{ Params: SidParams }>('/v1/:sid/voice/outbound', async (request, reply) => {
    ctx.stats.request('kaleyra');
    if (!request.headers['api-key']) return reject(reply, ctx, 401, missingKey);
    const form = bodyOf(request);
    const to = str(form.to);
    const bridge = str(form.bridge);
    const text = targetText(form.target);
    if (!to)
      return reject(reply, ctx, 400, kaleyraError('E400', 'Missing mandatory parameter: to', { to: 'required' }));
    if (!bridge) {
      return reject(
        reply,
        ctx,
        400,
        kaleyraError('E400', 'Missing mandatory parameter: bridge', { bridge: 'required' }),
      );
    }
    if (await injectFault(ctx, 'voice', request, reply, faultError)) return reply;
    if (ctx.faults.isRejected('voice', to)) {
      return reject(
        reply,
        ctx,
        400,
        kaleyraError('E413', 'Invalid/incorrect phone number.', { to: `Invalid number ${to}` }),
      );
    }
    const id = hex32();
    ctx.accept({ id, channel: 'voice', provider: 'kaleyra', to, from: bridge, body: text, raw: form });
    return reply.send({ id, status: 'queued', to, bridge, createdDateTime: kaleyraDate() });
  });
}
