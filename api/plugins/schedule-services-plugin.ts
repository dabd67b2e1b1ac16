import fp from 'fastify-plugin';
import { SendSchedules } from '../services/send-schedules';

declare module 'fastify' {
  interface FastifyInstance {
    sendSchedules: SendSchedules;
  }
}

/** Recurring sends (api/services/send-schedules.ts): their firings are checked as `POST /send` or `/messages` checks. */
export const scheduleServicesPlugin = fp(
  async (app) => {
    const { config, temporal, sendPreparation, messageRequests } = app;
    const { sends, sendSchedules } = app.repositories;
    app.decorate(
      'sendSchedules',
      new SendSchedules({
        config,
        temporal,
        schedules: sendSchedules,
        sends,
        preparation: sendPreparation,
        messagePreparation: messageRequests,
        messageRequests: app.repositories.messageRequests,
      }),
    );
  },
  { name: 'schedule-services', dependencies: ['config', 'database', 'temporal', 'send-services', 'message-services'] },
);
