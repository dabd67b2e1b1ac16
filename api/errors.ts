import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, validatorCompiler } from 'fastify-type-provider-zod';
import type { ZodError } from 'zod';
import { HttpError, reasonPhrase } from '../common/errors';

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: { issue?: { path?: (string | number)[]; message?: string; code?: string; keys?: string[] } };
}

/** Renders zod issues as `field.path: message`, so the message names the offending field (spec §4). */
function describeValidation(context: string | undefined, issues: ValidationIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const zodIssue = issue.params?.issue;
      const path = zodIssue?.path?.length
        ? zodIssue.path.join('.')
        : (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      const keys = zodIssue?.code === 'unrecognized_keys' && zodIssue.keys ? zodIssue.keys.join(', ') : '';
      const field = keys || path || context || 'body';
      return `${field}: ${zodIssue?.message ?? issue.message ?? 'invalid'}`;
    })
    .join('; ');
}

/** `field.path: message` for each issue of a zod error raised outside route validation. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '';
      return `${keys || issue.path.join('.') || 'body'}: ${issue.message}`;
    })
    .join('; ');
}

/** The 400 for a value whose validation threw instead of failing (see `guardedValidatorCompiler`). */
export function unvalidatable(part: string, error: unknown): HttpError {
  return new HttpError(400, `${part}: cannot be validated (${(error as Error).message})`);
}

/**
 * The zod validator compiler, with a 400 when validation throws: zod 4.6 runs a length check (`min`, `max`)
 * even after the type check failed when the input has a `length` property, and a `length` that cannot become a
 * number (`{"length": {"toString": {}}}`) throws a TypeError, which fastify answers 500.
 */
export const guardedValidatorCompiler: typeof validatorCompiler = (route) => {
  const validate = validatorCompiler(route);
  return (data: unknown) => {
    try {
      return validate(data);
    } catch (error) {
      return { error: unvalidatable(route.httpPart ?? 'body', error) };
    }
  };
};

/**
 * Fastify's `frameworkErrors` option: errors raised while routing, before any handler (a malformed
 * percent-encoding in the URL, a path parameter over `maxParamLength`), which fastify would otherwise answer in
 * a shape of its own.
 */
export function renderFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (statusCode === 500) request.log.error({ err: error }, 'unhandled error');
  const message = statusCode === 500 ? 'internal error' : `url: ${error.message}`;
  return reply.code(statusCode).send({ statusCode, error: reasonPhrase(statusCode), message });
}

/** One error shape for every failure; never a 500 for bad input, never a stack trace to the client. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).send(error.toBody());
    if (hasZodFastifySchemaValidationErrors(error)) {
      const message = describeValidation(error.validationContext, error.validation as ValidationIssue[]);
      return reply.code(400).send({ statusCode: 400, error: reasonPhrase(400), message });
    }
    const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (statusCode === 500) request.log.error({ err: error }, 'unhandled error');
    const message = statusCode === 500 ? 'internal error' : `body: ${error.message}`;
    return reply.code(statusCode).send({ statusCode, error: reasonPhrase(statusCode), message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      statusCode: 404,
      error: reasonPhrase(404),
      message: `route ${request.method} ${request.url.split('?')[0]} not found`,
    }),
  );
}
