import { z } from 'zod';
import { knownKeysOnly, strictObject } from '../toolkit/strict-object';
import { isKnownTimezone } from '../toolkit/timezones';
import { throttleSettingSchema } from './throttle-setting';
import { CHANNELS, type Channel } from './channels';
import type { ProviderCatalog } from './provider-catalog';

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
export function serviceConfigSchemaFor(catalog: ProviderCatalog) {
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
