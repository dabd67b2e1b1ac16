import fp from 'fastify-plugin';
import type { AppConfig } from '../../common/config/config';

declare module 'fastify' {
  interface FastifyInstance {
    /** The configuration, validated once at boot (`loadConfig`, docs/configuration.md). */
    config: AppConfig;
  }
}

export interface ConfigPluginOptions {
  config: AppConfig;
}

/** Decorates the app with its configuration, for the plugins and routes registered after it. */
export const configPlugin = fp<ConfigPluginOptions>(
  async (app, { config }) => {
    app.decorate('config', config);
  },
  { name: 'config' },
);
