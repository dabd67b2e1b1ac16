import { z } from 'zod';

export const errorSchema = z
  .object({ statusCode: z.number().int(), error: z.string(), message: z.string() })
  .describe('Every error: the message names the offending field');

export const objectIdString = z.string().regex(/^[0-9a-fA-F]{24}$/, 'must be a 24-hex ObjectId');

/** Standard error responses for the OpenAPI document. */
export const errorResponses = { 400: errorSchema, 404: errorSchema, 409: errorSchema };

/**
 * A Handlebars source: at most 200 000 characters. Compiling costs about 32 µs per `{{…}}` and happens on the
 * request's thread, so an unbounded source would stall the API; 200 000 is far beyond any message.
 */
export const MAX_TEMPLATE_CHARS = 200_000;
export const templateSource = z.string().max(MAX_TEMPLATE_CHARS);
