import { z } from 'zod';

/** A Flow Manager REST command (README "Saga sends"): the saga id and the command with its saga metadata. */
export const sagaCommandSchema = z.object({
  key: z
    .string()
    .min(1)
    .max(200)
    // The saga id becomes a workflow id, which Temporal needs as valid UTF-8.
    .refine((key) => !/\p{Cs}/u.test(key), 'must be well-formed Unicode (no lone surrogates)')
    .describe('The saga id'),
  value: z.object({
    messageLabel: z.string().min(1),
    messagePayload: z.record(z.string(), z.unknown()).describe('The saga metadata, read through metadataSchema'),
  }),
});
export type SagaCommand = z.infer<typeof sagaCommandSchema>;
