import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SimulatorContext } from '../context';
import { hex32 } from '../simulated-ids';
import { bodyOf, injectFault, str } from './util';

const TOKEN_TTL_SECONDS = 3600;
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

const GOOGLE_STATUS: Record<number, [status: string, fcmErrorCode: string]> = {
  400: ['INVALID_ARGUMENT', 'INVALID_ARGUMENT'],
  401: ['UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'],
  403: ['PERMISSION_DENIED', 'SENDER_ID_MISMATCH'],
  404: ['NOT_FOUND', 'UNREGISTERED'],
  429: ['RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'],
  500: ['INTERNAL', 'INTERNAL'],
  503: ['UNAVAILABLE', 'UNAVAILABLE'],
};

/** Google API error JSON with the FCM error detail, as FCM HTTP v1 answers. */
export function fcmError(code: number, message: string, errorCode?: string) {
  const [status, defaultErrorCode] =
    GOOGLE_STATUS[code] ?? (code >= 500 ? ['INTERNAL', 'INTERNAL'] : ['FAILED_PRECONDITION', 'INVALID_ARGUMENT']);
  return {
    error: {
      code,
      message,
      status,
      details: [{ '@type': FCM_ERROR_TYPE, errorCode: errorCode ?? defaultErrorCode }],
    },
  };
}

function oauthError(reply: FastifyReply, ctx: SimulatorContext, error: string, description: string): FastifyReply {
  ctx.stats.rejected += 1;
  return reply.code(400).send({ error, error_description: description });
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Checks the shape of a service-account JWT assertion; the signature is deliberately not verified. */
export function assertionProblem(assertion: string | undefined): string | undefined {
  if (!assertion) return 'Missing required parameter: assertion';
  const parts = assertion.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) return 'Invalid JWT: not three base64url parts';
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return 'Invalid JWT: header or payload is not JSON';
  }
  if (!header || typeof header !== 'object') return 'Invalid JWT: header is not an object';
  if (!payload || typeof payload !== 'object') return 'Invalid JWT: payload is not an object';
  const claims = payload as Record<string, unknown>;
  for (const claim of ['iss', 'scope', 'aud', 'exp', 'iat']) {
    if (claims[claim] === undefined) return `Invalid JWT: missing claim ${claim}`;
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now() - 60_000) {
    return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
  }
  return undefined;
}

const UNAUTHENTICATED_MESSAGE =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';

export function registerFcm(app: FastifyInstance, ctx: SimulatorContext): void {
  // Token -> expiry (ms). Tokens survive DELETE /messages so running workers keep working after a test resets.
  const tokens = new Map<string, number>();

  app.post('/token', async (request, reply) => {
    ctx.stats.request('fcm-oauth');
    const form = bodyOf(request);
    const grantType = str(form.grant_type);
    if (grantType !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return oauthError(reply, ctx, 'unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
    }
    const problem = assertionProblem(str(form.assertion));
    if (problem) return oauthError(reply, ctx, 'invalid_grant', problem);
    const token = 'sim-' + randomBytes(24).toString('base64url');
    const now = Date.now();
    tokens.set(token, now + TOKEN_TTL_SECONDS * 1000);
    // Drop expired tokens now and then so a long run does not keep every token ever issued.
    if (tokens.size > 1000) for (const [t, exp] of tokens) if (exp < now) tokens.delete(t);
    ctx.stats.tokensIssued += 1;
    return reply.send({ access_token: token, expires_in: TOKEN_TTL_SECONDS, token_type: 'Bearer' });
  });

  // '::' is find-my-way's escape for a literal colon; a single one would start a parameter.
  app.post<{ Params: { projectId: string } }>('/v1/projects/:projectId/messages::send', async (request, reply) => {
    ctx.stats.request('fcm');
    const auth = request.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const expiry = bearer ? tokens.get(bearer) : undefined;
    if (expiry === undefined || expiry < Date.now()) {
      ctx.stats.rejected += 1;
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="https://accounts.google.com/"')
        .send({ error: { code: 401, message: UNAUTHENTICATED_MESSAGE, status: 'UNAUTHENTICATED' } });
    }
    const body = bodyOf(request);
    const message = body.message as Record<string, unknown> | undefined;
    if (!message || typeof message !== 'object') {
      ctx.stats.rejected += 1;
      return reply.code(400).send(fcmError(400, 'Request contains an invalid argument.'));
    }
    const token = str(message.token);
    const topic = str(message.topic);
    const condition = str(message.condition);
    const to = token ?? (topic ? `/topics/${topic}` : condition);
    if (!to) {
      ctx.stats.rejected += 1;
      return reply.code(400).send(fcmError(400, 'Recipient of the message is not set.'));
    }
    if (await injectFault(ctx, 'push', request, reply, (s) => fcmError(s, 'Simulated failure'))) return reply;
    if (ctx.faults.isRejected('push', to)) {
      ctx.stats.rejected += 1;
      return reply.code(404).send(fcmError(404, 'Requested entity was not found.', 'UNREGISTERED'));
    }
    const id = `0:${Date.now()}${hex32().slice(-16)}`;
    const name = `projects/${request.params.projectId}/messages/${id}`;
    // validate_only asks FCM to check the message without delivering it.
    if (body.validate_only === true)
      return reply.send({ name: `projects/${request.params.projectId}/messages/fake_message_id` });
    const notification = (message.notification ?? {}) as Record<string, unknown>;
    const data = (message.data ?? undefined) as Record<string, unknown> | undefined;
    const apnsAlert = ((message.apns as { payload?: { aps?: { alert?: { subtitle?: unknown } } } })?.payload?.aps
      ?.alert ?? {}) as { subtitle?: unknown };
    ctx.accept({
      id,
      channel: 'push',
      provider: 'fcm',
      to,
      title: str(notification.title),
      body: str(notification.body),
      subtitle: str(data?.subtitle) ?? str(apnsAlert.subtitle),
      data,
      raw: message,
    });
    return reply.send({ name });
  });
}
