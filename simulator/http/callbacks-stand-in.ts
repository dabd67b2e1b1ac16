import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_CALLBACK_NAME, callbackFaultSchema } from '../callbacks';
import type { SimulatorContext } from '../context';

/**
 * The callback catcher's routes (simulator/callbacks.ts). They live in their own encapsulated scope, whose only body
 * parser keeps any body as the text it was, so a receiver can check the signature over exactly what was sent.
 */
export function registerCallbacks(app: FastifyInstance, ctx: SimulatorContext): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    const catchCall = async (request: FastifyRequest, reply: FastifyReply, name: string) => {
      const body = typeof request.body === 'string' ? request.body : '';
      const call = ctx.callbacks.catch(name, request.headers, body);
      return reply.code(call.answered).send();
    };
    scope.post('/callbacks', (request, reply) => catchCall(request, reply, DEFAULT_CALLBACK_NAME));
    scope.post<{ Params: { name: string } }>('/callbacks/:name', (request, reply) =>
      catchCall(request, reply, request.params.name),
    );

    scope.get<{ Querystring: { name?: string; limit?: string } }>('/callbacks', async (request, reply) => {
      const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
        return reply.code(400).send({ error: 'limit must be a non-negative integer' });
      }
      return { callbacks: ctx.callbacks.query(request.query.name || undefined, limit) };
    });

    /** Forgets the caught calls and the callback faults. */
    scope.delete('/callbacks', async (_request, reply) => {
      ctx.callbacks.reset();
      return reply.code(204).send();
    });

    scope.get('/callbacks/faults', async () => ({ faults: ctx.callbacks.faultSnapshot() }));

    scope.put('/callbacks/faults', async (request, reply) => {
      let input: unknown;
      try {
        input = typeof request.body === 'string' && request.body !== '' ? JSON.parse(request.body) : {};
      } catch {
        return reply.code(400).send({ error: 'the body must be JSON' });
      }
      const parsed = callbackFaultSchema.safeParse(input);
      if (!parsed.success) {
        return reply.code(400).send({
          error: 'invalid callback fault',
          issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      return { faults: ctx.callbacks.setFault(parsed.data) };
    });
  });
}
