import type { Payload } from '@temporalio/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Env } from '../../common/config/config';
import { encryptionCodec } from '../../common/temporal/data-converter';
import { badRequest } from '../../common/domain/http-errors';
import { MESSAGE_BODY_LIMIT_BYTES } from '../request-errors';
import { errorResponses } from '../schemas/common-schemas';
import { payloadsJson, type PayloadsJson } from '../schemas/codec-schemas';

const fromJson = ({ payloads }: PayloadsJson): Payload[] =>
  payloads.map(({ metadata = {}, data = '' }) => ({
    metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(data, 'base64'),
  }));

const toJson = (payloads: Payload[]): PayloadsJson => ({
  payloads: payloads.map(({ metadata, data }) => ({
    metadata: Object.fromEntries(
      Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')]),
    ),
    data: Buffer.from(data ?? []).toString('base64'),
  })),
});

/** The names of this machine's loopback interface a browser may open a local Temporal UI at. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1'];

/**
 * The origins the codec answers CORS for: `TEMPORAL_UI_URL`'s and those of `CODEC_CORS_ORIGINS`; in the development
 * profile, a UI on this machine under either loopback name too, since `npm run dev`'s UI answers at both and a
 * browser sends the name it was opened at.
 */
export function codecCorsOrigins(
  env: Pick<Env, 'TEMPORAL_UI_URL' | 'CODEC_CORS_ORIGINS' | 'MESSAGING_PROFILE'>,
): Set<string> {
  const ui = new URL(env.TEMPORAL_UI_URL);
  const origins = new Set([ui.origin, ...env.CODEC_CORS_ORIGINS]);
  if (env.MESSAGING_PROFILE === 'development' && LOOPBACK_HOSTS.includes(ui.hostname))
    for (const host of LOOPBACK_HOSTS) origins.add(new URL(`${ui.protocol}//${host}:${ui.port}`).origin);
  return origins;
}

/**
 * The codec server of the Temporal UI and CLI (docs/operations.md "Encryption of workflow data"), per Temporal's codec
 * server protocol: `POST /codec/decode` and `/codec/encode` take and answer `{ payloads: [...] }`. The UI calls it from
 * the browser, so it answers CORS for the UI's origins only (`codecCorsOrigins`). With `API_KEYS` set it needs a valid
 * key like every route (api/plugins/auth-plugin.ts), which a browser preflight does not carry.
 */
export const codecRoutes: FastifyPluginAsyncZod = async (app) => {
  const codec = encryptionCodec(app.config.env);
  const uiOrigins = codecCorsOrigins(app.config.env);

  const allowUiOrigin = (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !uiOrigins.has(origin)) return false;
    reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true');
    return true;
  };
  app.addHook('onSend', async (request, reply) => {
    allowUiOrigin(request, reply);
  });

  app.options('/codec/:operation', { schema: { hide: true } }, async (request, reply) => {
    if (allowUiOrigin(request, reply))
      reply
        .header('access-control-allow-methods', 'POST')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-max-age', '600');
    return reply.code(204).send();
  });

  for (const operation of ['decode', 'encode'] as const) {
    app.post(
      `/codec/${operation}`,
      {
        config: { scope: 'codec' },
        // A history's payloads: as large as what a send carries (`POST /send`'s limit).
        bodyLimit: MESSAGE_BODY_LIMIT_BYTES,
        schema: {
          tags: ['codec'],
          operationId: `codec${operation === 'decode' ? 'Decode' : 'Encode'}`,
          summary: operation === 'decode' ? 'Decrypt Temporal payloads' : 'Encrypt Temporal payloads',
          description:
            operation === 'decode'
              ? 'Payloads without a key id (written before encryption) come back as they are.'
              : 'Encrypts with the first key of TEMPORAL_CODEC_KEYS.',
          body: payloadsJson,
          response: {
            200: payloadsJson.describe(operation === 'decode' ? 'The payloads decrypted' : 'The payloads encrypted'),
            ...(operation === 'decode'
              ? errorResponses({ 400: 'A payload names a key that is not configured, or does not decrypt' })
              : {}),
          },
        },
      },
      async (request) => {
        const payloads = fromJson(request.body);
        if (operation === 'encode') return toJson(await codec.encode(payloads));
        try {
          return toJson(await codec.decode(payloads));
        } catch (error) {
          throw badRequest(`payloads: ${(error as Error).message}`);
        }
      },
    );
  }
};
