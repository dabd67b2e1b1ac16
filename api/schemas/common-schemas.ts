import { z } from 'zod';
import type { ErrorBody } from '../../common/domain/http-errors';
import { isFilesServiceName, NOT_A_FILE_NAME } from '../../common/http/files-service-client';
import { OBJECT_ID_PATTERN } from '../../common/temporal/workflow-ids';

/** `ErrorBody` (common/domain/http-errors.ts) for the OpenAPI document and the serializer of error answers. */
export const errorSchema = z
  .object({ statusCode: z.number().int(), error: z.string(), message: z.string() })
  .describe('Every error: the message starts with the offending field') satisfies z.ZodType<ErrorBody>;

/** The 4xx and 5xx statuses the API answers. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 414 | 415 | 422 | 429 | 500 | 503;

/** Error responses of a route, each with its own description: `errorResponses({ 404: 'No template has this id' })`. */
export function errorResponses<S extends ErrorStatus>(descriptions: Partial<Record<S, string>>) {
  return Object.fromEntries(
    Object.entries(descriptions).map(([status, description]) => [status, errorSchema.describe(description as string)]),
  ) as Record<S, typeof errorSchema>;
}

export const objectIdString = z.string().regex(OBJECT_ID_PATTERN, 'must be a 24-hex ObjectId');

/**
 * A Handlebars source: at most 200 000 characters. Compiling costs about 32 µs per `{{…}}` and happens on the
 * request's thread, so an unbounded source would stall the API; 200 000 is far beyond any message.
 */
export const MAX_TEMPLATE_CHARS = 200_000;
export const templateSource = z.string().max(MAX_TEMPLATE_CHARS);

/** A Files Service name (`emailAttachments`): not `.` nor `..`, which a URL resolves to another route. */
export const filesServiceName = z.string().refine(isFilesServiceName, NOT_A_FILE_NAME);
