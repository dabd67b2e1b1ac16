import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../../../common/domain/http-errors';
import { OutgoingHttpClient } from '../../../common/http/outgoing-http';
import { errorResponses } from '../../schemas/common-schemas';
import { awsEventReport, awsEventSuppression } from '../../services/messaging/aws-delivery-events';
import { normalAddress } from '../../../common/domain/suppression-address';
import type { DeliveryReportForwarder } from '../../services/messaging/delivery-report-forwarder';
import {
  SnsMessageVerifier,
  snsMessageSchema,
  snsRegionOf,
  SnsVerificationError,
  type SnsMessage,
} from '../../services/messaging/sns-message-verifier';
import { reportSender, unauthorized, webhookQuery } from './webhook-token';

export const AWS_EVENTS_PATH = '/webhooks/aws/events';

/** Certificates and subscription confirmations are a few kilobytes. */
const MAX_SNS_ANSWER_BYTES = 64 * 1024;

/**
 * Amazon SNS's HTTP(S) deliveries of SES and Pinpoint SMS events (docs/os1-messaging.md "SES and Pinpoint delivery
 * events"): the URL's token names the registered provider, as for the other reports, and every message must carry
 * SNS's signature (`SnsMessageVerifier`); one that does not is a 403 and changes nothing. A subscription
 * confirmation is confirmed by a GET of its `SubscribeURL`, on SNS's host only. A notification's event moves its
 * message's ledger entry like any delivery report: SNS retries a message (same `MessageId`) until answered 2xx, and a
 * repeated event moves nothing and owes no second callback (the ledger and the callback outbox are keyed by the change).
 */
export const awsEventRoutes: FastifyPluginAsyncZod<{ reports: DeliveryReportForwarder }> = async (app, { reports }) => {
  const { config } = app;
  const http = new OutgoingHttpClient({
    allowPrivateNetworks: config.env.ALLOW_PRIVATE_NETWORK_URLS === 'true',
    maxResponseBytes: MAX_SNS_ANSWER_BYTES,
  });
  app.addHook('onClose', () => http.close());
  const verifier = new SnsMessageVerifier({
    // The simulator signs its events with a certificate of its own, trusted in the development profile only.
    trustedOrigin: config.env.MESSAGING_PROFILE === 'development' ? (config.env.SIMULATOR_URL ?? null) : null,
    fetchText: async (url) => {
      const response = await http.call(url);
      if (response.status !== 200) throw new SnsVerificationError(`SigningCertURL: ${url} answered ${response.status}`);
      return response.body.toString('utf8');
    },
  });

  /** SNS posts its JSON as `text/plain`; the body is read as text whatever the content type says. */
  const snsMessageOf = (body: unknown): SnsMessage => {
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new HttpError(400, 'body: not an Amazon SNS message (not JSON)');
      }
    }
    const message = snsMessageSchema.safeParse(parsed);
    if (!message.success) {
      const issue = message.error.issues[0];
      throw new HttpError(400, `body.${issue.path.join('.')}: ${issue.message} (not an Amazon SNS message)`);
    }
    return message.data;
  };

  app.post(
    AWS_EVENTS_PATH,
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'awsSnsEvents',
        summary: 'Amazon SNS deliveries of SES and Pinpoint SMS events, signed by SNS',
        querystring: webhookQuery,
        body: z.unknown().describe('An Amazon SNS message (JSON, posted as text/plain)'),
        security: [],
        response: {
          204: z.undefined().describe('Taken; no body'),
          ...unauthorized,
          ...errorResponses({
            400: 'Not an Amazon SNS message',
            403: 'The SNS signature or its certificate URL does not hold',
            503: 'The subscription confirmation failed at SNS (SNS retries it)',
          }),
        },
      },
    },
    async (request, reply) => {
      const sender = reportSender(config.env, AWS_EVENTS_PATH, request.query);
      const message = snsMessageOf(request.body);
      try {
        await verifier.verify(message);
      } catch (error) {
        if (error instanceof SnsVerificationError) throw new HttpError(403, error.message);
        throw error;
      }
      if (message.Type === 'SubscriptionConfirmation') {
        await confirmSubscription(message);
        return reply.code(204).send();
      }
      if (message.Type === 'Notification') {
        const report = awsEventReport(message.Message);
        if (report) await reports.forward({ ...report, sender });
        // Hard bounces and complaints: the address is not mailed again (docs/preferences.md "Suppression list").
        const suppression = awsEventSuppression(message.Message);
        for (const address of suppression?.addresses ?? []) {
          const normal = normalAddress('email', address);
          if (normal)
            await app.repositories.suppressions.add('email', normal, suppression!.reason, suppression!.source);
        }
      }
      return reply.code(204).send();
    },
  );

  async function confirmSubscription(message: SnsMessage): Promise<void> {
    const url = message.SubscribeURL;
    if (!url || !verifier.isSnsUrl(url, snsRegionOf(message.TopicArn)))
      throw new HttpError(403, `SubscribeURL: ${url ?? '(none)'} is not on SNS's host of the topic's region`);
    const response = await http.call(url).catch((error: unknown) => {
      throw new HttpError(503, `SubscribeURL: ${(error as Error).message}`);
    });
    if (response.status !== 200) throw new HttpError(503, `SubscribeURL: SNS answered ${response.status}`);
    app.log.info({ topicArn: message.TopicArn }, 'SNS subscription confirmed');
  }
};
