import type { UserDocument } from '../../common/store/users-repository';
import type { AppConfig, Channel } from '../../common/config/config';
import { HttpError, PermanentProviderError, TransientProviderError } from '../../common/domain/http-errors';
import type { DeliveryOutcome } from '../../common/store/deliveries-repository';
import { normalAddress, OPTED_OUT_PROVIDER_CODES } from '../../common/domain/suppression-address';
import type { SuppressionsRepository } from '../../common/store/suppressions-repository';
import type { RenderedMessage, RenderFailure } from '../../common/rendering/message-content';
import type { ActivityMetrics } from '../activity-metrics';
import type { ChannelProviders, ProviderReceipt } from '../providers';
import { CallNotStarted, type ChannelRateLimiter } from '../rate-limiter';
import type { SendContext } from '../send-context';
import { listUnsubscribeHeaders, unsubscribeLinkOf } from './unsubscribe-link';

/** One attempt's outcome, and how long the provider asked us to wait before the next one. */
export interface Attempt {
  outcome: DeliveryOutcome;
  /** The provider's `Retry-After`, clamped to `retryAfter.maxMs`. */
  retryAfterMs?: number;
  /**
   * The provider was not called: the activity was cancelled while the call waited (`cancelled`), or the channel is
   * paused longer than a dispatch waits (`throttled`). The outcome stays `pending` and is not recorded.
   */
  notStarted?: 'cancelled' | 'throttled';
}

export interface DeliveryDeps {
  config: AppConfig;
  providers: ChannelProviders;
  limiter: ChannelRateLimiter;
  metrics: ActivityMetrics;
  /** Where a provider's "this recipient opted out" refusal puts the address (`OPTED_OUT_PROVIDER_CODES`). */
  suppressions?: Pick<SuppressionsRepository, 'add'>;
}

/** The user field each channel sends to (a user without it is `skipped` on that channel). */
const ADDRESS_FIELD: Record<Channel, 'emailAddress' | 'phoneNumber' | 'deviceToken'> = {
  email: 'emailAddress',
  sms: 'phoneNumber',
  voice: 'phoneNumber',
  whatsapp: 'phoneNumber',
  push: 'deviceToken',
};

/** How long a channel waits after a 429 that came without `Retry-After`. */
const THROTTLED_PAUSE_MS = 1000;

/** Hands a rendered message to the provider of its channel. */
function sendThroughProvider(
  deps: DeliveryDeps,
  context: SendContext,
  userId: string,
  address: string,
  message: RenderedMessage,
): Promise<ProviderReceipt> {
  const { sender, androidIntentAction } = deps.config.service;
  const request = context.send.request;
  switch (message.channel) {
    case 'email': {
      const unsubscribe = unsubscribeLinkOf(deps.config, request, 'email', userId);
      return context.attachments().then((attachments) =>
        deps.providers.email.sendEmail({
          from: request.emailSender ?? sender.email,
          to: address,
          cc: request.emailCarbonCopies,
          bcc: request.emailBlindCarbonCopies,
          subject: message.subject,
          text: message.text,
          html: message.html,
          attachments,
          ...(unsubscribe ? { headers: listUnsubscribeHeaders(unsubscribe) } : {}),
        }),
      );
    }
    case 'sms':
      return deps.providers.sms.sendSms({ from: sender.sms, to: address, body: message.body });
    case 'voice':
      return deps.providers.voice.call({ from: sender.voice, to: address, body: message.body });
    case 'whatsapp':
      return deps.providers.whatsapp.sendWhatsapp({ from: sender.whatsapp, to: address, body: message.body });
    case 'push':
      return deps.providers.push.sendPush({
        token: address,
        title: message.title,
        body: message.body,
        subtitle: message.subtitle,
        pushData: context.template?.pushData,
        androidIntentAction,
      });
  }
}

/** The address `user` has on `channel`, or undefined (no such field, or an empty one). */
export function addressOf(
  deps: Pick<DeliveryDeps, 'config'>,
  channel: Channel,
  user: UserDocument | undefined,
): string | undefined {
  const address = user?.[deps.config.service.userFields[ADDRESS_FIELD[channel]]];
  return typeof address === 'string' && address.trim() !== '' ? address.trim() : undefined;
}

/**
 * The message of each given user who has an address on `channel`, rendered in one task of the render pool (worker
 * threads, with the time budget and output cap of docs/api.md "Rendering"), before any provider call: a message, or the
 * `RENDER_LIMIT` / `RENDER_ERROR` it failed with.
 */
export async function renderDeliveries(
  deps: DeliveryDeps,
  context: SendContext,
  channel: Channel,
  userIds: string[],
  users: Map<string, UserDocument>,
): Promise<Map<string, RenderedMessage | RenderFailure>> {
  const toRender = userIds.filter((userId) => addressOf(deps, channel, users.get(userId)) !== undefined);
  const unsubscribeUrls = toRender.map((userId) =>
    unsubscribeLinkOf(deps.config, context.send.request, channel, userId),
  );
  const rendered = await context.content.renderAll(
    context.renderPool,
    channel,
    toRender.map((userId) => users.get(userId)!),
    context.send.request.data,
    unsubscribeUrls.some((url) => url !== undefined)
      ? unsubscribeUrls.map((unsubscribeUrl) => ({ unsubscribeUrl }))
      : undefined,
  );
  return new Map(toRender.map((userId, index) => [userId, rendered[index]]));
}

