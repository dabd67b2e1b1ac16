import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pingDatabase } from '../../common/store/db';

const publicCheckSchema = z.object({ name: z.string(), healthy: z.boolean() });
const checkSchema = publicCheckSchema.extend({
  error: z.string().optional().describe("The dependency's own error, raw: it may name hosts, users or versions"),
});
type Check = z.infer<typeof checkSchema>;

const statusSchema = z.object({ status: z.enum(['OK', 'KO']) });
const publicCheckUpSchema = statusSchema.extend({ checks: z.array(publicCheckSchema) });
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

/**
 * Health routes (docs/api.md): liveness, readiness and one line per dependency outside authentication, healthy or
 * not and nothing more; the dependencies' errors, which may name internal hosts and users, at `GET /check-up` to an
 * admin key.
 */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { database, temporal } = app;
  const checks = () =>
    Promise.all([
      check('mongodb', () => pingDatabase(database)),
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
        summary: 'Each dependency, healthy or not (its error at GET /check-up, admin scope)',
        response: {
          200: publicCheckUpSchema.describe('Every dependency is healthy'),
          503: publicCheckUpSchema.describe('A dependency is not'),
        },
      },
    },
    async (_request, reply) => {
      const results = await checks();
      const healthy = results.every((result) => result.healthy);
      const checksWithoutErrors = results.map(({ name, healthy: each }) => ({ name, healthy: each }));
      return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'OK' : 'KO', checks: checksWithoutErrors });
    },
  );

  app.get(
    '/check-up',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['health'],
        operationId: 'getCheckUpDetails',
        summary: "Each dependency, healthy or not, with a failing one's error",
        response: {
          200: checkUpSchema.describe('Every dependency is healthy'),
          503: checkUpSchema.describe('A dependency is not; its error says why'),
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
