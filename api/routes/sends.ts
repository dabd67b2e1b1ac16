import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNELS, type AppConfig } from '../../common/config';
import { notFound, badRequest } from '../../common/errors';
import { SEND_ID_PATTERN } from '../../common/ids';
import type { Ledger } from '../../common/ledger';
import { PROGRESS_QUERY } from '../../common/temporal-names';
import type { SendDocument } from '../../common/types';

const sendIdParams = z.object({ sendId: z.string().min(1).max(300) });

/** Inspection of sends (spec §4 "Sends"): the document, live progress from the workflow, and the ledger. */
export const sendsRoutes: FastifyPluginAsyncZod<{ ledger: Ledger; temporal: Client; config: AppConfig }> = async (
  app,
  { ledger, temporal, config },
) => {
  const loadSend = async (sendId: string): Promise<SendDocument> => {
    if (!SEND_ID_PATTERN.test(sendId)) throw badRequest(`sendId: ${sendId} is not a send id`);
    const send = await ledger.getSend(sendId);
    if (!send) throw notFound(`sendId: send ${sendId} not found`);
    return send;
  };
  const temporalUiLink = (workflowId: string) =>
    `${config.env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;

  app.get(
    '/sends/:sendId',
    { schema: { tags: ['sends'], summary: 'A send: status, counts, failures, progress', params: sendIdParams } },
    async (request) => {
      const send = await loadSend(request.params.sendId);
      const [counts, failures] = await Promise.all([ledger.counts(send._id), ledger.failures(send._id, 100)]);
      let progress: unknown = null;
      if (send.status === 'running') {
        progress = await temporal.workflow
          .getHandle(send.workflowId)
          .query(PROGRESS_QUERY)
          .catch(() => null);
      }
      return {
        sendId: send._id,
        kind: send.kind,
        status: send.status,
        workflowId: send.workflowId,
        temporalUiUrl: temporalUiLink(send.workflowId),
        channels: send.request.channels,
        templateId: send.request.templateId ?? null,
        recipients: send.recipientCount ?? null,
        counts,
        failures,
        progress,
        retryOf: send.retryOf ?? null,
        retries: send.retries ?? [],
        createdAt: send.createdAt,
        completedAt: send.completedAt ?? null,
      };
    },
  );

  app.get(
    '/sends/:sendId/deliveries',
    {
      schema: {
        tags: ['sends'],
        summary: 'The ledger of a send, paginated',
        params: sendIdParams,
        querystring: z.object({
          status: z.enum(['pending', 'sent', 'failed', 'skipped']).optional(),
          channel: z.enum(CHANNELS).optional(),
          cursor: z.string().max(500).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
    },
    async (request) => {
      const send = await loadSend(request.params.sendId);
      const page = await ledger.deliveries(send._id, request.query);
      return {
        deliveries: page.deliveries.map(({ _id: _key, ...delivery }) => delivery),
        nextCursor: page.nextCursor,
      };
    },
  );
};