/**
 * One attempt to deliver to one user on one channel, as an outcome for the ledger: `sent`; `skipped` (no address);
 * `failed` for good (user gone, template that does not render or goes over the render limits, a provider's
 * permanent refusal, attempts used up); or `pending` (a transient failure, retried by the activity's retry). A
 * provider's 429 pauses the channel and does not count as an attempt. `rendered` is the user's message from
 * `renderDeliveries`.
 */
export async function attemptDelivery(
  deps: DeliveryDeps,
  context: SendContext,
  channel: Channel,
  userId: string,
  user: UserDocument | undefined,
  rendered: RenderedMessage | RenderFailure | undefined,
  previousAttempts: number,
  maxAttempts: number,
  signal?: AbortSignal,
): Promise<Attempt> {
  const base = { userId, channel };
  const failed = (code: string, error: string, attempted: boolean): Attempt => ({
    outcome: { ...base, status: 'failed', code, error, permanent: true, attempted },
  });
  if (!user) return failed('USER_NOT_FOUND', 'user not found', false);
  const address = addressOf(deps, channel, user);
  if (address === undefined) {
    const field = deps.config.service.userFields[ADDRESS_FIELD[channel]];
    return {
      outcome: { ...base, status: 'skipped', code: 'NO_ADDRESS', error: `user has no ${field}`, attempted: false },
    };
  }
  if (!rendered) throw new Error(`${channel} message for ${userId} was not rendered before its delivery`);
  if ('code' in rendered) return failed(rendered.code, rendered.error, false);
  return attemptProviderCall(
    deps,
    { channel, provider: deps.config.service.providers[channel], address },
    base,
    previousAttempts,
    maxAttempts,
    () => sendThroughProvider(deps, context, userId, address, rendered),
    signal,
  );
}

/** Puts on the suppression list the address a provider refused because its recipient opted out. */
async function suppressOptedOut(
  deps: DeliveryDeps,
  target: { channel: Channel; address?: string },
  error: PermanentProviderError,
): Promise<void> {
  const address = target.address === undefined ? null : normalAddress(target.channel, target.address);
  if (!deps.suppressions || address === null) return;
  await deps.suppressions.add(target.channel, address, `${error.code}: ${error.message}`, 'provider-opt-out');
}

/**
 * One provider call under the channel's rate limit, as a ledger outcome: `sent`, `failed` for good (a permanent
 * refusal, an attachment the Files Service refused, attempts used up) or `pending` (transient: the activity's retry
 * tries again). A provider's 429 pauses the channel and does not count as an attempt. Shared by `/send` and
 * `/messages` dispatches; `provider` names the provider type in the metrics. Once `signal` aborts (the activity was
 * cancelled) no call starts: the attempt comes back `notStarted`.
 */
export async function attemptProviderCall(
  deps: DeliveryDeps,
  /** `address`: the recipient, suppressed when the provider says it opted out. */
  target: { channel: Channel; provider: string; address?: string },
  base: { userId: string; channel: Channel },
  previousAttempts: number,
  maxAttempts: number,
  call: () => Promise<ProviderReceipt>,
  signal?: AbortSignal,
): Promise<Attempt> {
  const { channel, provider } = target;
  const failed = (code: string, error: string): Attempt => ({
    outcome: { ...base, status: 'failed', code, error, permanent: true, attempted: true },
  });
  try {
    const receipt = await deps.limiter.run(channel, call, signal);
    return { outcome: { ...base, status: 'sent', providerMessageId: receipt.providerMessageId, attempted: true } };
  } catch (error) {
    if (error instanceof CallNotStarted) {
      return {
        outcome: { ...base, status: 'pending', code: 'NOT_STARTED', error: error.message, attempted: false },
        notStarted: error.reason,
        ...(error.reason === 'throttled' ? { retryAfterMs: error.retryAfterMs } : {}),
      };
    }
    // An attachment the Files Service refused: no retry brings it back, and the provider was never called.
    if (error instanceof HttpError) return failed('ATTACHMENT_ERROR', error.message);
    if (error instanceof PermanentProviderError) {
      deps.metrics.providerError(channel, provider, error.code);
      if (OPTED_OUT_PROVIDER_CODES.has(error.code)) await suppressOptedOut(deps, target, error);
      return failed(error.code, error.message);
    }
    const transient =
      error instanceof TransientProviderError ? error : new TransientProviderError((error as Error).message, 'UNKNOWN');
    deps.metrics.providerError(channel, provider, transient.code);
    // A provider may ask for any wait; beyond `retryAfter.maxMs` it is not honoured.
    const retryAfterMs =
      transient.retryAfterMs === undefined
        ? undefined
        : Math.min(transient.retryAfterMs, deps.config.service.retryAfter.maxMs);
    if (transient.throttled) {
      // The provider asked us to slow down: hold the channel, and do not count it against the delivery.
      const pauseMs = retryAfterMs ?? THROTTLED_PAUSE_MS;
      deps.limiter.pause(channel, pauseMs);
      return {
        outcome: { ...base, status: 'pending', code: transient.code, error: transient.message, attempted: false },
        retryAfterMs: pauseMs,
      };
    }
    const exhausted = previousAttempts + 1 >= maxAttempts;
    return {
      outcome: {
        ...base,
        status: exhausted ? 'failed' : 'pending',
        code: transient.code,
        error: transient.message,
        attempted: true,
      },
      retryAfterMs,
    };
  }
}
