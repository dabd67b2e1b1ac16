import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { z } from 'zod';

/** The routes that start sends: their requests are counted as they come in and as they are answered. */
export const SEND_ROUTES: readonly string[] = ['/send', '/saga/send', '/sends/:sendId/retry'];

/** `GET /-/metrics`: the registry in Prometheus' text format. */
const metricsRoute: FastifyPluginAsyncZod<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/-/metrics',
    {
      schema: {
        tags: ['health'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics: the process, HTTP requests by route and status, send requests and latencies',
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

/**
 * The API's own metrics (docs/operations.md "Metrics") on `registry`: every request by route and status, and its
 * latency by route; the requests of the send routes as they start and as they are answered (a `POST /send` waits for
 * its send, up to `SEND_WAIT_MS`: started minus answered is what is waiting).
 */
export function registerApiMetrics(registry: Registry) {
  const registers = [registry];
  return {
    httpRequests: new Counter({
      name: 'messaging_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'messaging_http_request_duration_seconds',
      help: 'HTTP request latency by method and route, until the answer is sent',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    sendsStarted: new Counter({
      name: 'messaging_send_requests_started_total',
      help: 'Requests to a send route (POST /send, /saga/send, /sends/:sendId/retry) as they come in, by route',
      labelNames: ['route'],
      registers,
    }),
    sendsAnswered: new Counter({
      name: 'messaging_send_requests_answered_total',
      help: 'Requests to a send route once answered, by route and status code (200 ended, 202 running, 4xx refused)',
      labelNames: ['route', 'status'],
      registers,
    }),
  };
}

/** A Prometheus registry of the app: Node's default metrics and `registerApiMetrics`. */
export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const metrics = registerApiMetrics(registry);
    // A request refused by an earlier onRequest hook (authentication) never reaches ours: it is counted as started
    // when it is answered, so that started never falls behind answered.
    const started = new WeakSet<FastifyRequest>();
    const sendRoute = (request: FastifyRequest) => {
      const route = request.routeOptions.url;
      return route !== undefined && SEND_ROUTES.includes(route) ? route : undefined;
    };
    app.addHook('onRequest', async (request) => {
      const route = sendRoute(request);
      if (route === undefined) return;
      started.add(request);
      metrics.sendsStarted.inc({ route });
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unknown';
      const status = String(reply.statusCode);
      metrics.httpRequests.inc({ route, status });
      metrics.requestSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
      if (sendRoute(request) === undefined) return;
      if (!started.has(request)) metrics.sendsStarted.inc({ route });
      metrics.sendsAnswered.inc({ route, status });
    });
    await app.register(metricsRoute, { registry });
  },
  { name: 'metrics' },
);
