import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { buildApp } from './app';

const logger = createLogger('api');

/** `npm run start:api`: the app of `buildApp`, listening on `HTTP_PORT` until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const app = await buildApp({ config: loadConfig() });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.close().then(
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
