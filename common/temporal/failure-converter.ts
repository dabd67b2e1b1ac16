import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of the client, the worker and the workflow bundle (`failureConverterPath`, so workflow code
 * must be able to load this file: no Node APIs). Failure messages and stack traces go into an encoded payload, which
 * the payload codec encrypts: a provider's refusal names the address it refused (docs/operations.md "Encryption of
 * workflow data"). The history keeps the message `Encoded failure`.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
