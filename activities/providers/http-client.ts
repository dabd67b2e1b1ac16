import { Agent, request } from 'undici';
import { parseRetryAfter, providerErrorForStatus, TransientProviderError } from '../../common/errors';

export interface ProviderRequest {
  method?: 'POST' | 'GET';
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface ProviderResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = unknown>(): T | undefined;
}

/** Extracts a provider's own error code and message from its error body, when it has them. */
export type ErrorCodeReader = (body: unknown) => { code?: string; detail?: string };

/**
 * The reader for providers whose error JSON carries its code and text at the top, `{ code, message, ... }`
 * (Twilio's numeric codes, Kaleyra's `E413`-style ones): the code behind the provider's prefix
 * (`TWILIO_21211`), the message as the detail. A code is a number, 0 included, or a non-empty string; a body
 * without one (a proxy's HTML page, `{}`) gives no code, so the status alone classifies it.
 */
export function codeAndMessageErrorReader(prefix: string): ErrorCodeReader {
  return (body) => {
    const error = body as { code?: unknown; message?: string } | undefined;
    const code = error?.code;
    const hasCode = typeof code === 'number' || (typeof code === 'string' && code !== '');
    return { code: hasCode ? `${prefix}_${code}` : undefined, detail: error?.message };
  };
}

/**
 * The HTTP side of every provider: one keep-alive pool per worker (provider calls are many, small and go to
 * few hosts), and one classification of failures: network errors and timeouts are transient, a non-2xx
 * status is classified by `providerErrorForStatus` with the provider's own code.
 */
export class ProviderHttpClient {
  private readonly agent = new Agent({
    connections: 64,
    keepAliveTimeout: 10000,
    headersTimeout: 15000,
    bodyTimeout: 15000,
  });

  async call(provider: string, url: string, init: ProviderRequest, readError: ErrorCodeReader = () => ({})) {
    let response;
    let body: Buffer;
    try {
      response = await request(url, {
        method: init.method ?? 'POST',
        headers: init.headers,
        body: init.body,
        dispatcher: this.agent,
      });
      body = Buffer.from(await response.body.arrayBuffer());
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'NETWORK_ERROR';
      throw new TransientProviderError(`${provider} unreachable: ${(error as Error).message}`, code);
    }
    const result: ProviderResponse = {
      status: response.statusCode,
      headers: response.headers,
      body,
      json<T>() {
        try {
          return JSON.parse(body.toString('utf8')) as T;
        } catch {
          return undefined;
        }
      },
    };
    if (response.statusCode >= 200 && response.statusCode < 300) return result;
    const { code, detail } = readError(result.json());
    throw providerErrorForStatus(
      provider,
      response.statusCode,
      detail ?? body.toString('utf8').slice(0, 300),
      code,
      parseRetryAfter(response.headers['retry-after']),
    );
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

export const formBody = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

export const basicAuth = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
