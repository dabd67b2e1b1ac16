import type { Client } from '@temporalio/client';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Database } from '../../common/db';

type Check = { name: string; healthy: boolean; error?: string };

async function check(name: string, probe: () => Promise<unknown>): Promise<Check> {
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout after 3s')), 3000)),
    ]);
    return { name, healthy: true };
  } catch (error) {
    return { name, healthy: false, error: (error as Error).message };
  }
}

/** Health routes, outside authentication (spec §4): liveness, readiness, and one line per dependency. */
export const healthRoutes: FastifyPluginAsync<{ database: Database; temporal: Client; metrics: Registry }> = async (
  app,
  { database, temporal, metrics },
) => {
  const checks = () =>
    Promise.all([
      check('mongodb', () => database.db.command({ ping: 1 })),
      check('temporal', () => temporal.workflowService.getSystemInfo({})),
    ]);

  app.get('/-/healthz', { schema: { hide: true } }, async () => ({ status: 'OK' }));

  app.get('/-/ready', { schema: { hide: true } }, async (_request, reply) => {
    const results = await checks();
    const ready = results.every((result) => result.healthy);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'OK' : 'KO' });
  });

  app.get('/-/check-up', { schema: { hide: true } }, async (_request, reply) => {
    const results = await checks();
    const healthy = results.every((result) => result.healthy);
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'OK' : 'KO', checks: results });
  });

  app.get('/-/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.metrics()),
  );
};
