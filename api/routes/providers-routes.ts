import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Channel } from '../../common/config/config';
import { CredentialsCipher, NO_CREDENTIALS_KEY } from '../../common/crypto/credentials-cipher';
import { badRequest, conflict, HttpError, notFound } from '../../common/domain/http-errors';
import { PROVIDER_CHANNELS, PROVIDER_SETTINGS_SCHEMAS, type ProviderType } from '../../providers/provider-registry';
import {
  ProviderConflictError,
  whatsappInboundWebhookPath,
  type ProviderDocument,
  type ProviderPatch,
} from '../../common/store/providers-repository';
import { registeredSettingsProblems } from '../../providers/registered-provider-policy';
import { MissingWebhookSecretError, providerWebhookUrl, reportWebhookUrl } from '../../common/http/webhook-urls';
import { AWS_EVENTS_PATH } from './webhooks/aws-events';
import { parseRequestPart } from '../request-errors';
import { requestHasScope } from '../plugins/auth-plugin';
import { errorResponses } from '../schemas/common-schemas';
import {
  providerCreateSchema,
  providerListQuerySchema,
  providerName,
  providerPatchSchema,
  providerSchema,
} from '../schemas/providers-schemas';

const nameParams = z.object({ name: providerName });
const unknownName = errorResponses({ 404: 'No provider has this name' });

/**
 * The provider registry `/providers` (docs/api.md): admins register, change and remove providers, read keys list
 * them. Credentials are the settings of the provider's type, checked by the schemas the worker builds providers
 * from (their modules in providers/), stored encrypted and never answered: an answer names their fields only.
 * Request bodies are not logged (fastify logs a request's method and URL), and the log redaction drops a
 * `credentials` field at any depth besides.
 */
