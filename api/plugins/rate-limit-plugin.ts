import rateLimit from '@fastify/rate-limit';
import type { onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../../common/domain/http-errors';
import { errorResponses } from '../schemas/common-schemas';

/**
 * The rate limit of the sending routes, those of the `send` scope (docs/api.md): per API key, or per client IP
 * without `API_KEYS`, at most `api.rateLimit.max` requests to all of them together in `api.rateLimit.timeWindowMs`,
 * then 429 with `Retry-After`. Counted by @fastify/rate-limit in this process's memory: each API process has its
 * own counters. Registered after the auth plugin, whose check comes first, so that a wrong key counts for nothing.
 */
export const rateLimitPlugin = fp(
  async (app) => {
    const { max, timeWindowMs } = app.config.service.api.rateLimit;
    await app.register(rateLimit, {
      global: false,
      max,
      timeWindow: timeWindowMs,
      keyGenerator: (request) => (request.apiKey ? `key ${request.apiKey.id}` : `ip ${request.ip}`),
      errorResponseBuilder: (_request, context) =>
        new HttpError(
          429,
          `rate limit: at most ${context.max} sending requests per ${timeWindowMs / 1000} s; retry in ${context.after}`,
        ),
    });
    // One limiter for every sending route: a key's sends count together whichever route they take.
    const limitSends: onRequestHookHandler = app.rateLimit();
    app.addHook('onRoute', (route) => {
      if (route.config?.scope !== 'send') return;
      route.onRequest = [...[route.onRequest ?? []].flat(), limitSends];
      if (!route.schema?.response) return;
      const limited = errorResponses({ 429: 'Too many sending requests for this API key; see Retry-After' });
      route.schema = { ...route.schema, response: { ...limited, ...(route.schema.response as object) } };
    });
  },
  { name: 'rate-limit', dependencies: ['config', 'auth'] },
);
