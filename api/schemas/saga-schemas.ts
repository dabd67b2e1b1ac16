import { z } from 'zod';
import { isWellFormed, RETRY_SUFFIX, SAGA_ID_MAX_LENGTH } from '../../common/temporal/workflow-ids';

/**
 * The saga id (docs/operating-sends.md "Saga sends"): any characters, as the Flow Manager chooses them. It names the
 * saga's workflow and send (`saga-<key>`), which `GET /sends/:sendId` reads back with the id percent-encoded.
 */
export const sagaKeySchema = z
  .string()
  .min(1)
  .max(SAGA_ID_MAX_LENGTH)
  // The saga id becomes a workflow id, which Temporal needs as valid UTF-8.
  .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)')
  // `saga-<key>-retry-<n>` is the id of the n-th retry of saga <key>'s send: a key ending so would take it.
  .refine((key) => !RETRY_SUFFIX.test(key), 'must not end with -retry-<n>, which names the retries of a saga send')
  .describe('The saga id');

/** A Flow Manager REST command (docs/operating-sends.md "Saga sends"): the saga id and the command with its saga metadata. */
export const sagaCommandSchema = z.object({
  key: sagaKeySchema,
  value: z.object({
    messageLabel: z.string().min(1),
    messagePayload: z.record(z.string(), z.unknown()).describe('The saga metadata, read through metadataSchema'),
  }),
});
export type SagaCommand = z.infer<typeof sagaCommandSchema>;

/** The saga id of a command's body when it is one `/saga/send` accepts: the fail event can be addressed to it. */
export function sagaIdOf(body: unknown): string | undefined {
  const key = body && typeof body === 'object' ? (body as { key?: unknown }).key : undefined;
  // Strings only: zod's length check throws on an object whose `length` cannot become a number (api/request-errors.ts).
  return typeof key === 'string' && sagaKeySchema.safeParse(key).success ? key : undefined;
}
