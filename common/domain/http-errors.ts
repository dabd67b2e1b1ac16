/**
 * The one error shape of the HTTP API (docs/api.md): `{ statusCode, error, message }`, the message naming the
 * offending field. Routes and services throw `HttpError`; the app's error handler renders it with `errorBody`.
 */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function reasonPhrase(statusCode: number): string {
  return REASONS[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Bad Request');
}

/** The body of every error answer; nothing else builds one. */
export function errorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: reasonPhrase(statusCode), message };
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);

/**
 * A provider failure worth retrying: network errors, 5xx, 429. `retryAfterMs` carries a provider's
 * `Retry-After` so the retry waits at least that long.
 */
export class TransientProviderError extends Error {
  override name = 'TransientProviderError';
  constructor(
    message: string,
    readonly code: string,
    readonly retryAfterMs?: number,
    /** The provider throttled us (429): the call is retried without using up one of the delivery's attempts. */
    readonly throttled = false,
  ) {
    super(message);
  }
}

/** A provider refusal that no retry can fix (invalid number, unregistered device, 4xx): fails at once. */
export class PermanentProviderError extends Error {
  override name = 'PermanentProviderError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Classifies an HTTP status from a provider; `code` is the provider's own error code when it gave one. */
export function providerErrorForStatus(
  provider: string,
  status: number,
  detail: string,
  code?: string,
  retryAfterMs?: number,
): TransientProviderError | PermanentProviderError {
  const message = `${provider} answered ${status}: ${detail}`.slice(0, 500);
  if (status === 429 || status >= 500 || status === 408) {
    return new TransientProviderError(message, code ?? `HTTP_${status}`, retryAfterMs, status === 429);
  }
  return new PermanentProviderError(message, code ?? `HTTP_${status}`);
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
