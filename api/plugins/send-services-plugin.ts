import fp from 'fastify-plugin';
import { SendLater } from '../services/send-later';
import { SendPreparation } from '../services/send-preparation';
import { SendResults } from '../services/send-result';
import { SendRetry } from '../services/send-retry';
import { SendStarter } from '../services/send-starter';

declare module 'fastify' {
  interface FastifyInstance {
    sendPreparation: SendPreparation;
    sendStarter: SendStarter;
    sendResults: SendResults;
    sendRetry: SendRetry;
    sendLater: SendLater;
  }
}

/**
 * The jobs of a send the routes call (api/services/): validating a request, starting it, its result, a retry, a
 * reschedule or a cancel (the recurring sends: schedule-services-plugin.ts).
 */
export const sendServicesPlugin = fp(
  async (app) => {
    const { config, temporal, files, sendReconciler } = app;
    const { sends, templates, ledger, providers, sendCancellations } = app.repositories;
    const starter = new SendStarter({ config, sends, temporal });
    const preparation = new SendPreparation({ config, templates, files, providers });
    app.decorate('sendPreparation', preparation);
    app.decorate('sendStarter', starter);
    app.decorate('sendResults', new SendResults({ temporal, ledger }));
    app.decorate('sendRetry', new SendRetry({ sends, ledger, reconciler: sendReconciler, starter }));
    const { messageRequests } = app.repositories;
    app.decorate(
      'sendLater',
      new SendLater({ sends, messageRequests, ledger, cancellations: sendCancellations, temporal }),
    );
  },
  { name: 'send-services', dependencies: ['config', 'database', 'temporal', 'files-service', 'send-reconciliation'] },
);
