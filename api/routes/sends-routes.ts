import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, notFound } from '../../common/domain/http-errors';
import { isSendId } from '../../common/temporal/workflow-ids';
import { FAILURES_PER_BATCH } from '../../common/store/deliveries-repository';
import type { SendDocument } from '../../common/domain/send-types';
import { progressQuery } from '../../workflows';
import type { SendProgress } from '../../workflows/send-progress';
import { errorResponses } from '../schemas/common-schemas';
import { eventRemovedSchema } from '../schemas/digests-schemas';
import { sendAcceptedSchema } from '../schemas/send-schemas';
import { resolveSendAt } from '../services/send-at';
import {
  cancelByKeyBodySchema,
  cancelledRequestSchema,
  cancelledSendSchema,
  rescheduleBodySchema,
  rescheduledSchema,
  deliveriesPageSchema,
  deliveriesQuerySchema,
  sendDetailSchema,
  sendIdParams,
  sendsQuerySchema,
  sendSummarySchema,
} from '../schemas/sends-schemas';
import { runningSend } from '../services/send-result';

/** A send document as `GET /sends` lists it; `GET /sends/:sendId` adds to it. */
/** The next release minute of a send's deliveries deferred by quiet hours, while it waits for one. */
const nextReleaseOf = (progress: SendProgress | null): string | null => {
  const minute = progress?.deferred?.minutes[0];
  return minute === undefined ? null : new Date(minute).toISOString();
};

const sendSummary = (send: SendDocument) => ({
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
  sendAt: send.sendAt ?? null,
  cancellationKey: send.cancellationKey ?? null,
});

const unknownSend = errorResponses({ 404: 'No send has this id' });

/**
 * Inspection and retry of sends (docs/operating-sends.md "Inspect through the API", "Retry failed deliveries"): the
 * document, live progress from the workflow, and the ledger. Reading a send writes nothing.
 */
