import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { HttpError } from '../../common/errors';
import { errorResponses } from '../schemas/common';

/** Paths that answer without an API key: health and metrics (`/-/`) for probes, the documentation for people. */
const PUBLIC_PREFIXES = ['/-/', '/documentation'];

export const isPublicPath = (url: string): boolean => PUBLIC_PREFIXES.some((prefix) => url.startsWith(prefix));

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether a presented key is one of `keys`, in a time that tells nothing about the keys: digests of equal length
 * compared with `timingSafeEqual`, and every key compared.
 */
function keyMatcher(keys: string[]): (presented: string) => boolean {
  const digests = keys.map(sha256);
  return (presented) => {
    const digest = sha256(presented);
    return digests.reduce((found, key) => timingSafeEqual(key, digest) || found, false);
  };
}

/**
 * With `API_KEYS` set, every route but the public ones wants `Authorization: Bearer <key>` and answers 401 without a
 * valid one (README "Configuration"); documented routes registered after it declare that 401. Without keys, a no-op.
 */
export const authPlugin = fp(
  async (app) => {
    const keys = app.config.env.API_KEYS;
    if (keys.length === 0) return;
    const isKey = keyMatcher(keys);
    app.addHook('onRequest', async (request) => {
      if (isPublicPath(request.url)) return;
      const key = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!key || !isKey(key)) throw new HttpError(401, 'authorization: a valid "Bearer <API key>" is required');
    });
    app.addHook('onRoute', (route) => {
      if (isPublicPath(route.url) || !route.schema?.response) return;
      const unauthorized = errorResponses({ 401: 'No valid "Authorization: Bearer <API key>"' });
      route.schema = { ...route.schema, response: { ...unauthorized, ...(route.schema.response as object) } };
    });
  },
  { name: 'auth', dependencies: ['config'] },
);
