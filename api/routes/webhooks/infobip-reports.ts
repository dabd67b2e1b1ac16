import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeliveryReport } from '../../../common/store/messaging/delivery-reports-repository';
import type { DeliveryReportForwarder } from '../../services/messaging/delivery-report-forwarder';
import { reportSender, unauthorized, webhookQuery } from './webhook-token';

const INFOBIP_REPORTS_PATH = '/webhooks/infobip/reports';

/** Infobip's status groups that end a message; `PENDING` says nothing new. */
const INFOBIP_FINAL_GROUPS: Record<string, DeliveryReport['status']> = {
  DELIVERED: 'delivered',
  UNDELIVERABLE: 'failed',
  REJECTED: 'failed',
  EXPIRED: 'failed',
};

const infobipReportsBody = z.object({
  results: z
    .array(
      z
        .object({
          messageId: z.string().min(1),
          status: z.object({ groupName: z.string(), name: z.string().optional() }).loose().optional(),
          error: z.object({ groupName: z.string().optional(), name: z.string().optional() }).loose().optional(),
          seenAt: z.string().optional(),
        })
        .loose(),
    )
    .max(1000),
});

export const infobipReportRoutes: FastifyPluginAsyncZod<{ reports: DeliveryReportForwarder }> = async (
  app,
  { reports },
) => {
  const { config } = app;

  app.post(
    INFOBIP_REPORTS_PATH,
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'infobipReports',
        summary: "Infobip's delivery and seen reports (notifyUrl), several results per call",
        querystring: webhookQuery,
        body: infobipReportsBody,
        security: [],
        response: { 204: z.undefined().describe('Taken; no body'), ...unauthorized },
      },
    },
    async (request, reply) => {
      const sender = reportSender(config.env, INFOBIP_REPORTS_PATH, request.query);
      for (const result of request.body.results) {
        const status = result.seenAt ? 'read' : INFOBIP_FINAL_GROUPS[result.status?.groupName ?? ''];
        if (!status) continue;
        await reports.forward({
          provider: 'infobip',
          sender,
          providerMessageId: result.messageId,
          status,
          ...(status === 'failed'
            ? {
                code: `INFOBIP_${result.error?.name ?? result.status?.name ?? result.status?.groupName}`,
                error: result.status?.name ?? 'undeliverable',
              }
            : {}),
        });
      }
      return reply.code(204).send();
    },
  );
};
