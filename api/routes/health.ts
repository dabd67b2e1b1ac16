import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const checkSchema = z.object({ name: z.string(), healthy: z.boolean(), error: z.string().optional() });
type Check = z.infer<typeof checkSchema>;

const statusSchema = z.object({ status: z.enum(['OK', 'KO']) });
const checkUpSchema = statusSchema.extend({ checks: z.array(checkSchema) });

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

/** Health routes, outside authentication (README "API"): liveness, readiness, and one line per dependency. */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { database, temporal } = app;
  const checks = () =>
    Promise.all([
      check('mongodb', () => database.db.command({ ping: 1 })),
      check('temporal', () => temporal.workflowService.getSystemInfo({})),
    ]);
  const health = { tags: ['health'], security: [] };

  app.get(
    '/-/healthz',
    {
      schema: {
        ...health,
        operationId: 'getLiveness',
        summary: 'The process answers',
        response: { 200: z.object({ status: z.literal('OK') }).describe('The process runs') },
      },
    },
    async () => ({ status: 'OK' as const }),
  );

  app.get(
    '/-/ready',
    {
      schema: {
        ...health,
        operationId: 'getReadiness',
        summary: 'MongoDB and Temporal answer',
        response: {
          200: statusSchema.describe('Ready'),
          503: statusSchema.describe('MongoDB or Temporal does not answer, or the API is stopping'),
        },
      },
    },
    async (_request, reply) => {
      const ready = !app.draining && (await checks()).every((result) => result.healthy);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'OK' : 'KO' });
    },
  );

  app.get(
    '/-/check-up',
    {
      schema: {
        ...health,
        operationId: 'getCheckUp',
        summary: 'Each dependency, healthy or not',
        response: {
          200: checkUpSchema.describe('Every dependency is healthy'),
          503: checkUpSchema.describe('A dependency is not'),
        },
      },
    },
    async (_request, reply) => {
      const results = await checks();
      const healthy = results.every((result) => result.healthy);
      return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'OK' : 'KO', checks: results });
    },
  );
};
