import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { z } from 'zod';

/** `GET /-/metrics`: the registry in Prometheus' text format. */
const metricsRoute: FastifyPluginAsyncZod<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/-/metrics',
    {
      schema: {
        tags: ['health'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics: the process and HTTP requests by route and status',
        security: [],
        response: {
          200: {
            description: "Prometheus' text exposition format",
            content: { 'text/plain': { schema: z.string() } },
          },
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};

/** A Prometheus registry of the app: Node's default metrics and `messaging_http_requests_total`. */
export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const httpRequests = new Counter({
      name: 'messaging_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      httpRequests.inc({ route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
    });
    await app.register(metricsRoute, { registry });
  },
  { name: 'metrics' },
);
