import { z } from 'zod';
import { CHANNELS } from '../../common/config/config';
import { PROVIDER_MODULES, PROVIDER_TYPES } from '../../providers/provider-registry';
import { paginationQuerySchema } from './pagination-schemas';

/** A provider's name: its key, in `/providers/:name`, in a message's `provider` and in its webhook URL. */
export const providerName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

/** Each type's settings as its module's schema describes them, e.g. `twilio {baseUrl, accountSid, authToken}`. */
const CREDENTIALS_DESCRIPTION =
  'The settings of the provider type, write-only (never answered, stored encrypted): ' +
  PROVIDER_MODULES.map((module) => `${module.type} ${module.settingsSchema.description}`).join('; ') +
  '. Checked against the type: a 400 names the field. `endpoint` and `credentialsPath` are ' +
  "configuration only; outside the development profile, URLs must name the type's public hosts " +
  '(registeredProviders.allowedHosts adds more).';

/** The types that serve several channels, with them: `twilio, kaleyra: sms or voice`. */
const SEVERAL_CHANNELS = PROVIDER_MODULES.filter((module) => module.channels.length > 1)
  .map((module) => `${module.type}: ${module.channels.join(' or ')}`)
  .join('; ');

/** Where a WhatsApp provider's inbound messages go when no open conversation awaits them; the secret write-only. */
const inboundWebhookSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2000)
      .describe('Receives the inbound message as JSON, signed'),
    secret: z
      .string()
      .min(16)
      .max(500)
      .describe(
        'Signs each call: X-Signature sha256=<hex of HMAC-SHA256(secret, X-Timestamp + "." + raw body)>; ' +
          'write-only, stored encrypted',
      ),
  })
  .describe(
    'WhatsApp only: the default inbound webhook, where a customer message that no open conversation awaits is ' +
      'posted (docs/api.md "Providers")',
  );

/** `POST /providers` (the OS1 registerProvider); `credentials` are checked against `providerType` in the route. */
export const providerCreateSchema = z.strictObject({
  name: providerName.describe('Unique; messages name their provider by it'),
  providerType: z.enum(PROVIDER_TYPES),
  channel: z
    .enum(CHANNELS)
    .optional()
    .describe(`Required only when the type serves several channels (${SEVERAL_CHANNELS})`),
  credentials: z.record(z.string(), z.unknown()).describe(CREDENTIALS_DESCRIPTION),
  isActive: z.boolean().default(true),
  isTenantDefault: z
    .boolean()
    .default(false)
    .describe("The channel's default provider for messages that name none; one per channel (409 otherwise)"),
  inboundWebhook: inboundWebhookSchema.optional(),
});

/** The most providers one `POST /providers` registers: a tenant's whole registry, well under the body limit. */
export const MAX_PROVIDERS_PER_REQUEST = 50;

/**
 * `POST /providers`: one provider, or an array of them (the OS1 createServiceProviders) registered all or nothing,
 * a 4xx naming the item by its index (`1.credentials.accountSid: …`).
 */
export const providerCreateBodySchema = z.union([
  providerCreateSchema,
  z
    .array(providerCreateSchema)
    .min(1)
    .max(MAX_PROVIDERS_PER_REQUEST)
    .describe('Registered all or nothing: every item is checked before any is stored'),
]);

/** `PATCH /providers/:name`: credentials are replaced whole; the name, type and channel never change. */
export const providerPatchSchema = z.strictObject({
  isActive: z.boolean().optional(),
  isTenantDefault: z
    .boolean()
    .optional()
    .describe("true: become the channel's default (409 when another is); false: stop being it"),
  credentials: z.record(z.string(), z.unknown()).optional().describe(CREDENTIALS_DESCRIPTION),
  inboundWebhook: inboundWebhookSchema.nullable().optional().describe('Replaced whole; null removes it'),
});

/** A registered provider as the API answers it: never its credentials, only the names of their fields. */
export const providerSchema = z.object({
  name: z.string(),
  providerType: z.enum(PROVIDER_TYPES),
  channel: z.enum(CHANNELS),
  isActive: z.boolean(),
  isTenantDefault: z.boolean(),
  credentialFields: z
    .array(z.string())
    .describe('The names of the stored credentials; their values are never answered'),
  inboundWebhookUrl: z
    .string()
    .optional()
    .describe(
      'WhatsApp: where the provider posts inbound messages, to register at the provider; its token is a secret, shown to keys of the `providers` scope only',
    ),
  eventsWebhookUrl: z
    .string()
    .optional()
    .describe(
      'SES and Pinpoint: the HTTPS endpoint of the Amazon SNS subscription their configuration set publishes its events to; its token is a secret, shown to keys of the `providers` scope only',
    ),
  inboundWebhook: z
    .object({ url: z.string() })
    .optional()
    .describe('WhatsApp: the default inbound webhook, if one is set; its secret is never answered'),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const providerListQuerySchema = paginationQuerySchema.extend({
  channel: z.enum(CHANNELS).optional(),
  providerType: z.enum(PROVIDER_TYPES).optional(),
});

/** What every write-only value of a request is answered as when the answer echoes the request. */
export const REDACTED = '[redacted]';

/** The request an answer echoes, as the OS1 API's answers do: its body as read, write-only values redacted. */
const echoedRequestSchema = <Body extends z.ZodType>(body: Body) =>
  z
    .object({
      uri: z.string().describe('The path, e.g. `/providers`'),
      method: z.string(),
      queryString: z.string().describe('What followed `?` in the URL, or ""'),
      body,
    })
    .describe('The request answered');

const echoedProviderSchema = z
  .record(z.string(), z.unknown())
  .describe(
    `A provider as the request gave it, defaults filled in; every credential's value and the inbound webhook's ` +
      `secret are "${REDACTED}"`,
  );

/**
 * `POST /providers` with one provider: the provider in `data` beside the request (the OS1 API's answer), and its
 * fields at the top level too, as this API answered before it took the OS1 envelope.
 */
export const providerRegisteredSchema = providerSchema
  .extend({
    data: providerSchema.describe("The provider registered; a WhatsApp one's inboundWebhookUrl"),
    request: echoedRequestSchema(echoedProviderSchema),
  })
  .describe('Registered: the provider in `data` and, as before, at the top level; the request in `request`');

/** `POST /providers` with an array: the providers in the request's order. */
export const providersRegisteredSchema = z
  .object({
    data: z.array(providerSchema).describe('The providers registered, in the order given'),
    request: echoedRequestSchema(z.array(echoedProviderSchema)),
  })
  .describe('Registered, all of them');
