import { Context } from '@temporalio/activity';
import type {
  CallbackEventsRepository,
  CallbackPayload,
} from '../../common/store/messaging/callback-events-repository';
import { SharedLoads, mapWithConcurrency } from '../../common/toolkit/concurrency';
import { PermanentProviderError } from '../../common/domain/http-errors';
import type { DeliveryReportsRepository } from '../../common/store/messaging/delivery-reports-repository';
import {
  dispatchBatchKey,
  type DeliveryOutcome,
  type DeliveriesRepository,
} from '../../common/store/deliveries-repository';
import {
  messageAddressKey,
  type MessageChannel,
  type MessageRequestDocument,
  type MessageRequestsRepository,
  type StoredMessage,
} from '../../common/store/messaging/message-requests-repository';
import { deliveryKey, type DeliveryDocument } from '../../common/domain/send-types';
import { AttemptGuard } from '../dispatch/attempt-guard';
import { failIfNotAllAttempted, failIfRetrying } from '../dispatch/batch-end';
import { attemptProviderCall, type Attempt, type DeliveryDeps } from '../dispatch/deliver';
import { cancelledOutcome, type CancelledSends } from '../dispatch/cancelled-sends';
import { OutcomeWriter } from '../dispatch/outcome-writer';
import type { RegisteredProviders } from '../providers/registered-providers';
import type { PlaceholdersRepository } from '../../common/store/placeholders-repository';
import { normalAddress } from '../../common/domain/suppression-address';
import type { SuppressionsRepository } from '../../common/store/suppressions-repository';
import { RenderFailedError, type ModeTemplate, type OsMessageRenderer, type ProviderMessage } from './render-message';
import { providerResolver, sendThrough, statusCallbackUrl, withUnsubscribeLink } from './message-providers';
import { owePostedReports, rememberProviderIds } from './message-reports';

/** Input of `dispatchMessages`: message objects `first`…`last` (their `n`) of one channel of one request. */
export interface MessageDispatchInput {
  requestId: string;
  channel: MessageChannel;
  first: number;
  last: number;
  maxAttempts: number;
}

export interface MessageDispatchResult {
  sent: number;
  failed: number;
  alreadyDone: number;
  /** Set when the batch is handed back (`DispatchResult.retryAfterMs`): dispatched again after this long. */
  retryAfterMs?: number;
}

/** Where `dispatchMessages` finds mode templates by name, at their latest content or at a kept version. */
export interface ModeTemplateSource {
  findModeTemplate(name: string): Promise<ModeTemplate | null>;
  findModeTemplateVersion(name: string, version: number): Promise<ModeTemplate | null>;
}

/** The template a message is sent with: the version it names (a notification's approved one), else the latest. */
export const templateOfMessage = (
  templates: ModeTemplateSource,
  message: Pick<StoredMessage, 'template' | 'templateVersion'>,
): Promise<ModeTemplate | null> =>
  message.templateVersion === undefined
    ? templates.findModeTemplate(message.template)
    : templates.findModeTemplateVersion(message.template, message.templateVersion);

export interface MessageDispatchDeps extends DeliveryDeps {
  ledger: DeliveriesRepository;
  messageRequests: MessageRequestsRepository;
  templates: ModeTemplateSource;
  registered: RegisteredProviders;
  callbackEvents: CallbackEventsRepository;
  deliveryReports: DeliveryReportsRepository;
  placeholders: Pick<PlaceholdersRepository, 'forApp'>;
  renderer: OsMessageRenderer;
  requestCache: SharedLoads<MessageRequestDocument>;
  /** Read before each provider call: a cancelled request's addresses not sent yet are recorded `cancelled`. */
  cancelledSends: CancelledSends;
  suppressions: Pick<SuppressionsRepository, 'suppressedAmong' | 'add'>;
}

/** Provider calls in flight per activity, as for `/send`. */
const CALLS_IN_FLIGHT = 16;

/**
 * Sends message objects `first`…`last` of one channel of a `POST /messages` request, one ledger entry per address
 * (`<requestId>|<channel>|<n>/<address index>`), exactly as `/send` dispatches do (docs/internals.md): a batch claims
 * itself, a retried or replayed batch reads the ledger and sends only what is still pending, transient failures fail
 * the activity for Temporal to retry with backoff. Each address's status changes go to the callback outbox, and
 * each sent message's provider id is remembered for its delivery report.
 */
export async function dispatchMessages(
  deps: MessageDispatchDeps,
  input: MessageDispatchInput,
): Promise<MessageDispatchResult> {
  const guard = new AttemptGuard(deps.config.service.retryAfter.capMs);
  return guard.heartbeatWhile(() => dispatchMessageBatch(deps, input, guard));
}

