import { z } from 'zod';

/** A URL the provider fetches or the customer opens: http(s) only. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);

/** WhatsApp media (the OS1 shape): a document, an image and a location, each optional. */
export const whatsappMediaSchema = z.strictObject({
  document: z.strictObject({ url: httpUrl, filename: z.string().min(1).max(240).optional() }).optional(),
  image: z.strictObject({ url: httpUrl }).optional(),
  location: z
    .strictObject({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: z.string().max(1000).optional(),
      address: z.string().max(1000).optional(),
    })
    .optional(),
});

/** The spellings of a quick reply button's key: the OS1 API's `"quick reply"` and the usual identifiers. */
const QUICK_REPLY_KEYS = ['quick reply', 'quickReply', 'quick_reply'];

/**
 * `{"url": {"value": …}}` or `{"quick reply": {"value": …}}` (the OS1 shapes; its sendMessage sample names the url's
 * one field `trackUrl`) as `{type, value}`, the one stored form; anything else is left for the schema to refuse with
 * its own message.
 */
function normalizeButton(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const keys = Object.keys(input);
  if (keys.length !== 1) return input;
  const [key] = keys;
  const type = key === 'url' ? 'url' : QUICK_REPLY_KEYS.includes(key) ? 'quickReply' : undefined;
  const inner = (input as Record<string, unknown>)[key];
  if (!type || typeof inner !== 'object' || inner === null || Array.isArray(inner)) return input;
  const fields = Object.values(inner);
  return { type, value: fields.length === 1 ? fields[0] : (inner as { value?: unknown }).value };
}

/** A WhatsApp button, in any of the OS1 API's spellings, normalized to `{ type: "url" | "quickReply", value }`. */
export const whatsappButtonSchema = z
  .preprocess(
    normalizeButton,
    z.discriminatedUnion('type', [
      // Infobip's own `{{1}}` placeholder may end the URL: the provider fills it, not our rendering.
      z.strictObject({ type: z.literal('url'), value: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL') }),
      z.strictObject({ type: z.literal('quickReply'), value: z.string().min(1).max(256) }),
    ]),
  )
  .describe('{"type": "url" | "quickReply", "value"}; also written {"url": {"value"}} or {"quick reply": {"value"}}');
