import type { AppConfig, Channel } from '../../common/config/config';
import { isCriticalSend } from '../../common/domain/preferences';
import type { SendRequest } from '../../common/domain/send-types';
import { unsubscribeUrl } from '../../common/http/unsubscribe-token';

/**
 * The one-click unsubscribe link of a user's email of a send (RFC 8058): it turns the send's category off for the user,
 * or email when the send has none. None for a critical send (there is nothing to unsubscribe from), for another
 * channel, or without `WEBHOOK_SECRET` (nothing signs it).
 */
export function unsubscribeLinkOf(
  config: AppConfig,
  request: Pick<SendRequest, 'category' | 'critical'>,
  channel: Channel,
  userId: string,
): string | undefined {
  if (channel !== 'email' || isCriticalSend(request, config.service.criticalCategories)) return undefined;
  const category = request.category === undefined ? {} : { category: request.category };
  return unsubscribeUrl(config.env, { userId, channel, ...category }) ?? undefined;
}

/** The headers that offer the link to mail clients as one-click unsubscribe (RFC 2369 and RFC 8058). */
export const listUnsubscribeHeaders = (url: string): Record<string, string> => ({
  'List-Unsubscribe': `<${url}>`,
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
});