export const providerRoutes: FastifyPluginAsyncZod = async (app) => {
  const { providers } = app.repositories;
  const { env } = app.config;
  const cipher = new CredentialsCipher(env.PROVIDER_CREDENTIALS_KEYS);

  /** The credentials as the type's settings schema reads them, or a 400 naming `credentials.<field>`. */
  const checkedCredentials = (providerType: ProviderType, credentials: Record<string, unknown>) => {
    const schema = z.object({ credentials: PROVIDER_SETTINGS_SCHEMAS[providerType] as z.ZodType });
    const parsed = parseRequestPart(schema, { credentials }, 'body');
    if ('error' in parsed) throw parsed.error;
    const checked = parsed.value.credentials as Record<string, unknown>;
    const problems = registeredSettingsProblems(providerType, checked, {
      anyHost: env.MESSAGING_PROFILE === 'development',
      extraHosts: app.config.service.registeredProviders.allowedHosts,
    });
    if (problems.length > 0)
      throw badRequest(problems.map(({ field, message }) => `credentials.${field}: ${message}`).join('; '));
    return checked;
  };

  /** Encrypted with the first key, bound to the provider; a 503 naming PROVIDER_CREDENTIALS_KEYS without one. */
  const encrypted = (provider: string, credentials: Record<string, unknown>) => {
    if (!cipher.canEncrypt) throw new HttpError(503, NO_CREDENTIALS_KEY);
    return { credentials: cipher.encrypt(credentials, provider), credentialFields: Object.keys(credentials).sort() };
  };

  /** The default inbound webhook as stored, its secret encrypted; a 400 naming it for a provider of another channel. */
  const storedInboundWebhook = (provider: string, channel: Channel, webhook: { url: string; secret: string }) => {
    if (channel !== 'whatsapp') throw badRequest('inboundWebhook: only a whatsapp provider receives inbound messages');
    if (!cipher.canEncrypt) throw new HttpError(503, NO_CREDENTIALS_KEY);
    return { url: webhook.url, secret: cipher.encrypt({ secret: webhook.secret }, provider) };
  };

  /** The channel a provider of this type serves: the one named, or the type's only one; else a 400 naming it. */
  const channelOf = (providerType: ProviderType, channel: Channel | undefined): Channel => {
    const served = PROVIDER_CHANNELS[providerType];
    if (channel === undefined) {
      if (served.length === 1) return served[0];
      throw badRequest(`channel: required, ${providerType} serves ${served.join(' and ')}`);
    }
    if (!served.includes(channel))
      throw badRequest(`channel: ${providerType} cannot serve ${channel} (it serves ${served.join(', ')})`);
    return channel;
  };

  /** The inbound webhook URL of a WhatsApp provider; absent without WEBHOOK_SECRET unless `required`. */
  const inboundWebhookUrl = (doc: Pick<ProviderDocument, 'name' | 'channel'>, required = false) => {
    if (doc.channel !== 'whatsapp') return undefined;
    try {
      return providerWebhookUrl(env, whatsappInboundWebhookPath(doc.name));
    } catch (error) {
      if (!(error instanceof MissingWebhookSecretError)) throw error;
      if (required) throw new HttpError(503, error.message);
      return undefined;
    }
  };

  /** SES and Pinpoint: the HTTPS endpoint of the SNS subscription their events go to; absent without WEBHOOK_SECRET. */
  const eventsWebhookUrl = (doc: Pick<ProviderDocument, 'name' | 'providerType'>) => {
    if (doc.providerType !== 'ses' && doc.providerType !== 'pinpoint') return undefined;
    try {
      return reportWebhookUrl(env, AWS_EVENTS_PATH, doc.name);
    } catch (error) {
      if (error instanceof MissingWebhookSecretError) return undefined;
      throw error;
    }
  };

  /**
   * What a client is answered: never the credentials, only their fields' names; the inbound webhook URL, which holds
   * its token, only to a key of the `providers` scope (`showWebhookUrl`).
   */
  const present = (
    doc: ProviderDocument,
    defaults: Map<string, string>,
    { requireWebhook = false, showWebhookUrl = true } = {},
  ) => {
    const webhook = showWebhookUrl ? inboundWebhookUrl(doc, requireWebhook) : undefined;
    const eventsWebhook = showWebhookUrl ? eventsWebhookUrl(doc) : undefined;
    return {
      name: doc.name,
      // Stored by this API only after the registry's schema of its type accepted it.
      providerType: doc.providerType as ProviderType,
      channel: doc.channel,
      isActive: doc.isActive,
      isTenantDefault: doc.isTenantDefault && defaults.get(doc.channel) === doc.name,
      credentialFields: doc.credentialFields ?? [],
      ...(webhook !== undefined ? { inboundWebhookUrl: webhook } : {}),
      ...(eventsWebhook !== undefined ? { eventsWebhookUrl: eventsWebhook } : {}),
      ...(doc.inboundWebhook ? { inboundWebhook: { url: doc.inboundWebhook.url } } : {}),
      createdAt: doc.createdAt,
      updatedAt: doc.updatedAt,
    };
  };

  /** A refusal of the store as the 409 naming its field. */
  const storeConflict = (error: unknown): never => {
    if (error instanceof ProviderConflictError) throw conflict(error.message);
    throw error;
  };

  const found = (doc: ProviderDocument | null, name: string): ProviderDocument => {
    if (!doc) throw notFound(`name: no provider is named "${name}"`);
    return doc;
  };

  app.get(
    '/providers',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['providers'],
        operationId: 'listProviders',
        summary: 'List registered providers, without their credentials',
        querystring: providerListQuerySchema,
        response: { 200: providerSchema.array().describe('A page of providers') },
      },
    },
    async (request) => {
      const [docs, defaults] = await Promise.all([providers.list(request.query), providers.defaultProviders()]);
      const showWebhookUrl = requestHasScope(request, 'providers');
      return docs.map((doc) => present(doc, defaults, { showWebhookUrl }));
    },
  );

  app.get(
    '/providers/:name',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['providers'],
        operationId: 'getProvider',
        summary: 'A registered provider, without its credentials',
        params: nameParams,
        response: { 200: providerSchema.describe('The provider'), ...unknownName },
      },
    },
    async (request) => {
      const doc = found(await providers.get(request.params.name), request.params.name);
      return present(doc, await providers.defaultProviders(), {
        showWebhookUrl: requestHasScope(request, 'providers'),
      });
    },
  );

  app.post(
    '/providers',
    {
      config: { scope: 'providers' },
      schema: {
        tags: ['providers'],
        operationId: 'createProvider',
        summary: 'Register a provider; its credentials are checked against its type and stored encrypted',
        body: providerCreateSchema,
        response: {
          201: providerSchema.describe('Registered; a WhatsApp provider with its inbound webhook URL'),
          ...errorResponses({
            409: 'The name is taken, or the channel has a tenant default',
            503: 'PROVIDER_CREDENTIALS_KEYS (or, for WhatsApp, WEBHOOK_SECRET) is not set; or MongoDB cannot be reached',
          }),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const channel = channelOf(body.providerType, body.channel);
      const credentials = checkedCredentials(body.providerType, body.credentials);
      // Before anything is stored: a WhatsApp provider is of no use to two-way messaging without its webhook URL.
      inboundWebhookUrl({ name: body.name, channel }, true);
      const now = new Date();
      const doc: ProviderDocument = {
        _id: body.name,
        name: body.name,
        providerType: body.providerType,
        channel,
        ...encrypted(body.name, credentials),
        isActive: body.isActive,
        isTenantDefault: body.isTenantDefault,
        ...(body.inboundWebhook
          ? { inboundWebhook: storedInboundWebhook(body.name, channel, body.inboundWebhook) }
          : {}),
        createdAt: now,
        updatedAt: now,
      };
      await providers.create(doc).catch(storeConflict);
      const defaults = new Map(body.isTenantDefault ? [[channel, body.name]] : []);
      return reply.code(201).send(present(doc, defaults, { requireWebhook: true }));
    },
  );

  app.patch(
    '/providers/:name',
    {
      config: { scope: 'providers' },
      schema: {
        tags: ['providers'],
        operationId: 'updateProvider',
        summary:
          'Activate, deactivate, make or unmake the tenant default, replace the credentials or set the inbound webhook of a provider',
        params: nameParams,
        body: providerPatchSchema,
        response: {
          200: providerSchema.describe('The provider as it now is'),
          ...unknownName,
          ...errorResponses({
            409: 'The channel has another tenant default',
            503: 'PROVIDER_CREDENTIALS_KEYS is not set (new credentials); or MongoDB cannot be reached',
          }),
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { credentials, inboundWebhook, ...fields } = request.body;
      const patch: ProviderPatch = { ...fields };
      if (credentials !== undefined || inboundWebhook) {
        // The type and channel never change, so the stored ones say how to read the new credentials and webhook.
        const current = found(await providers.get(name), name);
        if (credentials !== undefined)
          Object.assign(patch, encrypted(name, checkedCredentials(current.providerType as ProviderType, credentials)));
        if (inboundWebhook) patch.inboundWebhook = storedInboundWebhook(name, current.channel, inboundWebhook);
      }
      if (inboundWebhook === null) patch.inboundWebhook = null;
      const updated = found(await providers.update(name, patch).catch(storeConflict), name);
      return present(updated, await providers.defaultProviders());
    },
  );

  app.delete(
    '/providers/:name',
    {
      config: { scope: 'providers' },
      schema: {
        tags: ['providers'],
        operationId: 'deleteProvider',
        summary: 'Remove a provider; a tenant default it was is freed',
        params: nameParams,
        response: { 204: z.undefined().describe('Deleted; no body'), ...unknownName },
      },
    },
    async (request, reply) => {
      if (!(await providers.remove(request.params.name))) found(null, request.params.name);
      return reply.code(204).send();
    },
  );
};
