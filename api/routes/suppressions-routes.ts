import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Channel } from '../../common/config/config';
import { badRequest, notFound } from '../../common/domain/http-errors';
import { normalAddress } from '../../common/domain/suppression-address';
import type { SuppressionDocument } from '../../common/store/suppressions-repository';
import { errorResponses } from '../schemas/common-schemas';
import {
  suppressionBodySchema,
  suppressionParams,
  suppressionSchema,
  suppressionsQuerySchema,
} from '../schemas/suppressions-schemas';

/**
 * The suppression list (docs/preferences.md): addresses `/send` and `/messages` skip (`SUPPRESSED`) on a channel,
 * compared in their normal form. Every route needs the `admin` scope: the list is of people's addresses.
 */
export const suppressionRoutes: FastifyPluginAsyncZod = async (app) => {
  const { suppressions } = app.repositories;
  const badInput = errorResponses({ 400: 'The address is none of the channel (the message names the field)' });
  const present = ({ channel, address, reason, source, createdAt }: SuppressionDocument) => ({
    channel,
    address,
    reason,
    source,
    createdAt,
  });
  const normal = (channel: Channel, address: string, field: string) => {
    const normalized = normalAddress(channel, address);
    if (normalized === null) throw badRequest(`${field}: not an address of channel ${channel}`);
    return normalized;
  };

  app.post(
    '/suppressions',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['suppressions'],
        operationId: 'addSuppression',
        summary: 'Stop contacting an address on a channel',
        body: suppressionBodySchema,
        response: { 200: suppressionSchema.describe('On the list (as first added, when it was already)'), ...badInput },
      },
    },
    async (request) => {
      const { channel, address, reason } = request.body;
      const entry = await suppressions.add(
        channel,
        normal(channel, address, 'address'),
        reason ?? 'added through the API',
        'api',
      );
      return present(entry);
    },
  );

  app.get(
    '/suppressions',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['suppressions'],
        operationId: 'listSuppressions',
        summary: 'Suppressed addresses, newest first (at most 100)',
        querystring: suppressionsQuerySchema,
        response: { 200: z.array(suppressionSchema).describe('Suppressions, newest first'), ...badInput },
      },
    },
    async (request) => {
      const { channel, address } = request.query;
      if (address !== undefined && channel === undefined) throw badRequest('channel: required with address');
      const filter = {
        ...(channel ? { channel } : {}),
        ...(channel && address !== undefined ? { address: normal(channel, address, 'address') } : {}),
      };
      return (await suppressions.list(filter)).map(present);
    },
  );

  app.delete(
    '/suppressions/:channel/:address',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['suppressions'],
        operationId: 'removeSuppression',
        summary: 'Contact an address on a channel again',
        params: suppressionParams,
        response: {
          204: z.undefined().describe('Removed; no body'),
          ...badInput,
          ...errorResponses({ 404: 'The address is not suppressed on this channel' }),
        },
      },
    },
    async (request, reply) => {
      const { channel, address } = request.params;
      if (!(await suppressions.remove(channel, normal(channel, address, 'address')))) {
        throw notFound(`address: ${address} is not suppressed on ${channel}`);
      }
      return reply.code(204).send();
    },
  );
};
