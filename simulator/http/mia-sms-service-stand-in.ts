import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32 } from '../simulated-ids';
import { bodyOf, fastifyStyleError, injectFault, str } from './util';

/** Mia-Platform's SMS Service plugin: `POST /send` behind a `/sms-service` prefix. */
export function registerMiaSmsService(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/sms-service/send', async (request, reply) => {
    ctx.stats.request('mia-sms-service');
    const body = bodyOf(request);
    const sender = str(body.sender);
    const receiver = str(body.receiver);
    const text = str(body.body);
    if (!sender || !receiver || !text) {
      ctx.stats.rejected += 1;
      const missing = !sender ? 'sender' : !receiver ? 'receiver' : 'body';
      return reply.code(400).send(fastifyStyleError(400, `body must have required property '${missing}'`));
    }
    if (await injectFault(ctx, 'sms', request, reply, (s) => fastifyStyleError(s))) return reply;
    if (ctx.faults.isRejected('sms', receiver)) {
      ctx.stats.rejected += 1;
      return reply.code(400).send(fastifyStyleError(400, `The receiver ${receiver} is not a valid phone number`));
    }
    const sid = hex32();
    ctx.accept({
      id: sid,
      channel: 'sms',
      provider: 'mia-sms-service',
      to: receiver,
      from: sender,
      body: text,
      raw: body,
    });
    // The documented success body of the SMS Service.
    return reply.send({ dateEvent: new Date().toISOString(), numSegments: '1', sid, status: 'sent' });
  });
}
