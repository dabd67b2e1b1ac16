import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { checkEvery, requireApiAuthMode, type AppConfig } from '../common/config/config';
import { encryptionCodec } from '../common/temporal/data-converter';
import type { Database } from '../common/store/db';
import { loggerOptions, userAddressFields } from '../common/config/logger';
import { BODY_LIMIT_BYTES, errorHandling, MAX_PARAM_LENGTH, renderFrameworkError } from './request-errors';
import { authPlugin } from './plugins/auth-plugin';
import { configPlugin } from './plugins/config-plugin';
import { databasePlugin } from './plugins/database-plugin';
import { digestServicesPlugin } from './plugins/digest-services-plugin';
import { drainingPlugin } from './plugins/draining-plugin';
import { filesServicePlugin } from './plugins/files-service-plugin';
import { messageServicesPlugin } from './plugins/message-services-plugin';
import { metricsPlugin } from './plugins/metrics-plugin';
import { openApiPlugin } from './plugins/openapi-plugin';
import { retentionPlugin } from './plugins/retention-plugin';
import { scheduleServicesPlugin } from './plugins/schedule-services-plugin';
import { rateLimitPlugin } from './plugins/rate-limit-plugin';
import { sendReconciliationPlugin } from './plugins/send-reconciliation-plugin';
import { sendServicesPlugin } from './plugins/send-services-plugin';
import { temporalPlugin } from './plugins/temporal-plugin';
import { codecRoutes } from './routes/codec-routes';
import { conversationRoutes } from './routes/conversations-routes';
import { digestRoutes } from './routes/digests-routes';
import { erasureRoutes } from './routes/erasures-routes';
import { healthRoutes } from './routes/health-routes';
import { messageRoutes } from './routes/messages-routes';
import { notificationRoutes } from './routes/notifications-routes';
import { placeholderRoutes } from './routes/placeholders-routes';
import { preferencesRoutes } from './routes/preferences-routes';
import { suppressionRoutes } from './routes/suppressions-routes';
import { unsubscribeRoutes } from './routes/unsubscribe-routes';
import { providerRoutes } from './routes/providers-routes';
import { sagaRoutes } from './routes/saga-routes';
import { scheduleRoutes } from './routes/schedules-routes';
import { sendRoutes } from './routes/send-routes';
import { sendsRoutes } from './routes/sends-routes';
import { serviceIndexRoutes } from './routes/service-index-routes';
import { templateRoutes } from './routes/templates-routes';
import { userRoutes } from './routes/users-routes';
import { webhookRoutes } from './routes/webhooks';

export interface BuildAppOptions {
  /** The configuration, validated once at boot (`loadConfig`). */
  config: AppConfig;
  /** A connected database: the app uses it and leaves it open. Without one it connects, and closes on close. */
  database?: Database;
  /** A connected Temporal client: the app uses it and leaves it open. Without one it connects, and closes on close. */
  temporal?: Client;
  /** How often the `running` sends whose workflow is gone are closed. Default: 60 000 (a minute). */
  reconcileEveryMs?: number;
  /**
   * pino options, or false to log nothing (tests). Default: `loggerOptions` at `LOG_LEVEL`, which redacts credentials,
   * addresses and message content (docs/internals.md "Logs").
   */
  logger?: boolean | object;
}

/**
 * Builds the HTTP API (fastify/demo style): tests call this and `app.inject`; `server.ts` only listens. Each
 * dependency is a plugin (api/plugins/) that decorates the app and closes on close what it opened; the plugins that
 * document routes (errors, API keys, OpenAPI) come before the routes.
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  // Before connecting to anything: a missing or malformed TEMPORAL_CODEC_KEYS (the codec routes and the Temporal
  // client need it) or a missing API_KEYS stops the boot naming both, not with a database plugin's timeout when
  // MongoDB is unreachable too.
  await checkEvery([() => encryptionCodec(config.env), () => requireApiAuthMode(config.env)]);
  const app = Fastify({
    logger:
      options.logger ??
      loggerOptions(config.env.LOG_LEVEL, { redactFields: userAddressFields(config.service.userFields) }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Longer than MongoDB's server selection (10 s), so that an unreachable store stops the boot with its own message
    // (`MONGODB_URL: cannot connect to …`), not with fastify's "plugin did not start in time".
    pluginTimeout: 30_000,
    // Send ids carry any saga id, percent-encoded (docs/operating-sends.md "Find a send in the Temporal UI").
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Error bodies already name the field; ajv's own coercion is replaced by zod.
    ajv: { customOptions: { coerceTypes: false } },
    frameworkErrors: renderFrameworkError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setSerializerCompiler(serializerCompiler);
  try {
    await app.register(configPlugin, { config });
    await app.register(drainingPlugin);
    await app.register(errorHandling);
    await app.register(authPlugin);
    await app.register(rateLimitPlugin);
    await app.register(openApiPlugin);
    await app.register(metricsPlugin);
    await app.register(databasePlugin, { database: options.database });
    await app.register(temporalPlugin, { temporal: options.temporal });
    await app.register(filesServicePlugin);
    await app.register(sendReconciliationPlugin, { everyMs: options.reconcileEveryMs });
    await app.register(retentionPlugin);
    await app.register(sendServicesPlugin);
    await app.register(messageServicesPlugin);
    await app.register(scheduleServicesPlugin);
    await app.register(digestServicesPlugin);
    for (const routes of [
      serviceIndexRoutes,
      healthRoutes,
      sendRoutes,
      sagaRoutes,
      sendsRoutes,
      scheduleRoutes,
      userRoutes,
      preferencesRoutes,
      suppressionRoutes,
      unsubscribeRoutes,
      templateRoutes,
      notificationRoutes,
      placeholderRoutes,
      providerRoutes,
      messageRoutes,
      conversationRoutes,
      digestRoutes,
      webhookRoutes,
      codecRoutes,
      erasureRoutes,
    ]) {
      await app.register(routes);
    }
  } catch (error) {
    // What the plugins before the failing one opened (a database connection) is closed again.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
