import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { connectDatabase } from '../common/db';
import { createLogger } from '../common/logger';
import { buildApp } from './app';

const logger = createLogger('api');

async function main(): Promise<void> {
  const config = loadConfig();
  const database = await connectDatabase(config);
  const connection = await Connection.connect({ address: config.env.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE });
  const app = await buildApp({ config, database, temporal, reconcileEveryMs: 60_000 });
  app.addHook('onClose', async () => {
    await connection.close();
    await database.close();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  await app.listen({ port: config.env.HTTP_PORT, host: '0.0.0.0' });
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, (error as Error).message);
  process.exit(1);
});
