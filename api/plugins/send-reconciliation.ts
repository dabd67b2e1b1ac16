import fp from 'fastify-plugin';
import { SendReconciler } from '../services/send-reconciliation';

declare module 'fastify' {
  interface FastifyInstance {
    sendReconciler: SendReconciler;
  }
}

export interface SendReconciliationOptions {
  /** How often the `running` sends whose workflow is gone are closed. Default: 60 000 (a minute). */
  everyMs?: number;
}

/**
 * Closes the `running` sends whose workflow is gone (`SendReconciler`) once the app is ready and then every minute
 * (README "Replay a send (reset)"): the one place, with a retry, where such a send's document is written. A run
 * still going when the next one is due is left to finish; closing the app waits for it.
 */
export const sendReconciliationPlugin = fp<SendReconciliationOptions>(
  async (app, { everyMs = 60_000 }) => {
    const { sends, ledger } = app.repositories;
    const reconciler = new SendReconciler({ temporal: app.temporal, sends, ledger });
    app.decorate('sendReconciler', reconciler);

    let inFlight: Promise<void> | undefined;
    const closeRunning = () => {
      inFlight ??= reconciler
        .closeRunning()
        .then(
          (closed) => void (closed > 0 && app.log.warn({ closed }, 'closed running sends whose workflow is gone')),
          (error: unknown) => app.log.warn({ err: error }, 'reconciling running sends failed'),
        )
        .finally(() => (inFlight = undefined));
    };
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      closeRunning();
      timer = setInterval(closeRunning, everyMs).unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await inFlight;
    });
  },
  { name: 'send-reconciliation', dependencies: ['database', 'temporal'] },
);
