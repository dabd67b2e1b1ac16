import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimulatorContext } from '../context';
import type { RecordedAttachment } from '../recorder';
import { bodyOf, injectFault, reject, str } from './util';

/**
 * Amazon SES API v2 (`SendEmail`, REST-JSON) and AWS End User Messaging SMS, the Pinpoint SMS and Voice API v2
 * (`SendTextMessage`, awsJson1_0 at `POST /` with `X-Amz-Target`), as the official AWS SDK v3 clients call them.
 *
 * What a real endpoint refuses, the simulator refuses the same way (status, `x-amzn-ErrorType` header and
 * `__type` in the body, which the SDK turns into a named exception):
 * - no `Authorization` header: 403 MissingAuthenticationTokenException;
 * - an `Authorization` that is not SigV4 (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
 *   SignedHeaders=..., Signature=<64 hex>`) or no `X-Amz-Date`: 403 IncompleteSignatureException;
 * - a credential scoped to another service (SES signs as `ses`, Pinpoint SMS v2 as `sms-voice`): 403
 *   InvalidSignatureException;
 * - bad credentials, by the simulator's rule: an access key id starting with `INVALID` is unknown (403
 *   UnrecognizedClientException); the signature itself is not checked, the simulator knowing no secret.
 * The rest is recorded (email / `ses`, sms / `pinpoint`), after the faults of the channel.
 */

type AwsProtocol = 'rest-json' | 'json-1.0';

