import { z } from 'zod';

/** A Flow Manager REST command (spec §4): the saga id and the command with its saga metadata. */
export const sagaCommandSchema = z.object({
  key: z.string().min(1).max(200).describe('The saga id'),
  value: z.object({
    messageLabel: z.string().min(1),
    messagePayload: z.record(z.string(), z.unknown()).describe('The saga metadata, read through metadataSchema'),
  }),
});
export type SagaCommand = z.infer<typeof sagaCommandSchema>;
