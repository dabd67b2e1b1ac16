import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  type Document,
} from 'mongodb';
import type { AppConfig, Channel } from '../common/config';
import { mapWithConcurrency } from '../common/concurrency';
import { HttpError, PermanentProviderError, TransientProviderError } from '../common/errors';
import type { DeliveryOutcome, Ledger } from '../common/ledger';
import type { DeliveryDocument } from '../common/types';
import type { RenderedMessage } from '../common/message-content';
import type { UsersRepository } from '../common/users-repository';
import type { ChannelProviders, ProviderReceipt } from './providers/channel-interfaces';
import type { ChannelRateLimiter } from '../common/rate-limiter';
import type { UserLoader } from './user-loader';
import type { SendContext, SendContextCache } from './send-context';

/** Input of every `dispatch<Channel>` activity: small, ids only (spec §6). */
export interface DispatchInput {
  sendId: string;
  userIds: string[];
  /** Provider attempts per delivery before a transient failure becomes final; counted in the ledger. */
  maxAttempts: number;
  /** The audience page the users come from, whose snapshot carries their documents (absent for a retry). */
  page?: number;
}

export interface DispatchResult {
  sent: number;
  failed: number;
  skipped: number;
  alreadyDone: number;
}

/** The user field each channel sends to (spec §2: a user without it is `skipped` on that channel). */
const ADDRESS_FIELD: Record<Channel, 'emailAddress' | 'phoneNumber' | 'deviceToken'> = {
  email: 'emailAddress',
  sms: 'phoneNumber',
  voice: 'phoneNumber',
  whatsapp: 'phoneNumber',
  push: 'deviceToken',
};

/** Provider calls in flight per activity; the worker's activity slots multiply it. */
const CALLS_IN_FLIGHT = 16;
const HEARTBEAT_EVERY_MS = 1000;
/** How long a channel waits after a 429 that came without `Retry-After`. */
const THROTTLED_PAUSE_MS = 1000;
/** Ledger writes are batched, but small batches keep the "sent but not yet recorded" window narrow. */
const LEDGER_FLUSH_SIZE = 25;

export interface DispatchDeps {
  config: AppConfig;
  ledger: Ledger;
  users: UsersRepository;
  userLoader: UserLoader;
  limiter: ChannelRateLimiter;
  providers: ChannelProviders;
  contexts: SendContextCache;
}

type Attempt = { outcome: DeliveryOutcome; retryAfterMs?: number };

function sendThroughProvider(
  deps: DispatchDeps,
  context: SendContext,
  address: string,
  message: RenderedMessage,
  pushData: Record<string, unknown> | undefined,
): Promise<ProviderReceipt> {
  const { sender, androidIntentAction } = deps.config.service;
  const request = context.send.request;
  switch (message.channel) {
    case 'email':
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
        }),
      );
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
        pushData,
        androidIntentAction,
      });
  }
}

async function attemptDelivery(
  deps: DispatchDeps,
  context: SendContext,
  channel: Channel,
  userId: string,
  user: Document | undefined,
  previousAttempts: number,
  maxAttempts: number,
): Promise<Attempt> {
  const base = { userId, channel };
  if (!user) {
    return {
      outcome: {
        ...base,
        status: 'failed',
        code: 'USER_NOT_FOUND',
        error: 'user not found',
        permanent: true,
        attempted: false,
      },
    };
  }
  const field = deps.config.service.userFields[ADDRESS_FIELD[channel]];
  const address = user[field];
  if (typeof address !== 'string' || address.trim() === '') {
    return {
      outcome: { ...base, status: 'skipped', code: 'NO_ADDRESS', error: `user has no ${field}`, attempted: false },
    };
  }
  let message: RenderedMessage;
  try {
    message = context.content.render(channel, { user, data: context.send.request.data });
  } catch (error) {
    const text = `rendering failed: ${(error as Error).message}`;
    return {
      outcome: { ...base, status: 'failed', code: 'RENDER_ERROR', error: text, permanent: true, attempted: false },
    };
  }
  try {
    const receipt = await deps.limiter.run(channel, () =>
      sendThroughProvider(deps, context, address.trim(), message, context.template?.pushData),
    );
    return { outcome: { ...base, status: 'sent', providerMessageId: receipt.providerMessageId, attempted: true } };
  } catch (error) {
    if (error instanceof PermanentProviderError || error instanceof HttpError) {
      const code = error instanceof PermanentProviderError ? error.code : 'ATTACHMENT_ERROR';
      return { outcome: { ...base, status: 'failed', code, error: error.message, permanent: true, attempted: true } };
    }
    const transient =
      error instanceof TransientProviderError ? error : new TransientProviderError((error as Error).message, 'UNKNOWN');
    if (transient.throttled) {
      // The provider asked us to slow down: hold the channel, and do not count it against the delivery.
      deps.limiter.pause(channel, transient.retryAfterMs ?? THROTTLED_PAUSE_MS);
      return {
        outcome: { ...base, status: 'pending', code: transient.code, error: transient.message, attempted: false },
        retryAfterMs: transient.retryAfterMs ?? THROTTLED_PAUSE_MS,
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
      retryAfterMs: transient.retryAfterMs,
    };
  }
}

/** How long a flush waits for an unreachable store (a MongoDB restart, a failover) before the activity fails. */
const LEDGER_PATIENCE_MS = 60_000;

/** Labels the driver puts on errors of a connection that dropped or could not be opened. */
const UNREACHABLE_LABELS = ['ResetPool', 'RetryableWriteError', 'RetryableError', 'SystemOverloadedError'];

/**
 * A connection dropped or refused, or no server to talk to. A bulk write wraps the network error (its
 * `errorResponse`), so labels and the wrapped error are checked too. The driver's own retryable writes do not
 * help: FerretDB does not support them.
 */
function isStoreUnreachable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError
  ) {
    return true;
  }
  if (!(error instanceof MongoError)) return false;
  if (UNREACHABLE_LABELS.some((label) => error.hasErrorLabel(label))) return true;
  return error instanceof MongoBulkWriteError && error.errorResponse instanceof MongoNetworkError;
}

