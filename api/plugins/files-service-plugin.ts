import fp from 'fastify-plugin';
import { FilesServiceClient } from '../../common/http/files-service-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Files Service of `FILE_SERVICE_URL`, where `/send` checks its attachments. */
    files: FilesServiceClient;
  }
}

/** The Files Service client and its connection pool, closed on close. */
export const filesServicePlugin = fp(
  async (app) => {
    const files = new FilesServiceClient(app.config.env.FILE_SERVICE_URL);
    app.addHook('onClose', () => files.close());
    app.decorate('files', files);
  },
  { name: 'files-service', dependencies: ['config'] },
);
