import { z } from 'zod';
import { parseApiKeys } from './api-keys';
import { PROFILES } from './profiles';
import { parseCodecKeys } from '../crypto/encryption-codec';
import type { ProviderCatalog } from './provider-catalog';

const optionalUrl = z.url().optional();
export const DEFAULT_CONFIGURATION_PATH = 'config/default.json';
const port = z.coerce.number().int().min(0).max(65535);
/**
 * A provider's setting: its shape is checked by the provider's own schema (providers/), by the worker, and only for
 * the providers of active channels (docs/configuration.md).
 */
const providerSetting = z.string().optional();

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
export function envSchemaFor(catalog: ProviderCatalog) {
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