/**
 * Records outcomes of messages the providers already accepted, waiting out a store outage (with heartbeats,
 * so Temporal still sees a live worker): failing here would make the activity's retry send them again.
 * Safe to repeat: `Ledger.record` is idempotent.
 */
async function recordPatiently(ledger: Ledger, sendId: string, outcomes: DeliveryOutcome[]): Promise<void> {
  const deadline = Date.now() + LEDGER_PATIENCE_MS;
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 2000)) {
    try {
      await ledger.record(sendId, outcomes);
      return;
    } catch (error) {
      if (!isStoreUnreachable(error) || Date.now() > deadline) throw error;
      Context.current().heartbeat();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Delivers one message to each given user on one channel, consulting and writing the ledger: a delivery
 * already `sent`, `skipped` or finally `failed` is never sent again, so Temporal retries and workflow
 * resets are safe (spec §2, §6). Transient failures leave deliveries `pending` and fail the activity with a
 * retryable failure, so Temporal retries just those with backoff; after `maxAttempts` they become `failed`.
 * A single-delivery activity that fails permanently throws a non-retryable failure carrying the code, so the
 * Temporal UI shows the failed dispatch itself.
 */
export async function dispatchDeliveries(
  deps: DispatchDeps,
  channel: Channel,
  input: DispatchInput,
): Promise<DispatchResult> {
  const { sendId, userIds, maxAttempts } = input;
  // A batch that starts for the first time has nothing in the ledger yet: no state to read.
  const firstRun = await deps.ledger.claimDispatch(sendId, channel, userIds);
  const states = firstRun
    ? new Map<string, DeliveryDocument>()
    : await deps.ledger.deliveryStates(sendId, channel, userIds);
  const pending = userIds.filter((userId) => (states.get(userId)?.status ?? 'pending') === 'pending');
  const result: DispatchResult = { sent: 0, failed: 0, skipped: 0, alreadyDone: userIds.length - pending.length };
  if (pending.length === 0) return result;

  let context: SendContext;
  try {
    context = await deps.contexts.get(sendId);
  } catch (error) {
    if (!(error instanceof PermanentProviderError)) throw error;
    const failed = pending.map((userId): DeliveryOutcome => ({
      userId,
      channel,
      status: 'failed',
      code: error.code,
      error: error.message,
      permanent: true,
      attempted: false,
    }));
    await deps.ledger.record(sendId, failed);
    throw ApplicationFailure.nonRetryable(error.message, error.code);
  }
  const users = await deps.userLoader.get(sendId, pending, input.page);

  // Outcomes are recorded in flushes. While a flush waits for the store, no new provider call starts: a
  // message sent now could not be recorded, and would be sent again by the activity's retry.
  const buffer: DeliveryOutcome[] = [];
  let flushing: Promise<void> | null = null;
  let ledgerFailure: unknown = null;
  const flush = (): Promise<void> => {
    flushing ??= (async () => {
      try {
        while (buffer.length > 0) await recordPatiently(deps.ledger, sendId, buffer.splice(0, buffer.length));
      } catch (error) {
        ledgerFailure ??= error;
        throw error;
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  };
  let lastHeartbeat = 0;
  const attempts = await mapWithConcurrency(pending, CALLS_IN_FLIGHT, async (userId) => {
    if (flushing) await flushing;
    if (ledgerFailure) throw ledgerFailure;
    const attempt = await attemptDelivery(
      deps,
      context,
      channel,
      userId,
      users.get(userId),
      states.get(userId)?.attempts ?? 0,
      maxAttempts,
    );
    buffer.push(attempt.outcome);
    // Each heartbeat tells Temporal this worker is alive (crash detection). One a second is plenty, and
    // each call crosses into the SDK's native core, so calls are throttled here too.
    const now = Date.now();
    if (now - lastHeartbeat >= HEARTBEAT_EVERY_MS) {
      lastHeartbeat = now;
      Context.current().heartbeat();
    }
    if (buffer.length >= LEDGER_FLUSH_SIZE) await flush();
    return attempt;
  });
  await flush();

  for (const { outcome } of attempts) {
    if (outcome.status === 'sent') result.sent++;
    else if (outcome.status === 'skipped') result.skipped++;
    else if (outcome.status === 'failed') result.failed++;
  }
  const retrying = attempts.filter((attempt) => attempt.outcome.status === 'pending');
  if (retrying.length > 0) {
    const first = retrying[0].outcome;
    const retryAfterMs = Math.max(0, ...retrying.map((attempt) => attempt.retryAfterMs ?? 0));
    throw ApplicationFailure.create({
      type: 'TransientProviderError',
      message: `${retrying.length} of ${pending.length} ${channel} deliveries will be retried: ${first.error}`,
      details: [{ code: first.code, result }],
      nextRetryDelay: retryAfterMs > 0 ? retryAfterMs : undefined,
    });
  }
  if (userIds.length === 1 && result.failed === 1) {
    const { outcome } = attempts[0];
    throw ApplicationFailure.create({
      type: outcome.permanent ? 'PermanentProviderError' : 'RetriesExhausted',
      message: `${channel} to ${outcome.userId} failed (${outcome.code}): ${outcome.error}`,
      nonRetryable: true,
      details: [{ code: outcome.code, userId: outcome.userId, channel }],
    });
  }
  return result;
}
