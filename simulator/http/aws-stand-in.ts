import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SimulatorContext } from '../context';
import type { RecordedAttachment } from '../recorder';
import { SNS_CERTIFICATE_PATH } from '../sns-signing';
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
 * The SigV4 checks of the top of this file; answers the refusal and returns false when the request fails one, else
 * the region of the credential scope. `service` is the signing name the credential scope must carry.
 */
function signedFor(
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: SimulatorContext,
  service: string,
): string | false {
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
  const [, accessKeyId, , region, scopeService] = match;
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
  return region;
}

/** The account the simulated SNS topics belong to. */
const SIMULATED_ACCOUNT = '123456789012';

/**
 * Posts an SES or Pinpoint SMS event to the SNS subscription endpoint the reports configuration names
 * (`awsEventsUrl`), as Amazon SNS delivers a configuration set's events: a `Notification` whose `Message` is the
 * event's JSON, posted as `text/plain`, signed with the simulator's certificate, served at this simulator's own URL.
 */
function reportAwsEvent(
  ctx: SimulatorContext,
  request: FastifyRequest,
  event: { provider: 'ses' | 'pinpoint'; region: string; messageId: string; to: string; undeliverable: boolean },
  message: object,
): void {
  const url = ctx.reports.settings().awsEventsUrl;
  if (!url) return;
  const topicArn = `arn:aws:sns:${event.region}:${SIMULATED_ACCOUNT}:${event.provider}-events`;
  const certificateUrl = `${request.protocol}://${request.host}${SNS_CERTIFICATE_PATH}`;
  const notification = ctx.sns.notification(topicArn, message, certificateUrl);
  ctx.reports.schedule({
    provider: event.provider,
    kind: event.undeliverable ? 'undelivered' : 'delivered',
    messageId: event.messageId,
    to: event.to,
    url,
    contentType: 'text/plain; charset=UTF-8',
    headers: {
      'x-amz-sns-message-type': notification.Type,
      'x-amz-sns-message-id': notification.MessageId,
      'x-amz-sns-topic-arn': topicArn,
    },
    body: JSON.stringify(notification),
  });
}

/** An SES v2 configuration-set event of a sent email: `Delivery`, or a permanent `Bounce` for an undeliverable one. */
function sesEvent(messageId: string, from: string, to: string[], undeliverable: boolean): object {
  const timestamp = new Date().toISOString();
  const mail = {
    timestamp,
    source: from,
    sendingAccountId: SIMULATED_ACCOUNT,
    messageId,
    destination: to,
    headersTruncated: false,
  };
  if (undeliverable)
    return {
      eventType: 'Bounce',
      bounce: {
        feedbackId: `${messageId}-bounce`,
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: to.map((emailAddress) => ({
          emailAddress,
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: 'smtp; 550 5.1.1 user unknown',
        })),
        timestamp,
        reportingMTA: 'dns; simulator.invalid',
      },
      mail,
    };
  return {
    eventType: 'Delivery',
    mail,
    delivery: {
      timestamp,
      processingTimeMillis: 50,
      recipients: to,
      smtpResponse: '250 2.6.0 Message received',
      reportingMTA: 'simulator.invalid',
    },
  };
}

