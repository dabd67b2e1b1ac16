import { z } from 'zod';
import { isEmailAddress, isPhoneNumber } from '../../common/store/erasure';

/** `POST /erasures`: exactly one of a user id or an address. */
export const erasureBodySchema = z
  .strictObject({
    userId: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("The user's id (`userFields.id`): the user, its ledger entries and every address it holds"),
    address: z
      .string()
      .min(1)
      .max(320)
      .refine(
        (address) => isEmailAddress(address) || isPhoneNumber(address),
        'must be an email address or a phone number',
      )
      .optional()
      .describe('An email address or phone number, as stored: what holds it, wherever the user is'),
  })
  .superRefine((body, context) => {
    const given = (['userId', 'address'] as const).filter((field) => body[field] !== undefined);
    if (given.length === 1) return;
    context.addIssue({
      code: 'custom',
      path: given.length === 0 ? ['userId'] : ['address'],
      message: given.length === 0 ? 'give userId or address' : 'give userId or address, not both',
    });
  });
export type ErasureBody = z.infer<typeof erasureBodySchema>;

const count = z.number().int().nonnegative();

/** What an erasure changed or deleted, per collection (docs/operations.md "Erasure"). */
export const erasureTouchedSchema = z.object({
  users: count,
  preferences: count,
  throttleClaims: count,
  digests: count,
  digestEvents: count,
  sendSchedules: count,
  audiencePages: count,
  deliveries: count,
  batchCounts: count,
  sends: count,
  messageRequests: count,
  callbackEvents: count,
  conversations: count,
  conversationEvents: count,
  conversationLocks: count,
  dispatchClaims: count,
  providerMessages: count,
  inboundMessages: count,
});

export const erasureResultSchema = z.object({
  erasureId: z.string().describe('The `erasures` record, which keeps a keyed hash of the subject, not the subject'),
  userId: z.string().optional(),
  address: z.string().optional(),
  touched: erasureTouchedSchema.describe('Documents deleted or masked, per collection; all 0 on a repeat'),
});
