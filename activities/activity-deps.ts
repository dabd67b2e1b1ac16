import type { AppConfig } from '../common/config/config';
import { CredentialsCipher } from '../common/crypto/credentials-cipher';
import { connectDatabase, type Database } from '../common/store/db';
import { FilesServiceClient } from '../common/http/files-service-client';
import { AudiencePagesRepository } from '../common/store/audience-pages-repository';
import { DeliveriesRepository } from '../common/store/deliveries-repository';
import { DigestsRepository } from '../common/store/digests-repository';
import { CallbackEventsRepository } from '../common/store/messaging/callback-events-repository';
import { ConversationsRepository } from '../common/store/messaging/conversations-repository';
import { DeliveryReportsRepository } from '../common/store/messaging/delivery-reports-repository';
import { InboundMessagesRepository } from '../common/store/messaging/inbound-messages-repository';
import { MessageRequestsRepository } from '../common/store/messaging/message-requests-repository';
import { PlaceholdersRepository } from '../common/store/placeholders-repository';
import { PreferencesRepository } from '../common/store/preferences-repository';
import { SuppressionsRepository } from '../common/store/suppressions-repository';
import { ThrottleClaimsRepository } from '../common/store/throttle-claims-repository';
import { OutgoingHttpClient } from '../common/http/outgoing-http';
import { ProvidersRepository } from '../common/store/providers-repository';
import { RateTokensRepository } from '../common/store/rate-tokens-repository';
import { SagaFailEventsRepository } from '../common/store/saga-fail-events-repository';
import { SendCancellationsRepository } from '../common/store/send-cancellations-repository';
import { SendSchedulesRepository } from '../common/store/send-schedules-repository';
import { SendsRepository } from '../common/store/sends-repository';
import { TemplatesRepository } from '../common/store/templates-repository';
import { UsersRepository } from '../common/store/users-repository';
import type { ActivityMetrics } from './activity-metrics';
import { createChannelProviders, type ChannelProviders } from './providers';
import { RegisteredProviders } from './providers/registered-providers';

/** What the activities need: the repositories (never the database itself), the providers, the Files Service. */
export interface ActivityDeps {
  config: AppConfig;
  ledger: DeliveriesRepository;
  sends: SendsRepository;
  /** The cancels of sends (`DELETE /sends/:id`), read by a scheduled send as it fires and before each provider call. */
  sendCancellations: SendCancellationsRepository;
  /** Recurring sends: a firing copies its schedule's request into its own send document. */
  sendSchedules: SendSchedulesRepository;
  templates: TemplatesRepository;
  users: UsersRepository;
  /** What each user chose to receive, read once per audience page by the dispatches. */
  preferences: PreferencesRepository;
  /** Addresses that must not be contacted: skipped `SUPPRESSED` by `/send` and `/messages`; fed by opt-out answers. */
  suppressions: SuppressionsRepository;
  /** The slots of throttled sends (`throttle` on `/send`). */
  throttleClaims: ThrottleClaimsRepository;
  audiencePages: AudiencePagesRepository;
  rateTokens: RateTokensRepository;
  sagaFailEvents: SagaFailEventsRepository;
  /** Digests: their events, documents and flushes (docs/digests.md). */
  digests: DigestsRepository;
  /** The providers registered at `/providers`, as stored (`registered` builds them). */
  providerRegistry: ProvidersRepository;
  conversations: ConversationsRepository;
  inboundMessages: InboundMessagesRepository;
  providers: ChannelProviders;
  files: FilesServiceClient;
  /** `POST /messages`: the requests, their callback outbox, the provider ids their delivery reports name. */
  messageRequests: MessageRequestsRepository;
  /** Tenant and application placeholder values, read by each `dispatchMessages` batch. */
  placeholders: PlaceholdersRepository;
  callbackEvents: CallbackEventsRepository;
  deliveryReports: DeliveryReportsRepository;
  /** The providers of `/providers`, built from their decrypted credentials by name. */
  registered: RegisteredProviders;
  /** `PROVIDER_CREDENTIALS_KEYS`: opens the secrets stored encrypted (a conversation's webhooks). */
  credentialsCipher: CredentialsCipher;
  /** Callbacks go to URLs callers gave: private addresses refused unless `ALLOW_PRIVATE_NETWORK_URLS`. */
  callbackHttp: OutgoingHttpClient;
  /** Where dispatches count what they do (docs/operations.md "Metrics"). Default: metrics of their own that nothing serves. */
  metrics?: ActivityMetrics;
}

/** The dependencies built on an open database; `close()` closes the providers and the Files Service client. */
export function activityDepsOn(
  config: AppConfig,
  database: Database,
  providers: ChannelProviders = createChannelProviders(config),
): ActivityDeps & { close(): Promise<void> } {
  const files = new FilesServiceClient(config.env.FILE_SERVICE_URL);
  const credentialsCipher = new CredentialsCipher(config.env.PROVIDER_CREDENTIALS_KEYS);
  const providerRegistry = new ProvidersRepository(database);
  const registered = new RegisteredProviders(providerRegistry, credentialsCipher, {
    policy: {
      anyHost: config.env.MESSAGING_PROFILE === 'development',
      extraHosts: config.service.registeredProviders.allowedHosts,
    },
    allowPrivateNetworks: config.env.ALLOW_PRIVATE_NETWORK_URLS === 'true',
  });
  const callbackHttp = new OutgoingHttpClient({
    allowPrivateNetworks: config.env.ALLOW_PRIVATE_NETWORK_URLS === 'true',
    maxResponseBytes: 64 * 1024,
  });
  return {
    config,
    ledger: new DeliveriesRepository(database),
    sends: new SendsRepository(database),
    sendCancellations: new SendCancellationsRepository(database),
    sendSchedules: new SendSchedulesRepository(database),
    templates: new TemplatesRepository(database),
    users: new UsersRepository(database, config.service.userFields),
    preferences: new PreferencesRepository(database),
    suppressions: new SuppressionsRepository(database),
    throttleClaims: new ThrottleClaimsRepository(database),
    audiencePages: new AudiencePagesRepository(database),
    rateTokens: new RateTokensRepository(database),
    sagaFailEvents: new SagaFailEventsRepository(database),
    digests: new DigestsRepository(database),
    providerRegistry,
    conversations: new ConversationsRepository(database),
    inboundMessages: new InboundMessagesRepository(database),
    providers,
    files,
    messageRequests: new MessageRequestsRepository(database),
    placeholders: new PlaceholdersRepository(database),
    callbackEvents: new CallbackEventsRepository(database),
    deliveryReports: new DeliveryReportsRepository(database),
    registered,
    credentialsCipher,
    callbackHttp,
    async close() {
      await Promise.allSettled([providers.close(), files.close(), registered.close(), callbackHttp.close()]);
    },
  };
}

/**
 * Builds every dependency from the configuration and connects to the database (the worker's start). The providers
 * come first: a missing or malformed provider setting stops the boot at once (`createChannelProviders`), before
 * any connection is tried.
 */
export async function connectActivityDeps(config: AppConfig): Promise<ActivityDeps & { close(): Promise<void> }> {
  const providers = createChannelProviders(config);
  const database = await connectDatabase(config).catch(async (error: unknown) => {
    await providers.close();
    throw error;
  });
  const deps = activityDepsOn(config, database, providers);
  return {
    ...deps,
    async close() {
      await deps.close();
      await database.close();
    },
  };
}