/** A Pinpoint SMS v2 event destination's event: `TEXT_DELIVERED`, or `TEXT_UNREACHABLE` for an undeliverable one. */
function pinpointEvent(messageId: string, from: string | undefined, to: string, undeliverable: boolean): object {
  return {
    eventType: undeliverable ? 'TEXT_UNREACHABLE' : 'TEXT_DELIVERED',
    eventVersion: '1.0',
    eventTimestamp: Date.now(),
    isFinal: true,
    ...(from ? { originationPhoneNumber: from } : {}),
    destinationPhoneNumber: to,
    messageId,
    messageRequestTimestamp: Date.now(),
    messageEncoding: 'GSM',
    messageType: 'TRANSACTIONAL',
    messageStatus: undeliverable ? 'UNREACHABLE' : 'DELIVERED',
    messageStatusDescription: undeliverable
      ? 'The destination phone number is unreachable'
      : 'Message has been accepted by phone',
    totalMessageParts: 1,
  };
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
    const region = signedFor(request, reply, ctx, 'ses');
    if (!region) return reply;
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
    const recipients = [...to, ...cc, ...bcc];
    const undeliverable = recipients.some((address) => ctx.reports.isUndeliverable(address));
    reportAwsEvent(
      ctx,
      request,
      { provider: 'ses', region, messageId, to: to.join(', '), undeliverable },
      sesEvent(messageId, from, recipients, undeliverable),
    );
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
    const region = signedFor(request, reply, ctx, 'sms-voice');
    if (!region) return reply;
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
    const undeliverable = ctx.reports.isUndeliverable(to);
    reportAwsEvent(
      ctx,
      request,
      { provider: 'pinpoint', region, messageId, to, undeliverable },
      pinpointEvent(messageId, str(body.OriginationIdentity), to, undeliverable),
    );
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
  // The certificate the SNS notifications of SES and Pinpoint SMS events are signed with.
  app.get(SNS_CERTIFICATE_PATH, async (_request, reply) =>
    reply.type('application/x-x509-ca-cert').send(ctx.sns.certificatePem),
  );
  registerSnsSubscriptions(app, ctx);
  registerSes(app, ctx);
  registerPinpointSms(app, ctx);
}

/**
 * SNS's subscription handshake: `POST /sns/subscriptions {endpoint, region?}` posts a signed
 * `SubscriptionConfirmation` to the endpoint and answers what it answered; the endpoint confirms with a GET of the
 * message's `SubscribeURL` (`GET /sns/confirm`), which `GET /sns/subscriptions` then lists as confirmed.
 */
function registerSnsSubscriptions(app: FastifyInstance, ctx: SimulatorContext): void {
  const subscriptions: { endpoint: string; topicArn: string; token: string; confirmed: boolean }[] = [];
  app.get('/sns/subscriptions', async () => ({ subscriptions }));
  app.get<{ Querystring: { Token?: string } }>('/sns/confirm', async (request, reply) => {
    const subscription = subscriptions.find(({ token }) => token === request.query.Token);
    if (!subscription) return reply.code(404).send({ error: 'no subscription has this token' });
    subscription.confirmed = true;
    return reply.type('text/xml').send('<ConfirmSubscriptionResponse/>');
  });
  app.post('/sns/subscriptions', async (request, reply) => {
    const body = bodyOf(request);
    const endpoint = str(body.endpoint);
    const region = str(body.region) ?? 'us-east-1';
    const refusal = endpoint ? ctx.reports.refusalOf(endpoint) : 'endpoint is required';
    if (!endpoint || refusal) return reply.code(400).send({ error: refusal });
    const topicArn = `arn:aws:sns:${region}:${SIMULATED_ACCOUNT}:messaging-events`;
    const token = randomBytes(32).toString('hex');
    subscriptions.push({ endpoint, topicArn, token, confirmed: false });
    const origin = `${request.protocol}://${request.host}`;
    const confirmation = ctx.sns.signed({
      Type: 'SubscriptionConfirmation',
      MessageId: randomUUID(),
      TopicArn: topicArn,
      Message: `You have chosen to subscribe to the topic ${topicArn}.`,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '2',
      SigningCertURL: `${origin}${SNS_CERTIFICATE_PATH}`,
      SubscribeURL: `${origin}/sns/confirm?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=${token}`,
      Token: token,
    });
    const answer = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': confirmation.Type },
      body: JSON.stringify(confirmation),
      signal: AbortSignal.timeout(5_000),
      redirect: 'manual',
    });
    return { topicArn, answered: answer.status };
  });
}
