import fp from 'fastify-plugin';
import { SagaFailEvents } from '../services/saga-fail-events-service';
import { SendReconciler } from '../services/send-reconciliation-service';

declare module 'fastify' {
  interface FastifyInstance {
    sendReconciler: SendReconciler;
    /** The fail events of refused saga commands: recorded by `/saga/send`, queued ones started by the periodic job. */
    sagaFailEvents: SagaFailEvents;
  }
}

export interface SendReconciliationOptions {
  /** How often the periodic job runs. Default: 60 000 (a minute). */
  everyMs?: number;
}

/**
 * The API's periodic job, once the app is ready and then every minute: closes the `running` sends whose workflow is
 * gone (`SendReconciler`, docs/operating-sends.md "Replay a send (reset)"), the one place, with a retry, where such a
 * send's document is written; and starts the workflows of the saga fail events queued while Temporal could not be
 * reached (`SagaFailEvents`, docs/operating-sends.md "Saga sends"). A run still going when the next one is due is left
 * to finish; closing the app waits for it.
 */
export const sendReconciliationPlugin = fp<SendReconciliationOptions>(
  async (app, { everyMs = 60_000 }) => {
    const { sends, ledger } = app.repositories;
    const reconciler = new SendReconciler({ config: app.config, temporal: app.temporal, sends, ledger });
    const sagaFailEvents = new SagaFailEvents({
      config: app.config,
      temporal: app.temporal,
      failEvents: app.repositories.sagaFailEvents,
    });
    app.decorate('sendReconciler', reconciler);
    app.decorate('sagaFailEvents', sagaFailEvents);

    const closeRunning = () =>
      reconciler.closeRunning().then(
        (closed) => void (closed > 0 && app.log.warn({ closed }, 'closed running sends whose workflow is gone')),
        (error: unknown) => app.log.warn({ err: error }, 'reconciling running sends failed'),
      );
    const drainFailEvents = () =>
      sagaFailEvents.drain().then(
        ({ started, failed, error }) => {
          if (started > 0) app.log.info({ started }, 'started the queued saga fail events');
          if (failed > 0) app.log.warn({ failed, err: error }, 'queued saga fail events could not start; next run');
        },
        (error: unknown) => app.log.warn({ err: error }, 'reading the queued saga fail events failed'),
      );
    let inFlight: Promise<void> | undefined;
    // Neither part rejects: each logs its own failure.
    const runJob = () => {
      inFlight ??= Promise.all([closeRunning(), drainFailEvents()])
        .then(() => undefined)
        .finally(() => (inFlight = undefined));
    };
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      runJob();
      timer = setInterval(runJob, everyMs).unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await inFlight;
    });
  },
  { name: 'send-reconciliation', dependencies: ['database', 'temporal'] },
);