async function dispatchMessageBatch(
  deps: MessageDispatchDeps,
  input: MessageDispatchInput,
  guard: AttemptGuard,
): Promise<MessageDispatchResult> {
  const { requestId, channel, first, last, maxAttempts } = input;
  const context = Context.current();
  const request = await deps.requestCache.get(requestId, async () => {
    const found = await deps.messageRequests.get(requestId);
    if (!found) throw new Error(`message request ${requestId} has no document`);
    return found;
  });
  const messages = request.messages.filter(
    (message) => message.channel === channel && message.n >= first && message.n <= last,
  );
  const addresses = messages.flatMap((message) =>
    message.to.map((to, index) => ({ message, to, key: messageAddressKey(message.n, index) })),
  );
  const keys = addresses.map(({ key }) => key);
  // Claimed as `/send`'s dispatches are: a batch that starts for the first time has no entry to read, and every
  // attempt claims the deliveries it may send before any call (one another batch holds is left to it).
  const firstRun = await deps.ledger.claimDispatch(requestId, channel, keys);
  const states = firstRun
    ? new Map<string, DeliveryDocument>()
    : await deps.ledger.deliveryStates(requestId, channel, keys);
  const undone = keys.filter((key) => (states.get(key)?.status ?? 'pending') === 'pending');
  const heldElsewhere = await deps.ledger.claimDeliveries(
    requestId,
    channel,
    dispatchBatchKey(requestId, channel, keys),
    undone,
    !firstRun,
  );
  const pending = addresses.filter(
    ({ key }) => (states.get(key)?.status ?? 'pending') === 'pending' && !heldElsewhere.has(key),
  );
  const result: MessageDispatchResult = { sent: 0, failed: 0, alreadyDone: addresses.length - pending.length };
  const owesCallbacks = request.callback !== undefined;
  // A retried batch: the provider ids of what an attempt before sent are stored after its whole batch, which a crash
  // may have cut short, so they are stored again (repeats are ignored), and reports kept for them are applied.
  if (!firstRun) {
    const done = addresses.flatMap(({ message, key }) => {
      const id = states.get(key)?.providerMessageId;
      return id ? [{ providerName: message.provider, providerMessageId: id, key }] : [];
    });
    const applied = await rememberProviderIds(deps, requestId, channel, done);
    if (owesCallbacks) await owePostedReports(deps, requestId, channel, addresses, applied);
  }
  if (pending.length === 0) return result;

  const event = (
    message: StoredMessage,
    to: string,
    key: string,
    change: Omit<CallbackPayload, 'eventId' | 'requestId' | 'messageId' | 'channel' | 'to' | 'timestamp'>,
  ): CallbackPayload => ({
    eventId: `${deliveryKey(requestId, channel, key)}|${change.status}`,
    requestId,
    messageId: message.messageId,
    channel,
    to,
    timestamp: new Date().toISOString(),
    ...change,
  });
  if (owesCallbacks) {
    await deps.callbackEvents.add(
      pending.map(({ message, to, key }) => event(message, to, key, { status: 'queued' })),
      pending.map(({ key }) => deliveryKey(requestId, channel, key)),
    );
  }

  // One lookup per template and provider in the batch, not per address; the tenant's and the application's
  // placeholders once per batch, as they are when it renders.
  const placeholders = await deps.placeholders.forApp(request.appId);
  const templates = new Map<string, Promise<ModeTemplate | null>>();
  const templateOf = (message: StoredMessage) => {
    const key = `${message.templateVersion ?? 'latest'}:${message.template}`;
    if (!templates.has(key)) templates.set(key, templateOfMessage(deps.templates, message));
    return templates.get(key)!;
  };
  const providerOf = providerResolver(deps, channel);

  // Addresses on the channel's suppression list are skipped, never attempted, in one query per batch.
  const suppressed = await deps.suppressions.suppressedAmong(
    channel,
    pending.flatMap(({ to }) => normalAddress(channel, to) ?? []),
  );
  const isSuppressed = (to: string) => suppressed.has(normalAddress(channel, to) ?? '');

  const writer = new OutcomeWriter(deps.ledger, requestId, deps.metrics, deps.config.service.providers[channel]);
  const attempted = new Map<string, { attempt: Attempt; providerType: string }>();
  await writer.recordAll(() =>
    mapWithConcurrency(
      pending,
      CALLS_IN_FLIGHT,
      async ({ message, to, key }) => {
        await writer.beforeProviderCall();
        // A flush may have waited long: the attempt may have been told to stop meanwhile.
        if (guard.shouldStop()) return;
        if (await deps.cancelledSends.isCancelled(requestId)) {
          const cancelled = { outcome: cancelledOutcome(key, channel) };
          attempted.set(key, { attempt: cancelled, providerType: deps.config.service.providers[channel] });
          await writer.add(cancelled.outcome);
          return;
        }
        const base = { userId: key, channel };
        const previousAttempts = states.get(key)?.attempts ?? 0;
        const failed = (code: string, error: string): Attempt => ({
          outcome: { ...base, status: 'failed', code, error, permanent: true, attempted: false },
        });
        let attempt: Attempt | undefined;
        let providerType: string = deps.config.service.providers[channel];
        if (isSuppressed(to)) {
          const error = `the address is on the ${channel} suppression list`;
          attempt = { outcome: { ...base, status: 'skipped', code: 'SUPPRESSED', error, attempted: false } };
          attempted.set(key, { attempt, providerType });
          await writer.add(attempt.outcome);
          return;
        }
        try {
          const template = await templateOf(message);
          const provider = await providerOf(message.provider);
          providerType = provider.providerType;
          let rendered: ProviderMessage | undefined;
          if (!template) {
            attempt = failed(
              'TEMPLATE_NOT_FOUND',
              `template "${message.template}" was deleted after the request was accepted`,
            );
          } else if (!template.isActive) {
            attempt = failed(
              'TEMPLATE_INACTIVE',
              `template "${message.template}" was deactivated after the request was accepted`,
            );
          } else {
            try {
              rendered = await deps.renderer.render(message, template, to, placeholders);
            } catch (error) {
              attempt =
                error instanceof RenderFailedError
                  ? failed(error.code, error.message)
                  : failed('RENDER_ERROR', `rendering failed: ${(error as Error).message}`);
            }
          }
          if (rendered) {
            const callbackUrl = statusCallbackUrl(deps, provider);
            const toSend = withUnsubscribeLink(
              deps,
              message,
              to,
              callbackUrl
                ? ({ ...rendered, message: { ...rendered.message, statusCallbackUrl: callbackUrl } } as ProviderMessage)
                : rendered,
            );
            attempt = await attemptProviderCall(
              deps,
              { channel, provider: provider.providerType, address: to },
              base,
              previousAttempts,
              maxAttempts,
              () => sendThrough(provider, toSend),
              guard.signal,
            );
          }
        } catch (error) {
          // The registered provider is gone or inactive: no retry brings it back.
          if (!(error instanceof PermanentProviderError)) throw error;
          attempt = failed(error.code, error.message);
        }
        if (!attempt) throw new Error('unreachable: every path sets an attempt');
        guard.note(attempt);
        if (!guard.keeps(attempt)) return;
        attempted.set(key, { attempt, providerType });
        await writer.add(attempt.outcome);
      },
      guard.shouldStop,
    ),
  );

  const finals = pending.filter(({ key }) => {
    const status = attempted.get(key)?.attempt.outcome.status;
    return status === 'sent' || status === 'failed' || status === 'skipped';
  });
  // The `sent` events are owed before the provider ids are stored: from then on a report finds its message, and its
  // event, which a poster of its own may post at once, must find the `sent` it follows already owed.
  if (owesCallbacks) {
    await deps.callbackEvents.add(
      finals.map(({ message, to, key }) => {
        const { outcome } = attempted.get(key)!.attempt;
        const status = outcome.status === 'sent' || outcome.status === 'skipped' ? outcome.status : 'failed';
        return event(message, to, key, {
          status,
          ...(outcome.providerMessageId ? { providerMessageId: outcome.providerMessageId } : {}),
          ...(status !== 'sent' ? { code: outcome.code, error: outcome.error } : {}),
        });
      }),
      finals.map(({ key }) => deliveryKey(requestId, channel, key)),
    );
  }
  const applied = await rememberProviderIds(
    deps,
    requestId,
    channel,
    finals.flatMap(({ message, key }) => {
      const { outcome } = attempted.get(key)!.attempt;
      return outcome.status === 'sent' && outcome.providerMessageId
        ? [{ providerName: message.provider, providerMessageId: outcome.providerMessageId, key }]
        : [];
    }),
  );
  // Reports that came before the ids were stored: owed after the `sent` they follow.
  if (owesCallbacks) await owePostedReports(deps, requestId, channel, addresses, applied);

  const outcomes: DeliveryOutcome[] = [...attempted.values()].map(({ attempt }) => attempt.outcome);
  result.sent = outcomes.filter((outcome) => outcome.status === 'sent').length;
  result.failed = outcomes.filter((outcome) => outcome.status === 'failed').length;
  const handBackMs = guard.handBack();
  if (handBackMs !== undefined) {
    // The rest waits on the workflow's durable timer, not in this activity (docs/configuration.md).
    context.log.info('message batch handed back', {
      requestId,
      channel,
      size: addresses.length,
      ...result,
      handBackMs,
    });
    return { ...result, retryAfterMs: handBackMs };
  }
  failIfNotAllAttempted(channel, 'messages', pending.length, outcomes.length);
  const retrying = [...attempted.values()]
    .map(({ attempt }) => attempt)
    .filter((attempt) => attempt.outcome.status === 'pending');
  context.log.info('message batch done', {
    requestId,
    channel,
    size: addresses.length,
    ...result,
    retrying: retrying.length,
  });
  failIfRetrying(channel, 'messages', pending.length, retrying, result);
  return result;
}
