import fp from 'fastify-plugin';
import { DigestEvents } from '../services/digest-events';
import { DigestOperations } from '../services/digest-operations';

declare module 'fastify' {
  interface FastifyInstance {
    digestEvents: DigestEvents;
    digestOperations: DigestOperations;
  }
}

/** The services of `/events` and `/digests` (docs/digests.md). */
export const digestServicesPlugin = fp(
  async (app) => {
    const { config, temporal, sendPreparation } = app;
    const { digests, users, sends } = app.repositories;
    app.decorate('digestEvents', new DigestEvents({ config, temporal, digests, users, sendPreparation }));
    app.decorate('digestOperations', new DigestOperations({ config, temporal, digests, sends }));
  },
  { name: 'digest-services', dependencies: ['config', 'database', 'temporal', 'send-services'] },
);
