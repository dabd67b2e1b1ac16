import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaCompiler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';
import { isStoreClosed, isStoreUnreachable } from '../common/store/db';
import { badRequest, errorBody, HttpError } from '../common/domain/http-errors';
import { describeIssues } from '../common/toolkit/zod-issues';
import { errorResponses, type ErrorStatus } from './schemas/common-schemas';

/**
 * What a request body may weigh when its route sets no `bodyLimit` (docs/api.md): 64 KB, plenty for a user; a
 * larger body is a 413 before it is read whole.
 */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The `bodyLimit` of the routes that carry a message or a template (sends, templates): 5 MB. */
export const MESSAGE_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

/** `64 KB`, `5 MB`. */
const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MB` : `${Math.round(bytes / 1024)} KB`;

/**
 * The longest path parameter, percent-encoded (fastify's `maxParamLength`; longer is a 414): a send id of any saga id
 * `/saga/send` accepts, 200 characters that take 9 each when encoded, and a retry suffix.
 */
export const MAX_PARAM_LENGTH = 2000;

/** A 400 names at most this many issues: enough to fix a request, short enough to read. */
const ISSUES_IN_MESSAGE = 5;

/**
 * Parses one part of a request (`body`, `querystring`, `params`, `headers`) with its zod schema: the parsed value, or
 * a 400 whose message names each offending field (docs/api.md). zod 4.6 runs a length check (`min`, `max`) even after
 * the type check failed when the input has a `length` property, and a `length` that cannot become a number
 * (`{"length": {"toString": {}}}`) throws a TypeError, which fastify would answer 500: that is a 400 too.
 */
export function parseRequestPart<T extends z.ZodType>(
  schema: T,
  data: unknown,
  part: string,
): { value: z.output<T> } | { error: HttpError } {
  try {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: badRequest(describeIssues(result.error.issues, { root: part, limit: ISSUES_IN_MESSAGE })) };
  } catch (error) {
    return { error: badRequest(`${part}: cannot be validated (${(error as Error).message})`) };
  }
}

/** Route validation with the route's zod schemas (`parseRequestPart`). */
const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) =>
    parseRequestPart(schema, data, httpPart ?? 'body');

function sendError(reply: FastifyReply, statusCode: number, message: string) {
  return reply.code(statusCode).send(errorBody(statusCode, message));
}

/** gRPC DEADLINE_EXCEEDED and UNAVAILABLE: the Temporal server does not answer. */
const TEMPORAL_UNREACHABLE_CODES = new Set([4, 14]);

/** Temporal cannot be reached (down, a wrong address, too slow): a 503, worth trying again later. */
export function isTemporalUnreachable(error: unknown): boolean {
  const cause = error instanceof ServiceError ? error.cause : error;
  return isGrpcServiceError(cause) && TEMPORAL_UNREACHABLE_CODES.has(cause.code);
}

/**
 * What the client is answered for an error (docs/api.md): an `HttpError` as it is; MongoDB or Temporal out of reach
 * a 503 naming it; an error fastify raised itself about the request's `url` (routing) or `body` (content type, size,
 * JSON) its own 4xx with its message after the part it concerns; anything else a 500 that tells nothing more.
 */
export function httpErrorFor(error: Error & { statusCode?: number }, part: 'url' | 'body' = 'body'): HttpError {
  if (error instanceof HttpError) return error;
  if (isStoreUnreachable(error) || isStoreClosed(error)) {
    return new HttpError(503, 'MongoDB cannot be reached; try again later');
  }
  if (isTemporalUnreachable(error)) return new HttpError(503, 'Temporal cannot be reached; try again later');
  const { statusCode } = error;
  if (statusCode && statusCode >= 400 && statusCode < 500)
    return new HttpError(statusCode, `${part}: ${error.message}`);
  return new HttpError(500, 'internal error');
}

/** Answers `httpErrorFor(error)`; a 500 or a 503 is logged with the error itself. */
function sendErrorFor(error: FastifyError, request: FastifyRequest, reply: FastifyReply, part: 'url' | 'body') {
  const answer = httpErrorFor(error, part);
  if (answer.statusCode === 500) request.log.error({ err: error }, 'unhandled error');
  else if (answer.statusCode === 503 && !(error instanceof HttpError)) {
    request.log.warn({ err: error }, 'a dependency cannot be reached');
  }
  return sendError(reply, answer.statusCode, answer.message);
}

/**
 * Fastify's `frameworkErrors` option: errors raised while routing, before any handler (a malformed
 * percent-encoding in the URL, a path parameter over `maxParamLength`), which fastify would otherwise answer in
 * a shape of its own.
 */
export function renderFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  return sendErrorFor(error, request, reply, 'url');
}

/**
 * Adds to a documented route the error responses every route of its kind can answer, whatever its handler does:
 * a route's own declarations (its 404, 409, 503) stay as they are.
 */
function declareCommonErrors(route: RouteOptions, bodyLimit: number): void {
  const schema = route.schema;
  if (!schema?.response || schema.hide) return;
  const takesInput = Boolean(schema.body || schema.querystring || schema.params || schema.headers);
  const descriptions: Partial<Record<ErrorStatus, string>> = {
    ...(takesInput ? { 400: 'Invalid input: the message starts with the offending field' } : {}),
    ...(route.url.includes(':') ? { 414: `A path parameter longer than ${MAX_PARAM_LENGTH} characters` } : {}),
    ...(schema.body
      ? {
          413: `A body over ${formatBytes(bodyLimit)}, or one too large to store`,
          415: 'A body that is not application/json',
        }
      : {}),
    500: 'An unexpected failure, logged; the message says nothing more',
    // The probes under /-/ answer for the dependencies themselves.
    ...(route.url.startsWith('/-/')
      ? {}
      : { 503: 'MongoDB or Temporal cannot be reached; the request may be repeated' }),
  };
  route.schema = { ...schema, response: { ...errorResponses(descriptions), ...(schema.response as object) } };
}

/**
 * One error shape for every failure (docs/api.md): validation, `HttpError`s, fastify's own errors and unknown
 * routes all answer `{ statusCode, error, message }`; never a 500 for bad input, never a stack trace to the client.
 * Documented routes registered after it declare the errors it answers for them.
 */
export const errorHandling = fp(
  async (app) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setErrorHandler((error: FastifyError, request, reply) => sendErrorFor(error, request, reply, 'body'));
    app.setNotFoundHandler((request, reply) =>
      sendError(reply, 404, `route ${request.method} ${request.url.split('?')[0]} not found`),
    );
    app.addHook('onRoute', (route) =>
      declareCommonErrors(route, route.bodyLimit ?? app.initialConfig.bodyLimit ?? BODY_LIMIT_BYTES),
    );
    // A route that takes no body (an action such as `POST /notifications/:id/enable`) accepts an empty one whatever
    // its content type: clients that always send `content-type: application/json` must not get a 400 for no JSON.
    app.addHook('onRequest', async (request) => {
      const { headers } = request;
      if (request.routeOptions.schema?.body !== undefined || headers['content-type'] === undefined) return;
      const empty =
        headers['transfer-encoding'] === undefined &&
        (headers['content-length'] === undefined || headers['content-length'] === '0');
      if (empty) delete headers['content-type'];
    });
  },
  { name: 'error-handling' },
);
