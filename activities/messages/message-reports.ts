import { PermanentProviderError } from '../../common/domain/http-errors';
import { deliveryKey } from '../../common/domain/send-types';
import type { CallbackPayload } from '../../common/store/messaging/callback-events-repository';
import type { AppliedEarlyReport, SentProviderMessage } from '../../common/store/messaging/delivery-reports-repository';
import type { MessageChannel, StoredMessage } from '../../common/store/messaging/message-requests-repository';
import type { MessageDispatchDeps } from './dispatch-messages';
import { REPORT_WEBHOOKS } from './message-providers';

/**
 * Stores the provider id of each message sent through a provider that reports on a webhook of ours, with the
 * registered provider it went through (whose reports alone may move it); answers the reports kept for them that it
 * applied. A registered provider that is gone or inactive has no reports to match.
 */
export async function rememberProviderIds(
  deps: Pick<MessageDispatchDeps, 'config' | 'registered' | 'deliveryReports'>,
  requestId: string,
  channel: MessageChannel,
  sent: { providerName: string | null; providerMessageId: string; key: string }[],
): Promise<AppliedEarlyReport[]> {
  const types = new Map<string | null, Promise<string | null>>();
  const typeOf = (name: string | null) => {
    if (!types.has(name))
      types.set(
        name,
        name === null
          ? Promise.resolve(deps.config.service.providers[channel])
          : deps.registered.get(name).then(
              ({ providerType }) => providerType,
              (error: unknown) => {
                if (error instanceof PermanentProviderError) return null;
                throw error;
              },
            ),
      );
    return types.get(name)!;
  };
  const remembered: SentProviderMessage[] = [];
  for (const { providerName, providerMessageId, key } of sent) {
    const type = await typeOf(providerName);
    const webhook = type === null ? undefined : REPORT_WEBHOOKS[type];
    if (webhook)
      remembered.push({
        provider: webhook.provider,
        providerMessageId,
        deliveryKey: deliveryKey(requestId, channel, key),
        providerName,
      });
  }
  return deps.deliveryReports.remember(requestId, remembered);
}

/** The callback events of reports `remember` applied, each keyed by its change like the API's own. */
export async function owePostedReports(
  deps: Pick<MessageDispatchDeps, 'callbackEvents'>,
  requestId: string,
  channel: MessageChannel,
  addresses: { message: StoredMessage; to: string; key: string }[],
  applied: AppliedEarlyReport[],
): Promise<void> {
  if (applied.length === 0) return;
  const byKey = new Map(addresses.map((address) => [deliveryKey(requestId, channel, address.key), address]));
  const events: CallbackPayload[] = [];
  const keys: string[] = [];
  for (const { deliveryKey: key, report } of applied) {
    const address = byKey.get(key);
    if (!address) continue;
    keys.push(key);
    events.push({
      eventId: `${key}|${report.status}`,
      requestId,
      messageId: address.message.messageId,
      channel,
      to: address.to,
      status: report.status,
      providerMessageId: report.providerMessageId,
      ...(report.code ? { code: report.code } : {}),
      ...(report.error ? { error: report.error } : {}),
      timestamp: new Date().toISOString(),
    });
  }
  await deps.callbackEvents.add(events, keys);
}
