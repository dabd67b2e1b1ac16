import fp from 'fastify-plugin';
import { purgeRetention } from '../../common/store/retention-purge';

export interface RetentionPluginOptions {
  /** Time between the end of one purge and the start of the next. Default: 3 600 000 (an hour). */
  everyMs?: number;
}

/**
 * Deletes the deliveries, audience pages and dispatch claims older than `RETENTION_DAYS` (and the sends gone out,
 * throttle claims, cancels and digest events unneeded for that long) when the app is ready
 * and then every hour (docs/operations.md "Retention"): what the TTL indexes do on MongoDB, for a store that has none
 * (FerretDB 1.24). On MongoDB it finds what the TTL monitor has not reached yet, through the same index. The next purge
 * is scheduled when one ends, so two never overlap in one process; closing the app waits for a running one.
 */
export const retentionPlugin = fp<RetentionPluginOptions>(
  async (app, { everyMs = 3_600_000 }) => {
    const retentionDays = app.config.env.RETENTION_DAYS;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let closing = false;

    const purge = async (): Promise<void> => {
      try {
        const deleted = await purgeRetention(app.database, retentionDays);
        if (Object.values(deleted).some((count) => count > 0)) {
          app.log.info({ deleted, retentionDays }, 'documents past their retention deleted');
        }
      } catch (error) {
        app.log.warn({ err: error }, 'deleting documents past their retention failed; the next purge tries again');
      }
      if (!closing) timer = setTimeout(() => (running = purge()), everyMs).unref();
    };

    app.addHook('onReady', async () => {
      running = purge();
    });
    app.addHook('onClose', async () => {
      closing = true;
      clearTimeout(timer);
      await running;
    });
  },
  { name: 'retention', dependencies: ['config', 'database'] },
);
