import { z } from 'zod';
import { CHANNELS } from '../../common/config/config';

const channel = z.enum(CHANNELS);
const address = z.string().min(1).max(320);

/** `POST /suppressions`. */
export const suppressionBodySchema = z
  .object({
    channel,
    address: address.describe('An email address, a phone number (stored as E.164) or a device token'),
    reason: z.string().min(1).max(500).optional().describe('Why; default: "added through the API"'),
  })
  .strict();

/** `GET /suppressions?channel=&address=`. */
export const suppressionsQuerySchema = z.object({
  channel: channel.optional(),
  address: address.optional().describe('In any form; compared in its normal form'),
});

export const suppressionParams = z.object({ channel, address });

export const suppressionSchema = z
  .object({
    channel,
    address: z.string().describe('In its normal form: a lower-cased email address, an E.164 number'),
    reason: z.string(),
    source: z.enum(['api', 'provider-opt-out', 'inbound-stop', 'hard-bounce', 'complaint', 'unsubscribe']),
    createdAt: z.date(),
  })
  .describe('An address that must not be contacted on the channel');
