import fp from 'fastify-plugin';
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
  }
}

/** The jobs of a send the routes call (api/services/): validating a request, starting it, its result, a retry. */
export const sendServicesPlugin = fp(
  async (app) => {
    const { config, temporal, files, sendReconciler } = app;
    const { sends, templates, ledger, providers } = app.repositories;
    const starter = new SendStarter({ config, sends, temporal });
    app.decorate('sendPreparation', new SendPreparation({ config, templates, files, providers }));
    app.decorate('sendStarter', starter);
    app.decorate('sendResults', new SendResults({ temporal, ledger }));
    app.decorate('sendRetry', new SendRetry({ sends, ledger, reconciler: sendReconciler, starter }));
  },
  { name: 'send-services', dependencies: ['config', 'database', 'temporal', 'files-service', 'send-reconciliation'] },
);
