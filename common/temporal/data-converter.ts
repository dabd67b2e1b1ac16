import type { DataConverter } from '@temporalio/common';
import { ConfigurationError, type Env } from '../config/config';
import { EncryptionCodec, parseCodecKeys } from '../crypto/encryption-codec';

/** For `bundleWorkflowCode`: the workflow bundle must carry the failure converter the worker uses. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The payload codec of `TEMPORAL_CODEC_KEYS` (validated by `loadConfig`). Required: the development profile holds a
 * fixed key, and in production a missing one stops the API or worker at boot instead of writing personal data in
 * plaintext to Temporal.
 */
export function encryptionCodec(env: Pick<Env, 'TEMPORAL_CODEC_KEYS'>): EncryptionCodec {
  if (!env.TEMPORAL_CODEC_KEYS)
    throw new ConfigurationError(
      'TEMPORAL_CODEC_KEYS: required (id:base64key,…; docs/operations.md "Encryption of workflow data")',
    );
  return new EncryptionCodec(parseCodecKeys(env.TEMPORAL_CODEC_KEYS));
}

/**
 * What every Temporal client and worker of the service uses, so that workflow inputs, results, memos and failure
 * messages are stored encrypted (docs/operations.md "Encryption of workflow data").
 */
export function temporalDataConverter(env: Pick<Env, 'TEMPORAL_CODEC_KEYS'>): DataConverter {
  return { payloadCodecs: [encryptionCodec(env)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
