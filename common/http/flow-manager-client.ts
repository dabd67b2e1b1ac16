import { request } from 'undici';
import { flowManagerUrl, type AppConfig } from '../config/config';

/** Raised when events are configured but no Flow Manager URL is; retrying cannot help. */
export class FlowManagerNotConfiguredError extends Error {
  override name = 'FlowManagerNotConfiguredError';
}

/**
 * `POST {serviceUrl}/event` with `{ key: sagaId, value: { messageLabel, messagePayload: {} } }` (docs/api.md).
 * Any non-2xx or network error throws: the `notifyFlowManager` activity is retried until the Flow Manager
 * accepts the event.
 */
export async function sendFlowManagerEvent(
  config: AppConfig,
  input: { sagaId: string; messageLabel: string },
): Promise<void> {
  const baseUrl = flowManagerUrl(config);
  if (!baseUrl) {
    throw new FlowManagerNotConfiguredError(
      'the Flow Manager has no URL: set FLOW_MANAGER_URL or flowManagerConfiguration.serviceUrl',
    );
  }
  const response = await request(`${baseUrl.replace(/\/+$/, '')}/event`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: input.sagaId, value: { messageLabel: input.messageLabel, messagePayload: {} } }),
    headersTimeout: 15000,
    bodyTimeout: 15000,
  });
  const text = await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`Flow Manager answered ${response.statusCode} to ${input.messageLabel}: ${text.slice(0, 200)}`);
  }
}
