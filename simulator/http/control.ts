import type { FastifyInstance } from 'fastify';
import type { SimulatorContext } from '../context';
import { FAULT_TARGETS, FaultTarget, faultSpecSchema } from '../faults';
import type { RecordFilter } from '../recorder';
import { reportConfigSchema } from '../reports';

interface MessagesQuery {
  channel?: string;
  to?: string;
  provider?: string;
  limit?: string;
}

function filterOf(q: MessagesQuery): RecordFilter {
  return {
    channel: q.channel || undefined,
    to: q.to || undefined,
    provider: q.provider || undefined,
  };
}

/** The control API tests and benchmarks drive: recorded messages, stats, faults, health. */
export function registerControl(app: FastifyInstance, ctx: SimulatorContext): void {
  app.get<{ Querystring: MessagesQuery }>('/messages', async (request, reply) => {
    const limit = request.query.limit === undefined ? 1000 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 0) {
      return reply.code(400).send({ error: 'limit must be a non-negative integer' });
    }
    return { messages: ctx.recorder.query(filterOf(request.query), limit) };
  });

  app.get<{ Querystring: MessagesQuery }>('/messages/count', async (request) => ({
    count: ctx.recorder.count(filterOf(request.query)),
  }));

  app.delete('/messages', async (_request, reply) => {
    ctx.recorder.clear();
    ctx.stats.reset();
    ctx.reports.clear();
    ctx.callbacks.clear();
    ctx.inbound.clear();
    return reply.code(204).send();
  });

  app.get('/stats', async () => ctx.stats.snapshot());

  app.get('/faults', async () => ({ faults: ctx.faults.snapshot() }));

  app.post('/faults', async (request, reply) => {
    const parsed = faultSpecSchema.safeParse(request.body);
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'invalid fault',
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    return { faults: ctx.faults.set(parsed.data) };
  });

  app.delete<{ Querystring: { target?: string } }>('/faults', async (request, reply) => {
    const target = request.query.target;
    if (target !== undefined && !(FAULT_TARGETS as readonly string[]).includes(target)) {
      return reply.code(400).send({ error: `unknown target ${target}` });
    }
    ctx.faults.clear(target as FaultTarget | undefined);
    // Without a target every fault goes, the callback catcher's too (PUT /callbacks/faults).
    if (target === undefined) ctx.callbacks.clearFaults();
    return { faults: ctx.faults.snapshot() };
  });

  // Delivery reports posted to status callbacks (simulator/reports.ts): what was sent, and when and how.
  app.get<{ Querystring: { provider?: string; messageId?: string; kind?: string } }>('/reports', async (request) => ({
    reports: ctx.reports.query({
      provider: request.query.provider || undefined,
      messageId: request.query.messageId || undefined,
      kind: request.query.kind || undefined,
    }),
  }));

  app.get('/reports/config', async () => ctx.reports.settings());

  app.put('/reports/config', async (request, reply) => {
    const parsed = reportConfigSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'invalid report configuration',
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    return ctx.reports.configure(parsed.data);
  });

  /** Forgets the reports, cancels the pending ones and restores the default configuration. */
  app.delete('/reports', async (_request, reply) => {
    ctx.reports.reset();
    return reply.code(204).send();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
}
