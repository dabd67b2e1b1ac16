import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Channel } from '../../common/config/config';
import { CredentialsCipher, NO_CREDENTIALS_KEY } from '../../common/crypto/credentials-cipher';
import { badRequest, conflict, HttpError, notFound } from '../../common/domain/http-errors';
import { PROVIDER_CHANNELS, PROVIDER_SETTINGS_SCHEMAS, type ProviderType } from '../../providers/provider-registry';
import {
  ProviderBatchError,
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
  providerCreateBodySchema,
  type providerCreateSchema,
  providerListQuerySchema,
  providerName,
  providerPatchSchema,
  providerRegisteredSchema,
  providerSchema,
  providersRegisteredSchema,
  REDACTED,
} from '../schemas/providers-schemas';

const nameParams = z.object({ name: providerName });
const unknownName = errorResponses({ 404: 'No provider has this name' });

type ProviderCreate = z.output<typeof providerCreateSchema>;

/** A registration as the answer echoes it: every credential's value and the inbound webhook's secret redacted. */
const echoed = ({ credentials, inboundWebhook, ...fields }: ProviderCreate) => ({
  ...fields,
  credentials: Object.fromEntries(Object.keys(credentials).map((field) => [field, REDACTED])),
  ...(inboundWebhook ? { inboundWebhook: { ...inboundWebhook, secret: REDACTED } } : {}),
});

/** The request an answer echoes (the OS1 API's `request`): `/providers`, `POST`, what followed `?`, the body. */
const echoedRequest = <Body>(request: FastifyRequest, body: Body) => {
  const query = request.url.indexOf('?');
  return {
    uri: query === -1 ? request.url : request.url.slice(0, query),
    method: request.method,
    queryString: query === -1 ? '' : request.url.slice(query + 1),
    body,
  };
};

/** A refusal of the item at `index` of an array body, its message after the index: `1.name: …`. */
const itemError = (index: number, error: unknown): never => {
  if (error instanceof HttpError && error.statusCode < 500)
    throw new HttpError(error.statusCode, `${index}.${error.message}`);
  throw error;
};

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

  /**
   * The credentials as the type's settings schema reads them, or a 400 naming `credentials.<field>` after `at` (an
   * array item's index, `1.`), each issue of it.
   */
  const checkedCredentials = (providerType: ProviderType, credentials: Record<string, unknown>, at = '') => {
    const field = `${at}credentials`;
    const schema = z.object({ [field]: PROVIDER_SETTINGS_SCHEMAS[providerType] as z.ZodType });
    const parsed = parseRequestPart(schema, { [field]: credentials }, 'body');
    if ('error' in parsed) throw parsed.error;
    const checked = (parsed.value as Record<string, unknown>)[field] as Record<string, unknown>;
    const problems = registeredSettingsProblems(providerType, checked, {
      anyHost: env.MESSAGING_PROFILE === 'development',
      extraHosts: app.config.service.registeredProviders.allowedHosts,
    });
    if (problems.length > 0)
      throw badRequest(problems.map((problem) => `${field}.${problem.field}: ${problem.message}`).join('; '));
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

  /** A new provider's document, every check of its registration passed; nothing is stored yet. */
  const newProvider = (body: ProviderCreate, now: Date, at = ''): ProviderDocument => {
    const channel = channelOf(body.providerType, body.channel);
    const credentials = checkedCredentials(body.providerType, body.credentials, at);
    // Before anything is stored: a WhatsApp provider is of no use to two-way messaging without its webhook URL.
    inboundWebhookUrl({ name: body.name, channel }, true);
    return {
      _id: body.name,
      name: body.name,
      providerType: body.providerType,
      channel,
      ...encrypted(body.name, credentials),
      isActive: body.isActive,
      isTenantDefault: body.isTenantDefault,
      ...(body.inboundWebhook ? { inboundWebhook: storedInboundWebhook(body.name, channel, body.inboundWebhook) } : {}),
      createdAt: now,
      updatedAt: now,
    };
  };

  /**
   * The providers of an array body, all checked before any is stored: each item as one provider is, then against the
   * others (a name or a channel's default twice) and the names taken; then stored all or nothing (`createAll`).
   */
  const registerAll = async (bodies: ProviderCreate[]): Promise<ProviderDocument[]> => {
    const now = new Date();
    const docs = bodies.map((body, index) => {
      try {
        return newProvider(body, now, `${index}.`);
      } catch (error) {
        // The credentials' issues already name the item, each of them; the other checks name one field.
        if (error instanceof HttpError && error.message.startsWith(`${index}.`)) throw error;
        return itemError(index, error);
      }
    });
    const firstOf = new Map<string, number>();
    for (const [index, doc] of docs.entries()) {
      const named = firstOf.get(`name ${doc.name}`);
      if (named !== undefined) throw badRequest(`${index}.name: item ${named} has this name too`);
      firstOf.set(`name ${doc.name}`, index);
      if (!doc.isTenantDefault) continue;
      const defaulted = firstOf.get(`default ${doc.channel}`);
      if (defaulted !== undefined)
        throw badRequest(`${index}.isTenantDefault: item ${defaulted} is ${doc.channel}'s tenant default already`);
      firstOf.set(`default ${doc.channel}`, index);
    }
    const taken = await providers.takenNames(docs.map((doc) => doc.name));
    const takenIndex = docs.findIndex((doc) => taken.has(doc.name));
    if (takenIndex !== -1) throw conflict(`${takenIndex}.name: a provider named "${docs[takenIndex].name}" exists`);
    await providers.createAll(docs).catch((error: unknown) => {
      if (!(error instanceof ProviderBatchError)) throw error;
      itemError(
        error.index,
        error.cause instanceof ProviderConflictError ? conflict(error.cause.message) : error.cause,
      );
    });
    return docs;
  };

  app.post(
    '/providers',
    {
      config: { scope: 'providers' },
      schema: {
        tags: ['providers'],
        operationId: 'createProvider',
        summary:
          'Register a provider, or an array of them all or nothing; credentials are checked against the type and stored encrypted',
        body: providerCreateBodySchema,
        response: {
          201: z
            .union([providerRegisteredSchema, providersRegisteredSchema])
            .describe('Registered; a WhatsApp provider with its inbound webhook URL'),
          ...errorResponses({
            409: 'A name is taken, or a channel has a tenant default',
            503: 'PROVIDER_CREDENTIALS_KEYS (or, for WhatsApp, WEBHOOK_SECRET) is not set; or MongoDB cannot be reached',
          }),
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      if (Array.isArray(body)) {
        const docs = await registerAll(body);
        const defaults = new Map(docs.filter((doc) => doc.isTenantDefault).map((doc) => [doc.channel, doc.name]));
        return reply.code(201).send({
          data: docs.map((doc) => present(doc, defaults, { requireWebhook: true })),
          request: echoedRequest(request, body.map(echoed)),
        });
      }
      const doc = newProvider(body, new Date());
      await providers.create(doc).catch(storeConflict);
      const defaults = new Map(body.isTenantDefault ? [[doc.channel, body.name]] : []);
      const provider = present(doc, defaults, { requireWebhook: true });
      return reply.code(201).send({ ...provider, data: provider, request: echoedRequest(request, echoed(body)) });
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
