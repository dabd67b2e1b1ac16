import { ApplicationFailure } from '@temporalio/activity';
import type { DeliveryStatusSignal } from '../../common/temporal/conversation-signals';
import type { DeliveryReportsRepository } from '../../common/store/messaging/delivery-reports-repository';
import { PermanentProviderError } from '../../common/domain/http-errors';
import { FAILURE_TYPES } from '../../common/temporal/failure-types';
import type { DeliveriesRepository } from '../../common/store/deliveries-repository';
import { deliveryKey } from '../../common/domain/send-types';
import { reportWebhookUrl } from '../../common/http/webhook-urls';
import { attemptProviderCall, type Attempt, type DeliveryDeps } from '../dispatch/deliver';
import { templateOfMessage, type ModeTemplateSource } from '../messages/dispatch-messages';
import { RenderFailedError, type OsMessageRenderer } from '../messages/render-message';
import type { WhatsappMessage } from '../../providers/channel-interfaces';
import type { RegisteredProviders } from '../providers/registered-providers';
import type { ConversationsRepository } from '../../common/store/messaging/conversations-repository';

export interface ConversationMessageDeps extends DeliveryDeps {
  ledger: DeliveriesRepository;
  templates: ModeTemplateSource;
  registered: RegisteredProviders;
  deliveryReports: DeliveryReportsRepository;
  renderer: OsMessageRenderer;
  store: ConversationsRepository;
}

/** `question`: the template of the request; `error-<n>`: `errorMessage` after the n-th invalid answer. */
export interface ConversationMessageInput {
  conversationId: string;
  key: string;
}

export type ConversationMessageResult =
  | {
      status: 'sent';
      providerMessageId: string | null;
      /** Delivery reports that came before the provider id was stored, applied now: the workflow forwards them. */
      earlyReports?: DeliveryStatusSignal[];
    }
  | { status: 'failed'; code: string }
  /** An `error-<n>` of a conversation without `errorMessage`. */
  | { status: 'skipped' };

const INFOBIP_REPORTS_PATH = '/webhooks/infobip/reports';

/**
 * Sends one message of a conversation through its registered WhatsApp provider, as `/messages` does
 * (docs/os1-messaging.md "OS1-style messaging"): one ledger entry (`<conversationId>|whatsapp|<key>`) claimed before
 * the call, so a retried activity or a replayed workflow reads the ledger and never sends twice (but in the documented
 * window: the provider accepted, the worker died before the ledger heard); transient failures fail the activity for
 * Temporal to retry; the provider's message id is remembered for its delivery reports (`provider_messages`, request id
 * = the conversation id), and the step goes to the transcript. Logs name the conversation only.
 */
