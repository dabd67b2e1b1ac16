import { z } from 'zod';
import { PermanentProviderError, TransientProviderError } from '../common/domain/http-errors';
import { nonEmpty } from './provider-module';

/** `eu-west-1`, `ap-south-1`, `us-gov-west-1`: what the AWS SDK resolves endpoints and signs requests for. */
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1');

/** The access key of an AWS IAM user (or role session) and the region, shared by every AWS provider type. */
export const awsAccountSettings = {
  accessKeyId: nonEmpty,
  secretAccessKey: nonEmpty,
  region: awsRegion,
  /**
   * The service's endpoint, e.g. the simulator's. Absent: the AWS SDK's own resolution, which honours the standard
   * `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` environment variables before the public endpoint.
   */
  endpoint: z.url().optional(),
};

/** What the AWS SDK v3 puts on the errors it throws: a service exception or a network failure. */
interface AwsSdkError {
  name?: string;
  message?: string;
  /** `client` or `server`, on service exceptions. */
  $fault?: 'client' | 'server';
  /** Absent when no response came back (connection refused, timeout, DNS). */
  $metadata?: { httpStatusCode?: number };
  /** Node's code on network errors (`ECONNREFUSED`). */
  code?: string;
  /** The precise cause some services give (Pinpoint SMS v2: `DESTINATION_PHONE_NUMBER_OPTED_OUT`, ...). */
  Reason?: string;
}

/**
 * Exceptions that mean "too fast" rather than "wrong": retried without using up one of the delivery's attempts,
 * like a 429 from the HTTP providers. SES's LimitExceededException on SendEmail is its sending-rate or daily
 * quota, which passes with time.
 */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
]);

/**
 * Classifies an error thrown by an AWS SDK v3 client the way `providerErrorForStatus` classifies an HTTP answer:
 * throttling → transient (throttled); no response at all (network, timeout) or a 5xx → transient; any other 4xx
 * (validation, bad or unknown credentials, a missing signature, an opted-out number) → permanent. The code is the
 * exception's name, or its `Reason` when the service gives one, behind the provider's prefix (`SES_MessageRejected`,
 * `PINPOINT_DESTINATION_PHONE_NUMBER_OPTED_OUT`).
 */
export function classifyAwsError(provider: string, error: unknown): TransientProviderError | PermanentProviderError {
  const failure = (error ?? {}) as AwsSdkError;
  const prefix = provider.toUpperCase();
  const name = failure.name ?? 'Error';
  const status = failure.$metadata?.httpStatusCode;
  const message = `${provider}: ${name}: ${failure.message ?? String(error)}`.slice(0, 500);
  const code = `${prefix}_${failure.Reason ?? name}`;
  if (THROTTLING.has(name) || status === 429) return new TransientProviderError(message, code, undefined, true);
  if (status === undefined) {
    // No answer: the request may not have reached AWS. The SDK's own error names (TimeoutError) or Node's codes.
    return new TransientProviderError(message, failure.code ?? code);
  }
  if (status >= 500 || status === 408 || failure.$fault === 'server') return new TransientProviderError(message, code);
  return new PermanentProviderError(message, code);
}
