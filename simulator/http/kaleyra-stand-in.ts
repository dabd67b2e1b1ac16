import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32, uuidLike } from '../simulated-ids';
import { bodyOf, injectFault, reject, str } from './util';

interface SidParams {
  sid: string;
}

/** Kaleyra's error JSON: `{ code, message, data, error }`. */
export function kaleyraError(code: string, message: string, error: Record<string, unknown> = {}) {
  return { code, message, data: [], error };
}

function faultError(status: number) {
  if (status === 429) return kaleyraError('E429', 'Too many requests. Please retry after some time.');
  if (status >= 500) return kaleyraError(`E${status}`, 'Simulated service failure, please retry.');
  return kaleyraError(`E${status}`, 'Simulated request failure.');
}

// Kaleyra's timestamps look like "2024-01-31 10:20:30+00:00".
function kaleyraDate(): string {
  return new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '+00:00');
}

/** The texts to speak in a Kaleyra `target` parameter: a JSON string (or array) like `[{"message":{"text":"Hi"}}]`. */
export function targetText(target: unknown): string | undefined {
  let parsed = target;
  if (typeof target === 'string') {
    try {
      parsed = JSON.parse(target);
    } catch {
      return target;
    }
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const texts: string[] = [];
  for (const item of items) {
    const text = (item as { message?: { text?: unknown } } | null)?.message?.text;
    if (typeof text === 'string') texts.push(text);
  }
  return texts.length > 0 ? texts.join(' ') : undefined;
}

/** One of Kaleyra's `POST /v1/{sid}/<path>` endpoints; `P` names its mandatory parameters. */
interface KaleyraResource<P extends string> {
  path: string;
  channel: 'sms' | 'voice';
  /** The mandatory parameters, in the order Kaleyra names the first one missing. */
  mandatory: readonly P[];
  /** The numbers the request sends to, each checked against the numbers the fault injector refuses. */
  recipients(params: Record<P, string>): string[];
  /** Records the accepted request and answers it. */
  answer(
    request: { form: Record<string, unknown>; params: Record<P, string>; recipients: string[] },
    reply: FastifyReply,
  ): FastifyReply;
}

/**
 * Registers one resource with the checks in the order Kaleyra answers them: the `api-key` header (401), the
 * mandatory parameters (400 naming the first one missing), the simulated faults, a recipient the fault injector
 * refuses (E413); then the resource's own answer.
 */
function registerResource<P extends string>(app: FastifyInstance, ctx: SimulatorContext, resource: KaleyraResource<P>) {
  app.post<{ Params: SidParams }>(`/v1/:sid/${resource.path}`, async (request, reply) => {
    ctx.stats.request('kaleyra');
    if (!request.headers['api-key']) {
      return reject(reply, ctx, 401, kaleyraError('E110', 'Invalid API key or missing api-key header.'));
    }
    const form = bodyOf(request);
    const params = {} as Record<P, string>;
    for (const name of resource.mandatory) {
      const value = str(form[name]);
      if (!value) {
        return reject(
          reply,
          ctx,
          400,
          kaleyraError('E400', `Missing mandatory parameter: ${name}`, { [name]: 'required' }),
        );
      }
      params[name] = value;
    }
    if (await injectFault(ctx, resource.channel, request, reply, faultError)) return reply;
    const recipients = resource.recipients(params);
    const refused = recipients.find((r) => ctx.faults.isRejected(resource.channel, r));
    if (refused) {
      return reject(
        reply,
        ctx,
        400,
        kaleyraError('E413', 'Invalid/incorrect phone number.', { to: `Invalid number ${refused}` }),
      );
    }
    return resource.answer({ form, params, recipients }, reply);
  });
}

/** Kaleyra's SMS (`messages`) and text-to-speech call (`voice/outbound`) endpoints. */
export function registerKaleyra(app: FastifyInstance, ctx: SimulatorContext): void {
  registerResource(app, ctx, {
    path: 'messages',
    channel: 'sms',
    mandatory: ['to', 'body'],
    // `to` may list several comma-separated recipients; each becomes one record.
    recipients: ({ to }) =>
      to
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    answer({ form, params: { body }, recipients }, reply) {
      const sender = str(form.sender);
      const id = uuidLike();
      const data = recipients.map((recipient, i) => {
        const messageId = `${id}:${i + 1}`;
        ctx.accept({
          id: messageId,
          channel: 'sms',
          provider: 'kaleyra',
          to: recipient,
          from: sender,
          body,
          raw: form,
        });
        return { message_id: messageId, recipient };
      });
      return reply.code(202).send({
        id,
        type: str(form.type) ?? 'DEFAULT',
        sender,
        body: { content: body, charset: null, encoding: 'plain', length: body.length, billable_size: 1 },
        createdDateTime: kaleyraDate(),
        totalCount: data.length,
        data,
        error: {},
      });
    },
  });

  registerResource(app, ctx, {
    path: 'voice/outbound',
    channel: 'voice',
    mandatory: ['to', 'bridge'],
    recipients: ({ to }) => [to],
    answer({ form, params: { to, bridge } }, reply) {
      const id = hex32();
      ctx.accept({
        id,
        channel: 'voice',
        provider: 'kaleyra',
        to,
        from: bridge,
        body: targetText(form.target),
        raw: form,
      });
      return reply.send({ id, status: 'queued', to, bridge, createdDateTime: kaleyraDate() });
    },
  });
}