export async function sendConversationMessage(
  deps: ConversationMessageDeps,
  input: ConversationMessageInput,
): Promise<ConversationMessageResult> {
  const { conversationId, key } = input;
  const { request } = await deps.store.get(conversationId);
  const isQuestion = key === 'question';
  if (!isQuestion && request.errorMessage === undefined) return { status: 'skipped' };

  const entryKey = deliveryKey(conversationId, 'whatsapp', key);
  const firstRun = await deps.ledger.claimDispatch(conversationId, 'whatsapp', [key]);
  const previous = firstRun
    ? undefined
    : (await deps.ledger.deliveryStates(conversationId, 'whatsapp', [key])).get(key);
  if (previous && previous.status !== 'pending') {
    return previous.status === 'failed'
      ? { status: 'failed', code: previous.code ?? 'FAILED' }
      : { status: 'sent', providerMessageId: previous.providerMessageId ?? null };
  }

  const base = { userId: key, channel: 'whatsapp' as const };
  const failed = (code: string, error: string): Attempt => ({
    outcome: { ...base, status: 'failed', code, error, permanent: true, attempted: false },
  });
  let attempt: Attempt;
  let providerType = 'infobip';
  try {
    const provider = await deps.registered.get(request.provider);
    providerType = provider.providerType;
    let message: WhatsappMessage | undefined;
    if (isQuestion) {
      const template = await templateOfMessage(deps.templates, request.message);
      if (!template) {
        attempt = failed('TEMPLATE_NOT_FOUND', `template "${request.message.template}" was deleted`);
      } else if (!template.isActive) {
        attempt = failed('TEMPLATE_INACTIVE', `template "${request.message.template}" was deactivated`);
      } else {
        try {
          const rendered = await deps.renderer.render(
            {
              messageId: conversationId,
              n: 1,
              channel: 'whatsapp',
              template: request.message.template,
              provider: request.provider,
              data: request.message.data,
              to: [request.to],
              cc: [],
              bcc: [],
              from: request.from,
              ...(request.message.media ? { media: request.message.media } : {}),
              ...(request.message.buttons ? { buttons: request.message.buttons } : {}),
            },
            template,
            request.to,
          );
          if (rendered.channel === 'whatsapp') message = rendered.message;
        } catch (error) {
          attempt =
            error instanceof RenderFailedError
              ? failed(error.code, error.message)
              : failed('RENDER_ERROR', `rendering failed: ${(error as Error).message}`);
        }
      }
    } else {
      // Free-form text: the customer has just written, so the 24-hour session is open.
      message = { from: request.from, to: request.to, body: request.errorMessage! };
    }
    if (message) {
      if (providerType === 'infobip' && deps.config.env.WEBHOOK_SECRET) {
        message = {
          ...message,
          statusCallbackUrl: reportWebhookUrl(deps.config.env, INFOBIP_REPORTS_PATH, request.provider),
        };
      }
      const toSend = message;
      const instance = provider.instance;
      attempt = await attemptProviderCall(
        deps,
        { channel: 'whatsapp', provider: providerType },
        base,
        previous?.attempts ?? 0,
        deps.config.service.dispatchRetry.maximumAttempts,
        () =>
          instance.sendWhatsapp
            ? instance.sendWhatsapp(toSend)
            : Promise.reject(
                new PermanentProviderError(`provider ${request.provider} does not send whatsapp`, 'CHANNEL_NOT_SERVED'),
              ),
      );
    }
  } catch (error) {
    // The registered provider is gone or inactive: no retry brings it back.
    if (!(error instanceof PermanentProviderError)) throw error;
    attempt = failed(error.code, error.message);
  }
  const { outcome, retryAfterMs } = attempt!;
  await deps.ledger.record(conversationId, [outcome]);

  if (outcome.status === 'pending') {
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.transientProvider,
      message: `the conversation's ${key} message will be retried: ${outcome.error}`,
      details: [{ code: outcome.code }],
      nextRetryDelay: retryAfterMs && retryAfterMs > 0 ? retryAfterMs : undefined,
    });
  }
  const detail = {
    message: key,
    ...(isQuestion ? { template: request.message.template } : { text: request.errorMessage }),
    provider: request.provider,
  };
  if (outcome.status === 'failed') {
    await deps.store.record(conversationId, `message|${key}`, 'message_failed', {
      ...detail,
      code: outcome.code,
      error: outcome.error,
    });
    return { status: 'failed', code: outcome.code ?? 'FAILED' };
  }
  const providerMessageId = outcome.providerMessageId ?? null;
  let earlyReports: DeliveryStatusSignal[] = [];
  if (providerMessageId && providerType === 'infobip') {
    const applied = await deps.deliveryReports.remember(conversationId, [
      { provider: 'infobip', providerMessageId, deliveryKey: entryKey, providerName: request.provider },
    ]);
    earlyReports = applied.map(({ report }) => ({
      providerMessageId: report.providerMessageId,
      status: report.status,
      ...(report.code ? { code: report.code } : {}),
    }));
  }
  await deps.store.record(conversationId, `message|${key}`, 'message_sent', { ...detail, providerMessageId });
  return { status: 'sent', providerMessageId, ...(earlyReports.length > 0 ? { earlyReports } : {}) };
}
