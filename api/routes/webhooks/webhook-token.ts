import { z } from 'zod';
import type { Env } from '../../../common/config/config';
import { HttpError } from '../../../common/domain/http-errors';
import { verifyWebhookToken } from '../../../common/http/webhook-urls';
import { errorResponses } from '../../schemas/common-schemas';

export const webhookQuery = z.object({
  token: z.string().max(200).optional(),
  provider: z.string().max(200).optional().describe('The registered provider the report is about'),
});

export const unauthorized = errorResponses({ 401: 'The token or the provider signature is missing or wrong' });

/** A provider is handed a URL and nothing else, so the token in it is the proof the call comes from whom we gave it. */
export function refuseUnlessToken(env: Pick<Env, 'WEBHOOK_SECRET'>, path: string, token: string | undefined): void {
  if (!verifyWebhookToken(env, path, token))
    throw new HttpError(401, 'token: this webhook URL was not issued by this service');
}

/**
 * Who a delivery report call comes from, proven by its token: a registered provider (`provider=<name>` and that
 * provider's own token), or the configured provider (the path's token, null). A URL issued before tokens were per
 * provider (the path's token with `provider=<name>`) proves no registered provider: its reports reach the messages
 * remembered before the upgrade only (common/store/messaging/delivery-reports-repository.ts), and stop when the secret
 * that issued it is dropped from `WEBHOOK_SECRET`.
 */
export function reportSender(
  env: Pick<Env, 'WEBHOOK_SECRET'>,
  path: string,
  query: { token?: string; provider?: string },
): string | null {
  if (query.provider !== undefined && verifyWebhookToken(env, path, query.token, query.provider)) return query.provider;
  if (verifyWebhookToken(env, path, query.token)) return null;
  throw new HttpError(401, 'token: this webhook URL was not issued by this service');
}
