import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { providerVariable } from '../../../common/config/config';
import { CredentialsCipher } from '../../../common/crypto/credentials-cipher';
import type { DeliveryReport } from '../../../common/store/messaging/delivery-reports-repository';
import { HttpError } from '../../../common/domain/http-errors';
import { publicBaseUrl } from '../../../common/http/webhook-urls';
import type { DeliveryReportForwarder } from '../../services/messaging/delivery-report-forwarder';
import { reportSender, unauthorized, webhookQuery } from './webhook-token';

const TWILIO_STATUS_PATH = '/webhooks/twilio/status';

/** Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL it called and its POST fields sorted by name. */
export function twilioSignature(authToken: string, url: string, fields: Record<string, string>): string {
  const signed = Object.keys(fields)
    .sort()
    .reduce((text, name) => text + name + fields[name], url);
  return createHmac('sha1', authToken).update(signed, 'utf8').digest('base64');
}

const sameText = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** Twilio's message statuses that are news to us; `queued`, `sending`, `sent` we knew when it answered. */
const TWILIO_STATUSES: Record<string, DeliveryReport['status']> = {
  delivered: 'delivered',
  read: 'read',
  undelivered: 'failed',
  failed: 'failed',
};

/** Twilio's status callbacks, proven twice: by the URL's token and by its signature with the account's auth token. */
export const twilioStatusRoutes: FastifyPluginAsyncZod<{ reports: DeliveryReportForwarder }> = async (
  app,
  { reports },
) => {
  const { config } = app;
  const { providers } = app.repositories;
  const cipher = new CredentialsCipher(config.env.PROVIDER_CREDENTIALS_KEYS);

  /** The auth token Twilio signed with: the registered provider's, or the configured account's. */
  async function twilioAuthToken(providerName: string | undefined): Promise<string | undefined> {
    if (providerName === undefined) return providerVariable(config.env, 'TWILIO_AUTH_TOKEN');
    const provider = await providers.get(providerName);
    if (provider?.providerType !== 'twilio') return undefined;
    const credentials = cipher.decrypt(provider.credentials, provider.name);
    return typeof credentials.authToken === 'string' ? credentials.authToken : undefined;
  }

  app.post(
    TWILIO_STATUS_PATH,
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'twilioStatusCallback',
        summary: "Twilio's message status callbacks (StatusCallback), signed X-Twilio-Signature",
        querystring: webhookQuery,
        body: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
        security: [],
        response: { 204: z.undefined().describe('Taken; no body'), ...unauthorized },
      },
    },
    async (request, reply) => {
      const sender = reportSender(config.env, TWILIO_STATUS_PATH, request.query);
      const fields = Object.fromEntries(
        Object.entries(request.body).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
      );
      const authToken = await twilioAuthToken(request.query.provider);
      const presented = request.headers['x-twilio-signature'];
      const expected = authToken && twilioSignature(authToken, `${publicBaseUrl(config.env)}${request.url}`, fields);
      if (!expected || typeof presented !== 'string' || !sameText(presented, expected))
        throw new HttpError(401, 'x-twilio-signature: missing, or not signed with the account auth token');
      const status = TWILIO_STATUSES[fields.MessageStatus ?? ''];
      if (status && fields.MessageSid) {
        await reports.forward({
          provider: 'twilio',
          sender,
          providerMessageId: fields.MessageSid,
          status,
          ...(status === 'failed'
            ? {
                code: fields.ErrorCode ? `TWILIO_${fields.ErrorCode}` : 'TWILIO_UNDELIVERED',
                error: fields.ErrorMessage ?? fields.MessageStatus,
              }
            : {}),
        });
      }
      return reply.code(204).send();
    },
  );
};
