import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** True once the process was asked to stop: readiness answers 503 while requests in flight finish. */
    readonly draining: boolean;
    /** Readiness turns 503; the caller closes the app once the load balancer has had time to notice. */
    startDraining(): void;
  }
}

/** The drain state of a graceful stop (docs/operations.md "Graceful restarts"): `server.ts` starts it on SIGTERM. */
export const drainingPlugin = fp(
  async (app) => {
    let draining = false;
    app.decorate('draining', { getter: () => draining });
    app.decorate('startDraining', () => {
      draining = true;
    });
  },
  { name: 'draining' },
);