/** An AWS error as the SDK parses it: the code in `x-amzn-ErrorType` and `__type`, the text in `message`. */
function awsError(
  reply: FastifyReply,
  ctx: SimulatorContext,
  status: number,
  code: string,
  message: string,
  extra = {},
) {
  reply.header('x-amzn-errortype', code);
  reply.header('x-amzn-requestid', randomUUID());
  return reject(reply, ctx, status, { __type: code, message, ...extra });
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/**
 * The SigV4 checks of the top of this file; answers the refusal and returns false when the request fails one.
 * `service` is the signing name the credential scope must carry.
 */
function signedFor(request: FastifyRequest, reply: FastifyReply, ctx: SimulatorContext, service: string): boolean {
  const authorization = request.headers.authorization;
  if (!authorization) {
    awsError(reply, ctx, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    return false;
  }
  const match = SIGV4.exec(authorization);
  if (!match || !request.headers['x-amz-date']) {
    const problem = match ? "requires the 'X-Amz-Date' header" : 'is not a valid SigV4 Authorization header';
    awsError(reply, ctx, 403, 'IncompleteSignatureException', `The request signature ${problem}.`);
    return false;
  }
  const [, accessKeyId, , , scopeService] = match;
  if (scopeService !== service) {
    awsError(
      reply,
      ctx,
      403,
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${service}'.`,
    );
    return false;
  }
  if (accessKeyId.startsWith('INVALID')) {
    awsError(reply, ctx, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    return false;
  }
  return true;
}

/** The simulated faults as each protocol's errors: throttling, service failures, or a plain bad request. */
function faultError(protocol: AwsProtocol) {
  return (status: number) => {
    if (status === 429) {
      const code = protocol === 'rest-json' ? 'TooManyRequestsException' : 'ThrottlingException';
      return { __type: code, message: 'Rate exceeded' };
    }
    if (status >= 500)
      return { __type: status === 503 ? 'ServiceUnavailable' : 'InternalFailure', message: 'Simulated failure' };
    const code = protocol === 'rest-json' ? 'BadRequestException' : 'ValidationException';
    return { __type: code, message: 'Simulated request failure' };
  };
}

/** SES's message ids: `0100` and the time in hex, a random part, a UUID, `-000000`. */
const sesMessageId = () =>
  `0100${Date.now().toString(16).padStart(12, '0')}-${randomBytes(4).toString('hex')}-${randomUUID()}-000000`;

const stringsOf = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

interface SesSimpleContent {
  Subject?: { Data?: string };
  Body?: { Text?: { Data?: string }; Html?: { Data?: string } };
  Attachments?: { FileName?: string; RawContent?: string; ContentType?: string }[];
}

function registerSes(app: FastifyInstance, ctx: SimulatorContext): void {
  const badRequest = (reply: FastifyReply, message: string) =>
    awsError(reply, ctx, 400, 'BadRequestException', message);

  app.post('/v2/email/outbound-emails', async (request, reply) => {
    ctx.stats.request('ses');
    if (!signedFor(request, reply, ctx, 'ses')) return reply;
    const body = bodyOf(request);
    const from = str(body.FromEmailAddress);
    const destination = (body.Destination ?? {}) as Record<string, unknown>;
    const to = stringsOf(destination.ToAddresses);
    const cc = stringsOf(destination.CcAddresses);
    const bcc = stringsOf(destination.BccAddresses);
    const content = (body.Content ?? {}) as { Simple?: SesSimpleContent; Raw?: { Data?: string }; Template?: unknown };
    if (!from) return badRequest(reply, 'Missing required parameter: FromEmailAddress');
    if (to.length + cc.length + bcc.length === 0) return badRequest(reply, 'Missing required parameter: Destination');
    if (to.length + cc.length + bcc.length > 50) return badRequest(reply, 'Recipient count exceeds 50.');
    const simple = content.Simple;
    if (!simple && !content.Raw && !content.Template) return badRequest(reply, 'Missing required parameter: Content');
    if (simple && (!simple.Subject?.Data || !(simple.Body?.Text?.Data || simple.Body?.Html?.Data))) {
      return badRequest(reply, 'Missing required parameter: Content.Simple.Subject and Content.Simple.Body');
    }
    if (await injectFault(ctx, 'email', request, reply, faultError('rest-json'))) return reply;
    const refused = [...to, ...cc, ...bcc].find((address) => ctx.faults.isRejected('email', address));
    if (refused) {
      return awsError(
        reply,
        ctx,
        400,
        'MessageRejected',
        `Email address is not verified. The following identities failed the check: ${refused}`,
      );
    }
    const attachments: RecordedAttachment[] = (simple?.Attachments ?? []).map((attachment) => {
      const bytes = Buffer.from(attachment.RawContent ?? '', 'base64');
      return {
        filename: attachment.FileName,
        contentType: attachment.ContentType ?? 'application/octet-stream',
        size: bytes.length,
        checksum: createHash('md5').update(bytes).digest('hex'),
      };
    });
    const messageId = sesMessageId();
    // The attachments' bytes are summarized above, not kept.
    const raw = simple?.Attachments ? { ...body, Content: { Simple: { ...simple, Attachments: attachments } } } : body;
    ctx.accept({
      id: messageId,
      channel: 'email',
      provider: 'ses',
      to: to.join(', '),
      from,
      cc,
      bcc,
      envelopeTo: [...to, ...cc, ...bcc],
      subject: simple?.Subject?.Data,
      text: simple?.Body?.Text?.Data,
      html: simple?.Body?.Html?.Data,
      attachments,
      messageId,
      raw,
    });
    reply.header('x-amzn-requestid', randomUUID());
    return reply.send({ MessageId: messageId });
  });
}

/** E.164, as Pinpoint SMS v2 requires of `DestinationPhoneNumber`. */
const E164 = /^\+[1-9]\d{1,14}$/;

function registerPinpointSms(app: FastifyInstance, ctx: SimulatorContext): void {
  const invalid = (reply: FastifyReply, field: string, message: string) =>
    awsError(reply, ctx, 400, 'ValidationException', message, {
      Reason: 'INVALID_PARAMETER',
      Fields: [{ Name: field, Message: message }],
    });

  app.post('/', async (request, reply) => {
    ctx.stats.request('pinpoint');
    const target = str(request.headers['x-amz-target']);
    if (!target?.startsWith('PinpointSMSVoiceV2.')) {
      return awsError(
        reply,
        ctx,
        400,
        'UnknownOperationException',
        `Unknown operation ${target ?? '(no X-Amz-Target)'}`,
      );
    }
    if (!signedFor(request, reply, ctx, 'sms-voice')) return reply;
    if (target !== 'PinpointSMSVoiceV2.SendTextMessage') {
      return awsError(reply, ctx, 400, 'UnknownOperationException', `The simulator does not play ${target}`);
    }
    const body = bodyOf(request);
    const to = str(body.DestinationPhoneNumber);
    const text = str(body.MessageBody);
    if (!to || !E164.test(to))
      return invalid(reply, 'DestinationPhoneNumber', 'DestinationPhoneNumber must be in E.164 format');
    if (!text) return invalid(reply, 'MessageBody', 'MessageBody is required');
    const countryParameters = (body.DestinationCountryParameters ?? {}) as Record<string, unknown>;
    if (await injectFault(ctx, 'sms', request, reply, faultError('json-1.0'))) return reply;
    if (ctx.faults.isRejected('sms', to)) {
      return awsError(reply, ctx, 409, 'ConflictException', `The destination phone number ${to} is opted out.`, {
        Reason: 'DESTINATION_PHONE_NUMBER_OPTED_OUT',
        ResourceType: 'opt-out-list',
        ResourceId: 'Default',
      });
    }
    const messageId = randomUUID();
    ctx.accept({
      id: messageId,
      channel: 'sms',
      provider: 'pinpoint',
      to,
      from: str(body.OriginationIdentity),
      body: text,
      data: {
        messageType: str(body.MessageType),
        templateId: str(countryParameters.IN_TEMPLATE_ID),
        entityId: str(countryParameters.IN_ENTITY_ID),
        configurationSetName: str(body.ConfigurationSetName),
      },
      raw: body,
    });
    reply.header('x-amzn-requestid', randomUUID());
    return reply.type('application/x-amz-json-1.0').send({ MessageId: messageId });
  });
}

/** SES v2 and Pinpoint SMS v2; the awsJson1_0 bodies (`application/x-amz-json-1.0`) parsed as JSON. */
export function registerAws(app: FastifyInstance, ctx: SimulatorContext): void {
  app.addContentTypeParser('application/x-amz-json-1.0', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, text ? JSON.parse(text as string) : {});
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  registerSes(app, ctx);
  registerPinpointSms(app, ctx);
}