export const sendsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, temporal, sendReconciler, sendRetry, sendLater, digestEvents } = app;
  const { sends, ledger } = app.repositories;
  const loadSend = async (sendId: string): Promise<SendDocument> => {
    if (!isSendId(sendId)) throw badRequest(`sendId: ${sendId} is not a send id`);
    const send = await sends.get(sendId);
    if (!send) throw notFound(`sendId: send ${sendId} not found`);
    return send;
  };
  /**
   * A send's counts and first failures without totalling its ledger (docs/internals.md): a finished send's from its
   * document, a running one's from the counts its workflow keeps, plus the stored counts and failures of the batches it
   * names (a point lookup each). The ledger is totalled (a scan on FerretDB) only
   * for what keeps no counts: retries and the sends they retried, sends started before counts were kept, sends
   * whose workflow is gone.
   */
  const totalsOf = async (send: SendDocument, progress: SendProgress | null) => {
    // A retry (`<sendId>-retry-<n>`) re-dispatches the original's deliveries, which stay keyed by the original.
    const ledgerId = send.retryOf ?? send._id;
    const kept = !send.retryOf && (send.retries ?? []).length === 0;
    if (kept && send.status !== 'running' && send.counts && send.failures) {
      return { counts: send.counts, failures: send.failures };
    }
    if (kept && send.status === 'running' && progress?.counts) {
      const totals = await ledger.keptTotals(progress.counts, progress.batchesToRead ?? []);
      if (totals) return totals;
    }
    const [counts, failures] = await Promise.all([
      ledger.counts(ledgerId),
      ledger.failures(ledgerId, FAILURES_PER_BATCH),
    ]);
    return { counts, failures };
  };
  const temporalUiLink = (workflowId: string) =>
    `${config.env.TEMPORAL_UI_URL}/namespaces/${encodeURIComponent(config.env.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;

  app.get(
    '/sends/:sendId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['sends'],
        operationId: 'getSend',
        summary: 'A send: status, counts, failures, progress',
        params: sendIdParams,
        response: { 200: sendDetailSchema.describe('The send as it reads now'), ...unknownSend },
      },
    },
    async (request) => {
      const stored = await loadSend(request.params.sendId);
      // A send whose workflow is gone reads closed at once; the periodic reconciliation stores it so.
      const closed = { ...stored, ...(await sendReconciler.closure(stored)) };
      // A cancelled one reads cancelled at once, while its workflow winds down.
      const send = { ...closed, status: await sendLater.statusOf(closed) };
      const progress =
        stored.status === 'running'
          ? await temporal.workflow
              .getHandle(send.workflowId)
              .query(progressQuery)
              .catch(() => null)
          : null;
      const { counts, failures } = await totalsOf(send, progress);
      return {
        ...sendSummary(send),
        temporalUiUrl: temporalUiLink(send.workflowId),
        counts,
        failures,
        progress,
        nextReleaseAt: nextReleaseOf(progress),
        retries: send.retries ?? [],
        closedBy: send.closedBy ?? null,
        error: send.audienceError ?? null,
      };
    },
  );

  app.get(
    '/sends',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['sends'],
        operationId: 'listSends',
        summary: 'Recent sends, newest first',
        querystring: sendsQuerySchema,
        response: { 200: sendSummarySchema.array().describe('Sends, newest first') },
      },
    },
    async (request) => {
      const { status, from, to, after, before, limit, skip } = request.query;
      const page = await sends.list({
        status,
        from: from ? new Date(from) : undefined,
        to: to ? new Date(to) : undefined,
        sendAtFrom: after ? new Date(after) : undefined,
        sendAtTo: before ? new Date(before) : undefined,
        limit,
        skip,
      });
      return page.map(sendSummary);
    },
  );

  app.post(
    '/sends/:sendId/retry',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['sends'],
        operationId: 'retrySend',
        summary: "Re-dispatch a send's failed deliveries as a new workflow",
        params: sendIdParams,
        response: {
          202: sendAcceptedSchema
            .extend({ retryOf: z.string().describe('The send retried') })
            .describe('The retry runs; follow statusUrl'),
          ...unknownSend,
          ...errorResponses({ 409: 'The send is still running, or no delivery of it failed' }),
        },
      },
    },
    async (request, reply) => {
      await loadSend(request.params.sendId);
      const { retryOf, ...started } = await sendRetry.retry(request.params.sendId);
      const body = { ...runningSend(started), retryOf };
      return reply.code(202).header('location', body.statusUrl).send(body);
    },
  );

  app.patch(
    '/sends/:sendId',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['sends'],
        operationId: 'rescheduleSend',
        summary: 'Move a scheduled send to a new sendAt (or delay from now)',
        params: sendIdParams,
        body: rescheduleBodySchema,
        response: {
          200: rescheduledSchema.describe('The send now waits for sendAt'),
          ...unknownSend,
          ...errorResponses({ 409: 'The send is no longer scheduled: the message names its status' }),
        },
      },
    },
    async (request) => {
      const sendAt = resolveSendAt(request.body, new Date());
      if (!sendAt) throw badRequest('sendAt: give sendAt or delay');
      return sendLater.reschedule(await loadSend(request.params.sendId), sendAt);
    },
  );

  app.delete(
    '/sends/:sendId',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['sends'],
        operationId: 'cancelSend',
        summary: 'Cancel a scheduled or running send: no further delivery goes to a provider',
        params: sendIdParams,
        response: {
          200: cancelledSendSchema.describe('Cancelled (again: the same answer)'),
          ...unknownSend,
          ...errorResponses({ 409: 'The send has ended: the message names its status' }),
        },
      },
    },
    async (request) => sendLater.cancel(await loadSend(request.params.sendId)),
  );

  app.post(
    '/sends/cancel',
    {
      config: { scope: 'send' },
      schema: {
        tags: ['sends'],
        operationId: 'cancelSendsByKey',
        summary:
          'Cancel every scheduled or running send and POST /messages request, and remove every pending event, of a cancellationKey',
        body: cancelByKeyBodySchema,
        response: {
          200: z
            .object({
              cancellationKey: z.string(),
              cancelled: z.array(cancelledSendSchema).describe('The sends cancelled, oldest first'),
              requests: z.array(cancelledRequestSchema).describe('The POST /messages requests cancelled, oldest first'),
              events: z
                .array(eventRemovedSchema)
                .describe('The POST /events events removed from the digests that had not flushed them, oldest first'),
            })
            .describe('What was cancelled; empty lists when nothing was left to cancel'),
        },
      },
    },
    async (request) => {
      const { cancellationKey } = request.body;
      const [{ sends: cancelled, requests }, events] = await Promise.all([
        sendLater.cancelByKey(cancellationKey),
        digestEvents.removeByKey(cancellationKey),
      ]);
      return { cancellationKey, cancelled, requests, events };
    },
  );

  app.get(
    '/sends/:sendId/deliveries',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['sends'],
        operationId: 'listDeliveries',
        summary: 'The ledger of a send, paginated',
        params: sendIdParams,
        querystring: deliveriesQuerySchema,
        response: { 200: deliveriesPageSchema.describe('A page of the ledger, in key order'), ...unknownSend },
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
