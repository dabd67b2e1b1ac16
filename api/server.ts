import { loadConfig } from '../providers/service-configuration';
import { createLogger } from '../common/config/logger';
import { buildApp } from './app';

const logger = createLogger('api');

/** `npm run start:api`: the app of `buildApp`, listening on `HTTP_PORT` until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const app = await buildApp({ config: loadConfig() });
  // A graceful stop: readiness turns 503 at once, so that a load balancer stops sending requests; after
  // `api.shutdownDelayMs` the app closes: no new connection, the requests in flight finish (a `POST /send` waiting
  // for its result answers), the dependencies close. A second signal changes nothing.
  const stop = async () => {
    app.startDraining();
    app.log.info({ delayMs: app.config.service.api.shutdownDelayMs }, 'stopping: readiness is 503, draining');
    await new Promise((resolve) => setTimeout(resolve, app.config.service.api.shutdownDelayMs));
    await app.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (app.draining) return;
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  await app.listen({ port: app.config.env.HTTP_PORT, host: '0.0.0.0' });
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, (error as Error).message);
  process.exit(1);
});
