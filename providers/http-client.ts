import { Agent, request } from 'undici';
import {
  parseRetryAfter,
  PermanentProviderError,
  providerErrorForStatus,
  TransientProviderError,
} from '../common/domain/http-errors';
import { checkOutgoingUrl, ForbiddenUrlError, guardedConnectOptions } from '../common/http/outgoing-http';

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

/** The longest reason of a provider's refusal kept in a failure (which the API shows). */
export const MAX_REASON_CHARS = 120;

/** The largest answer read of a provider by default: their answers are a few hundred bytes of JSON. */
export const DEFAULT_MAX_PROVIDER_ANSWER_BYTES = 64 * 1024;

/**
 * A provider's own words, fit to be shown by the API: control characters (a terminal's escapes, line breaks that
 * forge log lines) and runs of spaces made one space, at most `MAX_REASON_CHARS` characters.
 */
export function sanitizedReason(text: string): string {
  /* eslint-disable no-control-regex -- control characters are what is removed */
  const flat = text
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  /* eslint-enable no-control-regex */
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat;
}

export interface ProviderHttpOptions {
  /**
   * Checks every call with the SSRF guard (common/http/outgoing-http.ts): loopback and private addresses are refused
   * unless this is true. Unset: no check (configured providers, whose URLs are configuration). Registered providers'
   * URLs come from API callers: `RegisteredProviders` sets it.
   */
  allowPrivateNetworks?: boolean;
  /** The largest answer body read; a larger one fails the call for good. Default 64 KiB. */
  maxResponseBytes?: number;
}

/**
 * The HTTP side of every provider: one keep-alive pool per worker (provider calls are many, small and go to
 * few hosts), and one classification of failures: network errors and timeouts are transient, a non-2xx
 * status is classified by `providerErrorForStatus` with the provider's own code. An answer is read up to
 * `maxResponseBytes` only, and what a failure keeps of it is its status, the provider's code and a short
 * sanitized reason (`sanitizedReason`), never the raw body.
 */
export class ProviderHttpClient {
  private readonly agent: Agent;
  private readonly guarded: boolean;
  private readonly allowPrivate: boolean;
  private readonly maxResponseBytes: number;

  constructor(options: ProviderHttpOptions = {}) {
    this.guarded = options.allowPrivateNetworks !== undefined;
    this.allowPrivate = options.allowPrivateNetworks ?? true;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_PROVIDER_ANSWER_BYTES;
    this.agent = new Agent({
      connections: 64,
      keepAliveTimeout: 10000,
      headersTimeout: 15000,
      bodyTimeout: 15000,
      ...(this.guarded ? { connect: guardedConnectOptions(this.allowPrivate) } : {}),
    });
  }

  async call(provider: string, url: string, init: ProviderRequest, readError: ErrorCodeReader = () => ({})) {
    let response;
    let body: Buffer;
    try {
      if (this.guarded) checkOutgoingUrl(url, this.allowPrivate);
      response = await request(url, {
        method: init.method ?? 'POST',
        headers: init.headers,
        body: init.body,
        dispatcher: this.agent,
      });
      body = await this.readCapped(provider, response.body);
    } catch (error) {
      if (error instanceof PermanentProviderError) throw error;
      // The guard refuses the address itself (or what its name resolves to): no retry changes that.
      const refused =
        error instanceof ForbiddenUrlError || (error as { cause?: unknown }).cause instanceof ForbiddenUrlError;
      if (refused)
        throw new PermanentProviderError(`${provider} refused: ${(error as Error).message}`, 'PROVIDER_URL_FORBIDDEN');
      const code = (error as { code?: string }).code ?? 'NETWORK_ERROR';
      throw new TransientProviderError(`${provider} unreachable: ${sanitizedReason((error as Error).message)}`, code);
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
    // The provider's own message when its error body has one; a body of another shape (a proxy's HTML page) says
    // nothing the status and code do not, so none of it is kept.
    const reason = typeof detail === 'string' ? sanitizedReason(detail) : '';
    throw providerErrorForStatus(
      provider,
      response.statusCode,
      reason || 'no reason given',
      code,
      parseRetryAfter(response.headers['retry-after']),
    );
  }

  /**
   * The answer's body up to `maxResponseBytes`; past it the connection is dropped and the call fails for good: a
   * 2xx may mean the message went out, so it must not be sent again.
   */
  private async readCapped(provider: string, stream: AsyncIterable<unknown> & { destroy(): unknown }): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > this.maxResponseBytes) {
        stream.destroy();
        throw new PermanentProviderError(
          `${provider} answered more than ${this.maxResponseBytes} bytes`,
          'PROVIDER_ANSWER_TOO_LARGE',
        );
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

export const formBody = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

export const basicAuth = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
