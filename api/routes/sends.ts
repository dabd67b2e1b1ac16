import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNELS, type AppConfig } from '../../common/config';
import { notFound, badRequest } from '../../common/errors';
import { SEND_ID_PATTERN } from '../../common/ids';
import type { Ledger } from '../../common/ledger';
import type { SendsRepository } from '../../common/sends-repository';
import type { SendDocument } from '../../common/types';
import type { SendService } from '../services/send-service';
import { progressQuery } from '../../workflows';

const sendIdParams = z.object({ sendId: z.string().min(1).max(300) });

/** Inspection of sends (spec §4 "Sends"): the document, live progress from the workflow, and the ledger. */
export const sendsRoutes: FastifyPluginAsyncZod<{
  ledger: Ledger;
  sendsRepository: SendsRepository;
  temporal: Client;
  config: AppConfig;
  sends: SendService;
}> = async (app, { ledger, sendsRepository, temporal, config, sends }) => {
  const loadSend = async (sendId: string): Promise<SendDocument> => {
    if (!SEND_ID_PATTERN.test(sendId)) throw badRequest(`sendId: ${sendId} is not a send id`);
    const send = await sendsRepository.get(sendId);
    if (!send) throw notFound(`sendId: send ${sendId} not found`);
    return send;
  };
  const temporalUiLink = (workflowId: string) =>
    `${config.env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;

  app.get(
    '/sends/:sendId',
    { schema: { tags: ['sends'], summary: 'A send: status, counts, failures, progress', params: sendIdParams } },
    async (request) => {
      const send = await sends.reconcile(await loadSend(request.params.sendId));
      // A retry (`<sendId>-retry-<n>`) re-dispatches the original's deliveries, which stay keyed by the original.
      const ledgerId = send.retryOf ?? send._id;
      const [counts, failures] = await Promise.all([ledger.counts(ledgerId), ledger.failures(ledgerId, 100)]);
      let progress: unknown = null;
      if (send.status === 'running') {
        progress = await temporal.workflow
          .getHandle(send.workflowId)
          .query(progressQuery)
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
        closedBy: send.closedBy ?? null,
        createdAt: send.createdAt,
        completedAt: send.completedAt ?? null,
      };
    },
  );

  app.get(
    '/sends',
    {
      schema: {
        tags: ['sends'],
        summary: 'Recent sends, newest first',
        querystring: z.object({
          status: z.enum(['running', 'completed', 'failed']).optional(),
          from: z.iso.datetime({ offset: true }).optional().describe('created at or after (ISO 8601)'),
          to: z.iso.datetime({ offset: true }).optional().describe('created before (ISO 8601)'),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          skip: z.coerce.number().int().min(0).max(100000).default(0),
        }),
      },
    },
    async (request) => {
      const { status, from, to, limit, skip } = request.query;
      const sendsPage = await sendsRepository.list({
        status,
        from: from ? new Date(from) : undefined,
        to: to ? new Date(to) : undefined,
        limit,
        skip,
      });
      return sendsPage.map((send) => ({
        sendId: send._id,
        kind: send.kind,
        status: send.status,
        workflowId: send.workflowId,
        channels: send.request.channels,
        templateId: send.request.templateId ?? null,
        recipients: send.recipientCount ?? null,
        counts: send.counts ?? null,
        retryOf: send.retryOf ?? null,
        createdAt: send.createdAt,
        completedAt: send.completedAt ?? null,
      }));
    },
  );

  app.post(
    '/sends/:sendId/retry',
    {
      schema: {
        tags: ['sends'],
        summary: "Re-dispatch a send's failed deliveries as a new workflow",
        params: sendIdParams,
      },
    },
    async (request, reply) => {
      await loadSend(request.params.sendId);
      const started = await sends.retry(request.params.sendId);
      const statusUrl = sends.statusUrl(started.sendId);
      return reply
        .code(202)
        .header('location', statusUrl)
        .send({ ...started, status: 'running', statusUrl });
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
      const page = await ledger.deliveries(send.retryOf ?? send._id, request.query);
      return {
        deliveries: page.deliveries.map(({ _id: _key, ...delivery }) => delivery),
        nextCursor: page.nextCursor,
      };
    },
  );
};
