import { parse as parseQueryString } from 'node:querystring';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DeliveryReportForwarder } from '../../services/messaging/delivery-report-forwarder';
import { InboundMessages } from '../../services/messaging/inbound-messages-service';
import { awsEventRoutes } from './aws-events';
import { infobipReportRoutes } from './infobip-reports';
import { twilioInboundRoutes } from './twilio-inbound';
import { twilioStatusRoutes } from './twilio-status';
import { whatsappInboundRoutes } from './whatsapp-inbound-routes';

/**
 * The providers' calls to this service (docs/os1-messaging.md, docs/whatsapp.md): their delivery reports (SES's and
 * Pinpoint's as Amazon SNS notifications) and WhatsApp's inbound messages. Each webhook checks that the call comes
 * from whom this service gave the URL to (the `token` only this service computes; Twilio's signature with the
 * account's auth token, SNS's signature, as well) and answers at once.
 */
export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config, temporal } = app;
  const { deliveryReports, callbackEvents, messageRequests, inboundMessages, conversations, suppressions } =
    app.repositories;
  const retryWindowMs = config.service.callbacks.retryWindowMinutes * 60_000;
  const workflows = { taskQueue: config.env.TEMPORAL_TASK_QUEUE, retryWindowMs };

  // Twilio posts HTML forms. Parsed for every webhook, not Twilio's alone: a form posted to another one is refused by
  // its token or its body's schema, never with a 415.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, parseQueryString(body as string)),
  );

  const reports = new DeliveryReportForwarder(
    { deliveryReports, callbackEvents, messageRequests },
    temporal,
    workflows,
  );
  await app.register(twilioStatusRoutes, { reports });
  await app.register(twilioInboundRoutes);
  await app.register(infobipReportRoutes, { reports });
  await app.register(awsEventRoutes, { reports });
  await app.register(whatsappInboundRoutes, {
    inbound: new InboundMessages({ inboundMessages, conversations, suppressions }, temporal, workflows),
  });
};
