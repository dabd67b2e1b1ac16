import fp from 'fastify-plugin';
import { CallbackEventsRepository } from '../../common/store/messaging/callback-events-repository';
import { MessageRequestsRepository } from '../../common/store/messaging/message-requests-repository';
import { MessageRequests } from '../services/message-requests-service';

declare module 'fastify' {
  interface FastifyInstance {
    messageRequests: MessageRequests;
  }
}

/** `POST /messages` and its status (api/services/message-requests-service.ts). */
export const messageServicesPlugin = fp(
  async (app) => {
    const { config, database, temporal } = app;
    const { templates, providers, ledger } = app.repositories;
    app.decorate(
      'messageRequests',
      new MessageRequests({
        config,
        templates,
        providers,
        ledger,
        requests: new MessageRequestsRepository(database),
        callbackEvents: new CallbackEventsRepository(database),
        temporal,
      }),
    );
  },
  { name: 'message-services', dependencies: ['config', 'database', 'temporal'] },
);
