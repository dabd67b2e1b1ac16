import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppConfig } from '../common/config';
import type { Database } from '../common/db';
import { HttpError } from '../common/errors';
import { FilesServiceClient } from '../common/files-service';
import { Ledger } from '../common/ledger';
import { SendsRepository } from '../common/sends-repository';
import { TemplatesRepository } from '../common/templates-repository';
import { UsersRepository } from '../common/users-repository';
import { guardedValidatorCompiler, registerErrorHandling, renderFrameworkError } from './errors';
import { healthRoutes } from './routes/health';
import { sagaRoutes } from './routes/saga';
import { sendRoutes } from './routes/send';
import { sendsRoutes } from './routes/sends';
import { templateRoutes } from './routes/templates';
import { userRoutes } from './routes/users';
import { SendService } from './services/send-service';

export interface BuildAppOptions {
  config: AppConfig;
  database: Database;
  /** A connected Temporal client; the app does not close it. */
  temporal: Client;
  /**
   * Every this many ms, close the `running` sends whose workflow is gone (`SendService.reconcileRunning`);
   * `server.ts` sets it, tests call the service directly.
   */
  reconcileEveryMs?: number;
  /** pino options, or false to log nothing (tests). */
  logger?: boolean | object;
}

const PUBLIC_PREFIXES = ['/-/', '/documentation'];

/** Builds the HTTP API (fastify/demo style): tests call this and `app.inject`; `server.ts` only listens. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, database, temporal } = options;
  const app = Fastify({
    logger: options.logger ?? { level: config.env.LOG_LEVEL },
    bodyLimit: 5 * 1024 * 1024,
    // Error bodies already name the field; ajv's own coercion is replaced by zod.
    ajv: { customOptions: { coerceTypes: false } },
    frameworkErrors: renderFrameworkError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(guardedValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const httpRequests = new Counter({
    name: 'messaging_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'],
    registers: [metrics],
  });
  app.addHook('onResponse', async (request, reply) => {
    httpRequests.inc({ route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  const apiKeys = config.env.API_KEYS;
  if (apiKeys.length > 0) {
    app.addHook('onRequest', async (request) => {
      if (PUBLIC_PREFIXES.some((prefix) => request.url.startsWith(prefix))) return;
      const key = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!key || !apiKeys.includes(key))
        throw new HttpError(401, 'authorization: a valid "Bearer <API key>" is required');
    });
  }

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Messaging Service',
        description: 'Send messages to users over email, sms, push and voice; every send is a Temporal workflow.',
        version: '0.1.0',
      },
      ...(apiKeys.length > 0
        ? {
            components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
            security: [{ bearer: [] }],
          }
        : {}),
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/documentation' });

  const files = new FilesServiceClient(config.env.FILE_SERVICE_URL);
  app.addHook('onClose', () => files.close());
  const ledger = new Ledger(database);
  const sendsRepository = new SendsRepository(database);
  const templates = new TemplatesRepository(database);
  const sends = new SendService({
    config,
    database,
    ledger,
    sends: sendsRepository,
    templates,
    files,
    temporal,
  });
  if (options.reconcileEveryMs) {
    const reconcile = () =>
      sends.reconcileRunning().then(
        (closed) => closed > 0 && app.log.warn({ closed }, 'closed running sends whose workflow is gone'),
        (error: unknown) => app.log.warn({ err: error }, 'reconciling running sends failed'),
      );
    const timer = setInterval(reconcile, options.reconcileEveryMs);
    timer.unref();
    app.addHook('onReady', async () => void reconcile());
    app.addHook('onClose', async () => clearInterval(timer));
  }

  await app.register(healthRoutes, { database, temporal, metrics });
  await app.register(sendRoutes, { sends, sendWaitMs: config.env.SEND_WAIT_MS });
  await app.register(sagaRoutes, { sends, config });
  await app.register(sendsRoutes, { ledger, sendsRepository, temporal, config, sends });
  await app.register(userRoutes, {
    users: new UsersRepository(database, config.service.userFields),
    fields: config.service.userFields,
  });
  await app.register(templateRoutes, { templates, locale: config.env.DEFAULT_LOCALE });
  return app;
}
