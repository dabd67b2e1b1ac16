import { z } from 'zod';

/** A Temporal `Payload` in protobuf JSON, as the Temporal UI and CLI send it: bytes are base64. */
const payloadJson = z.object({
  metadata: z.record(z.string(), z.base64()).optional(),
  data: z.base64().optional(),
});

/** `Payloads` in protobuf JSON: the body and the answer of `/codec/encode` and `/codec/decode`. */
export const payloadsJson = z.object({ payloads: z.array(payloadJson) });
export type PayloadsJson = z.infer<typeof payloadsJson>;
