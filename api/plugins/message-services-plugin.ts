import fp from 'fastify-plugin';
import { MessageRequests } from '../services/messaging/message-requests-service';

declare module 'fastify' {
  interface FastifyInstance {
    messageRequests: MessageRequests;
  }
}

/** `POST /messages` and its status (api/services/messaging/message-requests-service.ts). */
export const messageServicesPlugin = fp(
  async (app) => {
    const { config, temporal } = app;
    const { templates, providers, ledger, callbackEvents } = app.repositories;
    const messageRequests = new MessageRequests({
      config,
      templates,
      providers,
      ledger,
      requests: app.repositories.messageRequests,
      callbackEvents,
      temporal,
    });
    app.addHook('onClose', () => messageRequests.close());
    app.decorate('messageRequests', messageRequests);
  },
  { name: 'message-services', dependencies: ['config', 'database', 'temporal'] },
);
