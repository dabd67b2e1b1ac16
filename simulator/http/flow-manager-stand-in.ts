import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32 } from '../simulated-ids';
import { bodyOf, fastifyStyleError, injectFault, str } from './util';

/** Flow Manager's command endpoint: `{ key, value: { messageLabel, messagePayload } }`. */
export function registerFlowManager(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/event', async (request, reply) => {
    ctx.stats.request('flow-manager');
    const body = bodyOf(request);
    const key = str(body.key);
    const value = body.value as { messageLabel?: unknown } | undefined;
    if (!key || !value || typeof value !== 'object' || !str(value.messageLabel)) {
      ctx.stats.rejected += 1;
      return reply.code(400).send(fastifyStyleError(400, 'body must have key and value.messageLabel'));
    }
    if (await injectFault(ctx, 'event', request, reply, (s) => fastifyStyleError(s))) return reply;
    if (ctx.faults.isRejected('event', key)) {
      ctx.stats.rejected += 1;
      return reply.code(400).send(fastifyStyleError(400, `Unknown flow for key ${key}`));
    }
    ctx.accept({
      id: hex32(),
      channel: 'event',
      provider: 'flow-manager',
      to: key,
      title: str(value.messageLabel),
      data: body,
    });
    return reply.send({});
  });
}
