import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SimulatorContext } from '../context';
import type { FaultTarget } from '../faults';

/** First string value of a form or JSON field (form fields may repeat and arrive as arrays). */
export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && value.length > 0) return str(value[0]);
  return undefined;
}

/** The request body as a plain object, whatever the parser produced. */
export function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  return b && typeof b === 'object' && !Buffer.isBuffer(b) ? (b as Record<string, unknown>) : {};
}

/** Answers a request the simulated provider refuses (bad credentials, a missing field, a refused address) and counts it. */
export function reject(reply: FastifyReply, ctx: SimulatorContext, status: number, body: unknown): FastifyReply {
  ctx.stats.rejected += 1;
  return reply.code(status).send(body);
}

/**
 * Applies the latency and failure faults of `target` to this call. Returns true when the
 * call has been answered (or its socket destroyed) and the handler must stop.
 */
export async function injectFault(
  ctx: SimulatorContext,
  target: FaultTarget,
  request: FastifyRequest,
  reply: FastifyReply,
  errorBody: (status: number) => unknown,
): Promise<boolean> {
  const latency = ctx.faults.latencyFor(target);
  if (latency > 0) await sleep(latency);
  const failure = ctx.faults.takeFailure(target);
  if (!failure) return false;
  ctx.stats.failedByFault += 1;
  if (failure.action === 'drop') {
    reply.hijack();
    request.raw.socket.destroy();
    return true;
  }
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
  reply.code(failure.status).send(errorBody(failure.status));
  return true;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The HTTP reason phrase of `status`, e.g. `Too Many Requests`. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** The `{ statusCode, error, message }` error shape of Fastify-based services (Mia's Files Service, Flow Manager). */
export function fastifyStyleError(status: number, message?: string) {
  return { statusCode: status, error: reasonPhrase(status), message: message ?? `Simulated ${reasonPhrase(status)}` };
}
