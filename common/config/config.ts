import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { apiAuthMode, parseApiKeys, type ApiAuthMode } from './api-keys';
import { PROFILE_DEFAULTS, PROFILES, type Profile } from './profiles';
import { knownKeysOnly, strictObject } from '../toolkit/strict-object';
import { parseCodecKeys } from '../crypto/encryption-codec';
import { describeIssues } from '../toolkit/zod-issues';
import { isKnownTimezone } from '../toolkit/timezones';
import { throttleSettingSchema } from './throttle-setting';

/** Every channel the service knows; `activeChannels` picks a subset. */
export const CHANNELS = ['email', 'sms', 'push', 'voice', 'whatsapp'] as const;
export type Channel = (typeof CHANNELS)[number];

const optionalUrl = z.url().optional();
const DEFAULT_CONFIGURATION_PATH = 'config/default.json';
const port = z.coerce.number().int().min(0).max(65535);
/**
 * A provider's setting: its shape is checked by the provider's own schema (providers/), by the worker, and only for
 * the providers of active channels (docs/configuration.md).
 */
const providerSetting = z.string().optional();

/**
 * What the configuration needs to know of the providers. common/ names none of them: providers/provider-registry.ts
 * lists them and derives this, and providers/service-configuration.ts composes the configuration with it.
 */
export interface ProviderCatalog {
  /** Every provider type, as `registeredProviders.allowedHosts` and the provider API name them. */
  types: readonly [string, ...string[]];
  /** Per channel, the types `providers.<channel>` may name, its default first. */
  configurable: Record<Channel, readonly [string, ...string[]]>;
  /** The environment variables of the configurable providers' settings, in order. */
  variables: readonly string[];
  /** What each `MESSAGING_PROFILE` fills in for the variables left unset. */
  profileDefaults: Record<Profile, Readonly<Record<string, string>>>;
}

