import { Client, Connection } from '@temporalio/client';
import fp from 'fastify-plugin';
import { temporalDataConverter } from '../../common/temporal/data-converter';

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts, describes and queries send workflows; the API never runs them. */
    temporal: Client;
  }
}

export interface TemporalPluginOptions {
  /** A connected client: the app uses it and leaves it open. Without one it connects, and closes on close. */
  temporal?: Client;
}

/** The Temporal client of `TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE`, encrypting what it writes to history. */
export const temporalPlugin = fp<TemporalPluginOptions>(
  async (app, options) => {
    let temporal = options.temporal;
    if (!temporal) {
      const { TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } = app.config.env;
      // Before connecting: a missing key stops the boot with its name.
      const dataConverter = temporalDataConverter(app.config.env);
      const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
      app.addHook('onClose', () => connection.close());
      temporal = new Client({ connection, namespace: TEMPORAL_NAMESPACE, dataConverter });
    }
    app.decorate('temporal', temporal);
  },
  { name: 'temporal', dependencies: ['config'] },
);
