import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { SimulatorContext } from '../context';
import { inboundConfigSchema, repliesSchema, ReplyRefusal, replySchema } from '../inbound';

/**
 * The customer's side of WhatsApp (simulator/inbound.ts): where inbound messages go (`PUT /whatsapp/inbound`), a
 * customer's answer posted in Infobip's inbound format (`POST /whatsapp/reply`, several in one call with
 * `POST /whatsapp/replies`), a call repeated (`POST /whatsapp/replies/:seq/resend`) and the calls made
 * (`GET /whatsapp/replies`).
 */
export function registerWhatsappInbound(app: FastifyInstance, ctx: SimulatorContext): void {
  const refuse = (reply: FastifyReply, error: unknown) => {
    if (error instanceof ReplyRefusal) return reply.code(error.status).send({ error: error.message });
    throw error;
  };
  const parse = <T extends z.ZodType>(schema: T, body: unknown, reply: FastifyReply): z.infer<T> | undefined => {
    const parsed = schema.safeParse(body ?? {});
    if (parsed.success) return parsed.data;
    void reply.code(400).send({
      error: 'invalid body',
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
    return undefined;
  };
  const whatsappMessage = (id: string) =>
    ctx.recorder.query({ channel: 'whatsapp' }, Number.MAX_SAFE_INTEGER).find((record) => record.id === id);

  app.get('/whatsapp/inbound', async () => ({ urls: ctx.inbound.settings() }));

  app.put('/whatsapp/inbound', async (request, reply) => {
    const input = parse(inboundConfigSchema, request.body, reply);
    if (!input) return reply;
    try {
      return { urls: ctx.inbound.configure(input) };
    } catch (error) {
      return refuse(reply, error);
    }
  });

  app.delete('/whatsapp/inbound', async (_request, reply) => {
    ctx.inbound.reset();
    return reply.code(204).send();
  });

  app.post('/whatsapp/reply', async (request, reply) => {
    const input = parse(replySchema, request.body, reply);
    if (!input) return reply;
    try {
      const { url, ...message } = input;
      const prepared = ctx.inbound.prepare([message], url, whatsappMessage, (_index, field) => field);
      return { call: await ctx.inbound.post(prepared.url, prepared.results) };
    } catch (error) {
      return refuse(reply, error);
    }
  });

  app.post('/whatsapp/replies', async (request, reply) => {
    const input = parse(repliesSchema, request.body, reply);
    if (!input) return reply;
    try {
      const prepared = ctx.inbound.prepare(
        input.replies,
        input.url,
        whatsappMessage,
        (index, field) => `replies[${index}].${field}`,
      );
      return { call: await ctx.inbound.post(prepared.url, prepared.results) };
    } catch (error) {
      return refuse(reply, error);
    }
  });

  app.post<{ Params: { seq: string } }>('/whatsapp/replies/:seq/resend', async (request, reply) => {
    try {
      return { call: await ctx.inbound.resend(Number(request.params.seq)) };
    } catch (error) {
      return refuse(reply, error);
    }
  });

  app.get<{ Querystring: { number?: string; limit?: string } }>('/whatsapp/replies', async (request, reply) => {
    const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      return reply.code(400).send({ error: 'limit must be a non-negative integer' });
    }
    return { calls: ctx.inbound.query(request.query.number || undefined, limit) };
  });

  app.delete('/whatsapp/replies', async (_request, reply) => {
    ctx.inbound.clear();
    return reply.code(204).send();
  });
}