/** `id:base64key,…` AES-256 keys, the first of which encrypts (the payload codec, stored credentials). */
const aes256KeyList = z
  .string()
  .optional()
  .superRefine((value, context) => {
    if (value === undefined) return;
    try {
      parseCodecKeys(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** The environment variables (docs/configuration.md) but the providers' settings, which the catalog adds. */
const generalEnvShape = {
  MESSAGING_PROFILE: z.enum(PROFILES).default('production'),
  HTTP_PORT: port.default(3000),
  /** The worker's Prometheus `/metrics` (docs/operations.md "Metrics"); unset: the worker serves no metrics. */
  WORKER_METRICS_PORT: port.min(1).optional(),
  /** A workflow bundle built ahead (`npm run build`: dist/workflow-bundle.js); unset: the worker bundles at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('messaging'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  /**
   * The origins besides `TEMPORAL_UI_URL`'s that the codec endpoint answers CORS for, comma-separated: another name
   * of the UI's host (docs/operations.md "Encryption of workflow data"). The development profile admits the other
   * loopback name of a loopback `TEMPORAL_UI_URL` without it (`localhost` and `127.0.0.1`).
   */
  CODEC_CORS_ORIGINS: z
    .string()
    .optional()
    .transform((origins) =>
      (origins ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url().refine((url) => new URL(url).origin === url, 'must be an origin: scheme://host[:port]'))),
  /** The provider simulator's HTTP base; `GET /` names its inbox in the development profile, which defaults it. */
  SIMULATOR_URL: z.url().optional(),
  /** `id:base64key,…`, AES-256 keys of the payload codec; the first encrypts (docs/operations.md "Encryption of workflow data"). */
  TEMPORAL_CODEC_KEYS: aes256KeyList,
  MONGODB_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// connection string')
    .default('mongodb://127.0.0.1:27017/messaging'),
  USERS_CRUD_NAME: z.string().min(1).default('users'),
  TEMPLATES_CRUD_NAME: z.string().min(1).default('templates'),
  CONFIGURATION_PATH: z.string().min(1).default(DEFAULT_CONFIGURATION_PATH),
  FILE_SERVICE_URL: optionalUrl,
  /** Mia-Platform's SMS Service: a general setting before it was a provider's, and still checked as a URL here. */
  SMS_SERVICE_URL: optionalUrl,
  FLOW_MANAGER_URL: optionalUrl,
  DEFAULT_LOCALE: z.string().min(2).default('en'),
  /** Wall-clock budget of rendering one message, all its fields (docs/api.md "Rendering"); over it: `RENDER_LIMIT`. */
  RENDER_TIMEOUT_MS: z.coerce.number().int().min(10).max(60000).default(1000),
  /** Largest rendered message, all its fields, in UTF-8 bytes (docs/api.md "Rendering"); over it: `RENDER_LIMIT`. */
  RENDER_MAX_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  SEND_WAIT_MS: z.coerce.number().int().min(0).default(30000),
  API_KEYS: z
    .string()
    .optional()
    .transform((keys) =>
      keys
        ? keys
            .split(',')
            .map((key) => key.trim())
            .filter(Boolean)
        : [],
    )
    .superRefine((entries, context) => {
      try {
        parseApiKeys(entries);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /**
   * `none`: no API key is checked, on purpose, because a gateway in front authenticates every request
   * (docs/configuration.md); logged at boot. Unset, the API wants `API_KEYS` outside the development profile.
   */
  API_AUTH: z.enum(['keys', 'none']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * `id:base64key,…`, AES-256-GCM keys of the registered providers' credentials at rest; the first encrypts
   * (docs/os1-messaging.md "OS1-style messaging"). Unset: `/providers` refuses to store credentials.
   */
  PROVIDER_CREDENTIALS_KEYS: aes256KeyList,
  /** Where providers reach this API from outside: the base of the webhook URLs it hands them. */
  PUBLIC_BASE_URL: z.url().optional(),
  /**
   * The service's own secret: the tokens in the webhook URLs it gives providers and each API key's callback signing
   * secret derive from it (docs/os1-messaging.md "OS1-style messaging"). A comma-separated list rotates it: the first
   * signs and issues tokens, all of them verify. Unset: callbacks and provider webhooks are refused.
   */
  WEBHOOK_SECRET: z
    .string()
    .optional()
    .superRefine((value, context) => {
      // A list, comma-separated, for rotation: the first signs and issues tokens, every one verifies.
      if (value !== undefined && value.split(',').some((secret) => secret.trim().length < 16))
        context.addIssue({ code: 'custom', message: 'each comma-separated secret must be at least 16 characters' });
    }),
  /**
   * The key of the conversations' `customerHash` (an HMAC of the customer's number, docs/whatsapp.md "Two-way
   * WhatsApp"), so that the hash in the Temporal UI cannot be reversed by trying every number. Unset: conversations are
   * refused.
   */
  CUSTOMER_HASH_SECRET: z.string().min(16).optional(),
  /**
   * Whether the URLs callers give (callbacks, media to check) may reach loopback and private addresses; `false`
   * keeps a caller from reaching this network's insides through them. The development profile sets `true`.
   */
  ALLOW_PRIVATE_NETWORK_URLS: z.enum(['true', 'false']).optional(),
  /** Days a send's documents (send, deliveries, audience, dispatch claims) are kept (docs/operations.md "Retention"). */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
};

/**
 * The environment variables (docs/configuration.md): the general ones, with the providers' settings after
 * `CONFIGURATION_PATH`. The provider settings have no default here: the profiles fill them in per
 * `MESSAGING_PROFILE`, and the worker requires those of the active channels.
 */
function envSchemaFor(catalog: ProviderCatalog) {
  const providerShape = Object.fromEntries(
    catalog.variables.filter((name) => !Object.hasOwn(generalEnvShape, name)).map((name) => [name, providerSetting]),
  );
  const shape = Object.fromEntries(
    Object.entries(generalEnvShape).flatMap(([name, schema]) =>
      name === 'CONFIGURATION_PATH' ? [[name, schema], ...Object.entries(providerShape)] : [[name, schema]],
    ),
  );
  return z.object(shape as typeof generalEnvShape & Record<string, typeof providerSetting>);
}

/**
 * The validated environment: the general variables by name, and the providers' settings (`TWILIO_AUTH_TOKEN`), a
 * string or unset, which only the providers' modules name (`providerVariable` reads one).
 */
export type Env = z.infer<z.ZodObject<typeof generalEnvShape>> & { readonly [providerVariable: string]: unknown };

/** A provider's setting in the environment (`TWILIO_AUTH_TOKEN`): a string, or unset. */
export const providerVariable = (env: Env, name: string): string | undefined => env[name] as string | undefined;

/**
 * A category's name, as sends, templates, preferences and `criticalCategories` write it: one path segment (no dot),
 * never `__proto__`.
 */
export const CATEGORY_NAME = /^[A-Za-z0-9][A-Za-z0-9_:-]{0,63}$/;

const dotPaths = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/**
 * When a saga send tells the Flow Manager (docs/operating-sends.md "Saga sends"): `started` (the default, as the Mia
 * documentation says) sends the success event once the send has started and the fail event only for a command
 * that started none; `finished` sends the success event when the send ends, the fail event when it failed.
 */
export const SAGA_EVENTS_WHEN = ['started', 'finished'] as const;
export type SagaEventsWhen = (typeof SAGA_EVENTS_WHEN)[number];

/**
 * The JSON service configuration at `CONFIGURATION_PATH`, in the Mia shape (docs/configuration.md). Every object
 * refuses keys it does not know (`strictObject`): a misspelt key would otherwise be a setting that does nothing.
 */
function serviceConfigSchemaFor(catalog: ProviderCatalog) {
  const providerOf = (channel: Channel) =>
    z.enum(catalog.configurable[channel]).default(catalog.configurable[channel][0]);
  return strictObject({
    activeChannels: z.array(z.enum(CHANNELS)).min(1),
    userFields: strictObject({
      id: z.string().min(1).default('_id'),
      emailAddress: z.string().min(1).default('emailAddress'),
      phoneNumber: z.string().min(1).default('phoneNumber'),
      deviceToken: z.string().min(1).default('deviceToken'),
      clusters: z.string().min(1).default('clusters'),
      /** The user's IANA time zone, which quiet hours are read in (docs/preferences.md). */
      timezone: z.string().min(1).default('timezone'),
    }).prefault({}),
    sender: strictObject({
      email: z.email().default('noreply@example.com'),
      sms: z.string().min(1).default('+15005550006'),
      voice: z.string().min(1).default('+15005550006'),
      whatsapp: z.string().min(1).default('+15005550006'),
    }).prefault({}),
    androidIntentAction: z.string().min(1).optional(),
    providers: strictObject({
      email: providerOf('email'),
      sms: providerOf('sms'),
      voice: providerOf('voice'),
      push: providerOf('push'),
      whatsapp: providerOf('whatsapp'),
    }).prefault({}),
    /**
     * Provider limits per channel, e.g. `{ "sms": { "perSecond": 50 } }`: `perSecond` across all workers (a
     * shared counter per second in MongoDB), `concurrency` calls in flight per worker. See common/rate-limiter.ts.
     */
    rateLimits: knownKeysOnly(
      CHANNELS,
      z.partialRecord(
        z.enum(CHANNELS),
        strictObject({
          // Below 1 the per-second token count (its floor) would be 0 and every call would wait forever: refused.
          perSecond: z
            .number()
            .min(1, 'must be at least 1 (the limiter counts whole calls per second; a fraction is rounded down)')
            .optional(),
          concurrency: z.number().int().min(1).optional(),
        }),
      ),
    ).default({}),
    /**
     * Registered providers (`/providers`, docs/os1-messaging.md "OS1-style messaging"): outside the development profile
     * their URLs name only their type's public hosts; `allowedHosts` adds hosts per type, a name or `*.domain`, e.g. `{
     * "twilio": ["twilio-proxy.example.com"], "mia-sms-service": ["sms.example.com"] }`.
     */
    registeredProviders: strictObject({
      allowedHosts: knownKeysOnly(
        catalog.types,
        z.partialRecord(
          z.enum(catalog.types),
          z.array(z.string().regex(/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/, 'must be a host name or *.domain')),
        ),
      ).default({}),
    }).prefault({}),
    /**
     * A provider's `Retry-After` (docs/configuration.md): a dispatch waits out at most `capMs` itself (heartbeating);
     * a longer one ends the dispatch and the workflow waits on a durable timer, at most `maxMs`, before dispatching the
     * rest of the batch again.
     */
    retryAfter: strictObject({
      capMs: z.number().int().min(0).max(600_000).default(30_000),
      maxMs: z.number().int().min(1000).default(3_600_000),
    }).prefault({}),
    /** `POST /messages` callbacks (docs/os1-messaging.md "OS1-style messaging"): each is retried until 2xx for this long. */
    callbacks: strictObject({
      retryWindowMinutes: z.number().int().min(1).max(10080).default(1440),
    }).prefault({}),
    /** Recurring sends (`POST /schedules`, docs/operating-sends.md "Recurring sends"). */
    schedules: strictObject({
      /**
       * A firing missed by an outage (of Temporal) longer than this is skipped and counted, not sent late; one missed
       * by less is sent when Temporal is back. Applies to schedules created or changed after it is set.
       */
      catchupWindowSeconds: z.number().int().min(10).max(86_400).default(60),
    }).prefault({}),
    /**
     * Categories whose sends ignore users' preferences, as `critical: true` does (docs/preferences.md): what a user
     * cannot turn off, e.g. `["security", "password-reset"]`.
     */
    /** The time zone of a user whose `userFields.timezone` is absent or no IANA name. */
    defaultTimezone: z.string().refine(isKnownTimezone, 'must be an IANA time zone').default('UTC'),
    criticalCategories: z.array(z.string().regex(CATEGORY_NAME, 'must be a category name')).default([]),
    /**
     * A throttle per category (docs/preferences.md), `{ "marketing": { "limit": 3, "window": "P1D" } }`: applies to
     * the sends of the category that name no throttle themselves, nor through their template.
     */
    categoryThrottles: z
      .record(z.string().regex(CATEGORY_NAME, 'must be a category name'), throttleSettingSchema)
      .default({}),
    /** Temporal retry policy of every dispatch activity; transient provider errors are retried this way. */
    dispatchRetry: strictObject({
      initialIntervalMs: z.number().int().min(1).default(1000),
      backoffCoefficient: z.number().min(1).default(2),
      maximumIntervalMs: z.number().int().min(1).default(30000),
      maximumAttempts: z.number().int().min(1).max(100).default(5),
    }).prefault({}),
    /**
     * How a send pages and batches its audience (docs/internals.md). Measured: batches of 100 → 250 took the worker
     * from 0.75 to 0.59 CPU-ms per delivery and halved the history.
     */
    fanOut: strictObject({
      /** Users per page of the audience snapshot (one activity reads one page). */
      pageSize: z.number().int().min(1).max(10_000).default(1000),
      /**
       * A page of the audience snapshot closes before its copies of user documents pass this many bytes (BSON), so a
       * page of large users stays under the store's 16 MiB document limit; such a page holds fewer than `pageSize`.
       */
      pageBytes: z
        .number()
        .int()
        .min(1024)
        .max(15 * 1024 * 1024)
        .default(8 * 1024 * 1024),
      /** Users per dispatch activity (batch) in large sends. */
      chunkSize: z.number().int().min(1).max(1000).default(250),
      /** Sends of at most this many users get one activity per (user, channel), visible one by one in the UI. */
      perDeliveryLimit: z.number().int().min(0).max(1000).default(25),
      /** Pages per workflow run before `continueAsNew`, which bounds every history whatever the audience. */
      pagesPerRun: z.number().int().min(1).max(100).default(10),
      /** A dispatch whose worker stops heartbeating for this long (a crash) is retried on another worker. */
      heartbeatTimeoutMs: z.number().int().min(1000).default(30000),
    }).prefault({}),
    /** The API process (`npm run start:api`). */
    api: strictObject({
      /**
       * After SIGTERM readiness answers 503 for this long before the API stops taking connections: set it to the
       * time your load balancer needs to notice (its probe interval times its failure threshold).
       */
      shutdownDelayMs: z.number().int().min(0).max(120_000).default(0),
      /**
       * Per API key (per client IP without `API_KEYS`), per API process: at most `max` requests to the sending routes
       * in `timeWindowMs`, then 429 with `Retry-After` (docs/api.md "API").
       */
      rateLimit: strictObject({
        max: z.number().int().min(1).default(6000),
        timeWindowMs: z.number().int().min(1000).max(3_600_000).default(60_000),
      }).prefault({}),
    }).prefault({}),
    /** The worker process (`npm run start:worker`). */
    worker: strictObject({
      /** Activities one worker runs at once; each dispatch batch has 16 provider calls in flight. */
      maxConcurrentActivities: z.number().int().min(1).max(1000).default(64),
      /**
       * After SIGTERM the worker polls no new task and lets running activities finish for this long; then they are
       * cancelled: a dispatch records what it sent and leaves the rest to another worker.
       */
      shutdownGraceMs: z.number().int().min(0).max(600_000).default(20_000),
      /**
       * Workflow runs the worker keeps in memory between their tasks (0: none); one not kept replays its history on
       * its next task. Unset: the Temporal SDK's figure from the heap size (about 135 at `--max-old-space-size=384`).
       */
      maxCachedWorkflows: z.number().int().min(0).max(100_000).optional(),
    }).prefault({}),
    flowManagerConfiguration: strictObject(
      {
        serviceUrl: z.url().optional(),
        successEventLabel: z.string().min(1).optional(),
        failEventLabel: z.string().min(1).optional(),
        eventsWhen: z.enum(SAGA_EVENTS_WHEN).optional(),
        metadataSchema: strictObject({
          channels: dotPaths,
          recipients: dotPaths.optional(),
          clusters: dotPaths.optional(),
          messageTitle: dotPaths.optional(),
          messageContent: dotPaths.optional(),
          templateId: dotPaths.optional(),
          emailAttachments: dotPaths.optional(),
          emailCarbonCopies: dotPaths.optional(),
          emailBlindCarbonCopies: dotPaths.optional(),
          /** A scheduled saga send: the path of its `sendAt` (RFC 3339 with an offset). */
          sendAt: dotPaths.optional(),
        }).optional(),
        getTemplateIdFilePath: z.string().min(1).optional(),
        getDataFilePath: z.string().min(1).optional(),
      },
      // The Mia-Platform documentation spells these two with a lower-case l; its users' files do too.
      { aliases: { successEventlabel: 'successEventLabel', failEventlabel: 'failEventLabel' } },
    ).optional(),
  });
}
export type ServiceConfig = z.infer<ReturnType<typeof serviceConfigSchemaFor>>;

export interface AppConfig {
  env: Env;
  service: ServiceConfig;
}

/**
 * Raised when the configuration is invalid. `problems` lists each thing to fix (a variable, a JSON path, the settings
 * of a provider); the message names them all, so that one refused boot says everything to fix, not only the first.
 */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
  /** Each problem, as the message names it: `TEMPORAL_CODEC_KEYS: required (…)`. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    // One problem reads as it is; several as a list, one a line, counted so that none is overlooked.
    super(
      list.length === 1 ? list[0] : `${list.length} configuration problems:\n${list.map((p) => `- ${p}`).join('\n')}`,
    );
    this.problems = list;
  }
}

/** What each check of `checkEvery` resolves to, in the order of the checks. */
type CheckResults<T extends readonly (() => unknown)[]> = { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };

/**
 * Runs every boot check, the ones after a failed check too, and throws one `ConfigurationError` naming the problems
 * of all of them, in the order of the checks; resolves to their results when none fails. A check refuses by throwing
 * a `ConfigurationError`; any other error is not the configuration's fault and is thrown as it is.
 */
export async function checkEvery<const T extends readonly (() => unknown)[]>(checks: T): Promise<CheckResults<T>> {
  const settled = await Promise.allSettled(checks.map(async (check) => check()));
  const unexpected = settled.find(
    (outcome) => outcome.status === 'rejected' && !(outcome.reason instanceof ConfigurationError),
  );
  if (unexpected?.status === 'rejected') throw unexpected.reason;
  const problems = settled.flatMap((outcome) =>
    outcome.status === 'rejected' ? (outcome.reason as ConfigurationError).problems : [],
  );
  if (problems.length > 0) throw new ConfigurationError(problems);
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as CheckResults<T>;
}

/**
 * How the API authenticates (`apiAuthMode`), its refusal a `ConfigurationError`: the API's boot, `npm run
 * check-config`.
 */
export function requireApiAuthMode(env: Env): ApiAuthMode {
  try {
    return apiAuthMode(env);
  } catch (error) {
    throw new ConfigurationError((error as Error).message);
  }
}

/**
 * The configuration of a service sending through the providers of `catalog` (providers/service-configuration.ts
 * composes it with the registry's), validated once, at boot:
 * - `envSchema`, `serviceConfigSchema`: the environment variables and the JSON service configuration;
 * - `profileDefaults`: what each `MESSAGING_PROFILE` fills in, the general settings and the providers' (by variable);
 * - `parseEnvironment`, `parseServiceConfig`, `loadConfig`: the checks, throwing a `ConfigurationError` that names
 *   every offending variable or JSON path.
 */
export function configurationFor(catalog: ProviderCatalog) {
  const envSchema = envSchemaFor(catalog);
  const serviceConfigSchema = serviceConfigSchemaFor(catalog);
  const profileDefaults = Object.fromEntries(
    PROFILES.map((profile) => [profile, { ...catalog.profileDefaults[profile], ...PROFILE_DEFAULTS[profile] }]),
  ) as Record<Profile, Readonly<Record<string, string>>>;

  /** Parses the service JSON configuration from a string; exported for tests and the dev script. */
  function parseServiceConfig(json: string, source: string): ServiceConfig {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (error) {
      throw new ConfigurationError(`${source} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = serviceConfigSchema.safeParse(raw);
    if (!parsed.success)
      throw new ConfigurationError(
        `invalid configuration ${describeIssues(parsed.error.issues, { prefix: `${source} `, root: '(root)' })}`,
      );
    return parsed.data;
  }

  /**
   * Validates environment variables, then fills in the settings left unset with `MESSAGING_PROFILE`'s
   * (`profileDefaults`); empty strings count as unset.
   */
  function parseEnvironment(environment: Record<string, string | undefined>): Env {
    const present = Object.fromEntries(
      Object.entries(environment).filter(([, value]) => value !== '' && value !== undefined),
    );
    const parsed = envSchema.safeParse(present);
    if (!parsed.success)
      throw new ConfigurationError(`invalid environment ${describeIssues(parsed.error.issues, { root: '(root)' })}`);
    const env = parsed.data as unknown as Env;
    return { ...profileDefaults[env.MESSAGING_PROFILE], ...env };
  }

  /**
   * Validates the environment and the JSON configuration once, at boot. Empty strings count as unset, so
   * `FILE_SERVICE_URL=` in a shell disables the Files Service instead of failing URL validation.
   */
  function loadConfig(environment: NodeJS.ProcessEnv = process.env): AppConfig {
    // The environment and the file are both checked, so that a refusal names the problems of both.
    const problems: string[] = [];
    const refused = (error: unknown) => {
      if (!(error instanceof ConfigurationError)) throw error;
      problems.push(...error.problems);
    };
    let env: Env | undefined;
    try {
      env = parseEnvironment(environment);
    } catch (error) {
      refused(error);
    }
    const configPath = path.resolve(
      env?.CONFIGURATION_PATH ?? (environment.CONFIGURATION_PATH || DEFAULT_CONFIGURATION_PATH),
    );
    let service: ServiceConfig | undefined;
    try {
      service = parseServiceConfig(readConfigurationFile(configPath), 'CONFIGURATION_PATH');
    } catch (error) {
      refused(error);
    }
    if (!env || !service) throw new ConfigurationError(problems);
    return { env, service };
  }

  return { envSchema, serviceConfigSchema, profileDefaults, parseEnvironment, parseServiceConfig, loadConfig };
}

function readConfigurationFile(configPath: string): string {
  try {
    return readFileSync(configPath, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`CONFIGURATION_PATH ${configPath} cannot be read: ${(error as Error).message}`);
  }
}

/** Where the Flow Manager's events go: `FLOW_MANAGER_URL` wins over the JSON `serviceUrl`. */
export function flowManagerUrl(config: AppConfig): string | undefined {
  return config.env.FLOW_MANAGER_URL ?? config.service.flowManagerConfiguration?.serviceUrl;
}
