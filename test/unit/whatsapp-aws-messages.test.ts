import { PermanentProviderError, TransientProviderError } from '../../common/domain/http-errors';
import { classifyAwsError } from '../../providers/aws-account';
import type { ProviderRequest } from '../../providers/http-client';
import { InfobipProvider, infobipRequests } from '../../providers/infobip-provider';
import {
  originationNumberProblem,
  pinpointOriginators,
  pinpointSendTextInput,
  pinpointSettingsSchema,
  type PinpointSettings,
} from '../../providers/pinpoint-provider';
import { sesSendEmailInput } from '../../providers/ses-provider';
import type { ProviderHttpClient, WhatsappMessage } from '../../activities/providers';

const base: WhatsappMessage = { from: '447860099299', to: '919812345600', body: 'Dear Jane, order abc789 delivered.' };
const document = { url: 'https://example.com/docs/delivery%20receipt.pdf', filename: 'receipt.pdf' };
const image = { url: 'https://example.com/image.jpg' };
const location = { latitude: 37.7749, longitude: -122.4194, name: 'Depot' };

const shape = (message: WhatsappMessage) => infobipRequests(message).map(({ path, body }) => ({ path, body }));

describe('Infobip message shapes (infobipRequests)', () => {
  it('sends a template with placeholders, a DOCUMENT header, URL and QUICK_REPLY buttons and notifyUrl', () => {
    const requests = shape({
      ...base,
      statusCallbackUrl: 'http://127.0.0.1:3000/webhooks/infobip/reports?token=t',
      template: { name: 'order_delivered', language: 'en', placeholders: ['Jane', 'abc789'] },
      media: { document },
      buttons: [
        { type: 'url', value: 'track/abc789' },
        { type: 'quickReply', value: 'confirm delivery' },
      ],
    });
    expect(requests).toEqual([
      {
        path: '/whatsapp/1/message/template',
        body: {
          messages: [
            {
              from: base.from,
              to: base.to,
              notifyUrl: 'http://127.0.0.1:3000/webhooks/infobip/reports?token=t',
              content: {
                templateName: 'order_delivered',
                language: 'en',
                templateData: {
                  body: { placeholders: ['Jane', 'abc789'] },
                  header: { type: 'DOCUMENT', mediaUrl: document.url, filename: 'receipt.pdf' },
                  buttons: [
                    { type: 'URL', parameter: 'track/abc789' },
                    { type: 'QUICK_REPLY', parameter: 'confirm delivery' },
                  ],
                },
              },
            },
          ],
        },
      },
    ]);
  });

  it('puts a template’s other media in their own messages before it, the template last', () => {
    const requests = shape({
      ...base,
      template: { name: 't', language: 'en', placeholders: [] },
      media: { document, image, location },
    });
    expect(requests.map((request) => request.path)).toEqual([
      '/whatsapp/1/message/image',
      '/whatsapp/1/message/location',
      '/whatsapp/1/message/template',
    ]);
    expect(requests[1].body.content).toEqual({ latitude: 37.7749, longitude: -122.4194, name: 'Depot' });
  });

  it('uses an image, else a location, as the template header; a document’s name defaults to its URL’s', () => {
    const header = (media: WhatsappMessage['media']) => {
      const [template] = shape({ ...base, template: { name: 't', language: 'en', placeholders: [] }, media }).slice(-1);
      return (template.body.messages as { content: { templateData: { header?: unknown } } }[])[0].content.templateData
        .header;
    };
    expect(header({ image, location })).toEqual({ type: 'IMAGE', mediaUrl: image.url });
    expect(header({ location })).toEqual({ type: 'LOCATION', latitude: 37.7749, longitude: -122.4194 });
    expect(header({ document: { url: document.url } })).toMatchObject({ filename: 'delivery receipt.pdf' });
    expect(header(undefined)).toBeUndefined();
  });

  it('sends plain text as a text message', () => {
    expect(shape(base)).toEqual([
      { path: '/whatsapp/1/message/text', body: { from: base.from, to: base.to, content: { text: base.body } } },
    ]);
  });

  it('sends a document with the text as its caption, then no other message', () => {
    expect(shape({ ...base, media: { document } })).toEqual([
      {
        path: '/whatsapp/1/message/document',
        body: {
          from: base.from,
          to: base.to,
          content: { mediaUrl: document.url, filename: 'receipt.pdf', caption: base.body },
        },
      },
    ]);
  });

  it('sends quick replies as interactive reply buttons with the document as header; other media and url links apart', () => {
    const requests = shape({
      ...base,
      media: { document, image, location },
      buttons: [
        { type: 'quickReply', value: 'confirm delivery' },
        { type: 'url', value: 'https://example.com/track/abc789' },
        { type: 'quickReply', value: 'a reply longer than twenty characters' },
      ],
    });
    expect(requests.map((request) => request.path)).toEqual([
      '/whatsapp/1/message/image',
      '/whatsapp/1/message/location',
      '/whatsapp/1/message/interactive/buttons',
    ]);
    expect(requests[2].body.content).toEqual({
      body: { text: `${base.body}\nhttps://example.com/track/abc789` },
      action: {
        buttons: [
          { type: 'REPLY', id: 'confirm delivery', title: 'confirm delivery' },
          { type: 'REPLY', id: 'a reply longer than twenty characters', title: 'a reply longer than ' },
        ],
      },
      header: { type: 'DOCUMENT', mediaUrl: document.url, filename: 'receipt.pdf' },
    });
  });

  it('sends a url button as an interactive URL button message, further urls as links in the text', () => {
    const [request] = shape({
      ...base,
      media: { image },
      buttons: [
        { type: 'url', value: 'https://example.com/track' },
        { type: 'url', value: 'https://example.com/help' },
      ],
    });
    expect(request).toEqual({
      path: '/whatsapp/1/message/interactive/url-button',
      body: {
        from: base.from,
        to: base.to,
        content: {
          body: { text: `${base.body}\nhttps://example.com/help` },
          action: { displayText: 'Open link', url: 'https://example.com/track' },
          header: { type: 'IMAGE', mediaUrl: image.url },
        },
      },
    });
  });
});

/** An Infobip stand-in: answers token requests and messages, refusing Bearer tokens listed in `revoked`. */
function fakeInfobip() {
  const calls: { provider: string; url: string; init: ProviderRequest }[] = [];
  const revoked = new Set<string>();
  let issued = 0;
  const answer = (value: unknown) => ({ status: 200, headers: {}, body: Buffer.from(''), json: () => value });
  const http = {
    async call(provider: string, url: string, init: ProviderRequest) {
      calls.push({ provider, url, init });
      if (url.endsWith('/auth/1/oauth2/token')) {
        if (String(init.body).includes('client_secret=WRONG')) {
          throw new PermanentProviderError('infobip-oauth answered 401: Invalid login details', 'INFOBIP_UNAUTHORIZED');
        }
        issued += 1;
        return answer({ access_token: `token-${issued}`, expires_in: 3600 });
      }
      const token = init.headers?.authorization?.replace('Bearer ', '') ?? '';
      if (revoked.has(token)) {
        throw new PermanentProviderError('infobip answered 401: Invalid login details', 'INFOBIP_UNAUTHORIZED');
      }
      return answer(
        url.endsWith('/template')
          ? { messages: [{ messageId: `m-${calls.length}` }] }
          : { messageId: `m-${calls.length}` },
      );
    },
  } as unknown as ProviderHttpClient;
  return { http, calls, revoked };
}

describe('Infobip authentication', () => {
  const oauth = { apiBaseUrl: 'https://api.infobip.test', clientId: 'client', clientSecret: 'secret' };

  it('exchanges client credentials once, reuses the token, and renews it once on a 401', async () => {
    const { http, calls, revoked } = fakeInfobip();
    const provider = new InfobipProvider(http, oauth);
    await provider.sendWhatsapp(base);
    await provider.sendWhatsapp(base);
    const tokenCalls = () => calls.filter((call) => call.url.endsWith('/auth/1/oauth2/token'));
    expect(tokenCalls()).toHaveLength(1);
    expect(String(tokenCalls()[0].init.body)).toBe(
      'client_id=client&client_secret=secret&grant_type=client_credentials',
    );
    expect(calls[1].init.headers?.authorization).toBe('Bearer token-1');

    revoked.add('token-1');
    const receipt = await provider.sendWhatsapp(base);
    expect(tokenCalls()).toHaveLength(2);
    expect(calls.at(-1)?.init.headers?.authorization).toBe('Bearer token-2');
    expect(receipt.providerMessageId).toBe(`m-${calls.length}`);
  });

  it('fails permanently, without a second token request, when the client credentials are refused', async () => {
    const { http, calls } = fakeInfobip();
    const provider = new InfobipProvider(http, { ...oauth, clientSecret: 'WRONG' });
    await expect(provider.sendWhatsapp(base)).rejects.toBeInstanceOf(PermanentProviderError);
    expect(calls).toHaveLength(1);
  });

  it('sends the App key when the settings give one, and the primary message’s id as the receipt', async () => {
    const { http, calls } = fakeInfobip();
    const provider = new InfobipProvider(http, { baseUrl: 'https://x.api.infobip.test/', apiKey: 'key' });
    const receipt = await provider.sendWhatsapp({ ...base, media: { document, location } });
    expect(calls.map((call) => call.url)).toEqual([
      'https://x.api.infobip.test/whatsapp/1/message/location',
      'https://x.api.infobip.test/whatsapp/1/message/document',
    ]);
    expect(calls.every((call) => call.init.headers?.authorization === 'App key')).toBe(true);
    expect(receipt.providerMessageId).toBe('m-2');
  });
});

describe('AWS requests and errors', () => {
  it('builds the SESv2 SendEmail input: simple content, cc and bcc, attachments', () => {
    const input = sesSendEmailInput({
      from: 'noreply@example.com',
      to: 'a@example.com',
      cc: ['c@example.com'],
      bcc: [],
      subject: 'Order delivered',
      text: 'plain',
      html: '<p>html</p>',
      attachments: [{ filename: 'r.pdf', content: Buffer.from('%PDF'), contentType: 'application/pdf' }],
    });
    expect(input).toEqual({
      FromEmailAddress: 'noreply@example.com',
      Destination: { ToAddresses: ['a@example.com'], CcAddresses: ['c@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Order delivered', Charset: 'UTF-8' },
          Body: { Text: { Data: 'plain', Charset: 'UTF-8' }, Html: { Data: '<p>html</p>', Charset: 'UTF-8' } },
          Attachments: [{ FileName: 'r.pdf', RawContent: Buffer.from('%PDF'), ContentType: 'application/pdf' }],
        },
      },
    });
  });

  it('builds the Pinpoint SendTextMessage input: origination from the message when it is an originator, else the default', () => {
    const settings = {
      accessKeyId: 'AK',
      secretAccessKey: 's',
      region: 'ap-south-1',
      originationNumber: '+18005550000',
      entityId: 'E1',
    };
    expect(
      pinpointSendTextInput({ from: '+18005550000', to: '+15551234567', body: 'otp', templateRef: 'T9' }, settings),
    ).toEqual({
      DestinationPhoneNumber: '+15551234567',
      OriginationIdentity: '+18005550000',
      MessageBody: 'otp',
      MessageType: 'TRANSACTIONAL',
      DestinationCountryParameters: { IN_TEMPLATE_ID: 'T9', IN_ENTITY_ID: 'E1' },
    });
    const withoutFrom = pinpointSendTextInput(
      { from: '', to: '+15551234567', body: 'x' },
      { ...settings, entityId: undefined },
    );
    expect(withoutFrom.OriginationIdentity).toBe('+18005550000');
    expect(withoutFrom.DestinationCountryParameters).toBeUndefined();
    // Without originators, whatever the message names (AWS refuses a number the account does not own).
    const { originationNumber: _none, ...noOriginators } = settings;
    expect(pinpointSendTextInput({ from: 'DLHVRY', to: '+15551234567', body: 'x' }, noOriginators)).toMatchObject({
      OriginationIdentity: 'DLHVRY',
    });
  });

  describe('Pinpoint originators', () => {
    const account = { accessKeyId: 'AK', secretAccessKey: 's', region: 'us-east-1' };
    const both = {
      ...account,
      originators: [
        { number: '+18005551234', type: 'TFN' as const },
        { number: '+12025550123', type: 'A2P' as const },
        { number: '+12025550124', type: 'A2P' as const },
      ],
    };
    const from = (message: string, settings: PinpointSettings) =>
      pinpointSendTextInput({ from: message, to: '+15551234567', body: 'x' }, settings).OriginationIdentity;

    it('sends from the message’s number when it is an originator, else the first of the default type', () => {
      expect(from('+12025550124', both)).toBe('+12025550124');
      // The service's own sender, or a template's number, is none of the account's.
      expect(from('+15005550006', both)).toBe('+18005551234');
      expect(from('+15005550006', { ...both, defaultOriginatorType: 'A2P' })).toBe('+12025550123');
    });

    it('reads a single originationNumber as one originator, a TFN when it is toll-free', () => {
      expect(pinpointOriginators({ ...account, originationNumber: '+18885550000' })).toEqual([
        { number: '+18885550000', type: 'TFN' },
      ]);
      expect(pinpointOriginators({ ...account, originationNumber: '+12025550123' })).toEqual([
        { number: '+12025550123', type: 'A2P' },
      ]);
      expect(pinpointOriginators(account)).toEqual([]);
    });

    it('names the originators when a number is none of them, and accepts any number without originators', () => {
      expect(originationNumberProblem(both, '+12025550124')).toBeNull();
      expect(originationNumberProblem(both, '+19995550000')).toBe(
        '+19995550000 is not an originator of this provider; it sends from +18005551234 (TFN), +12025550123 (A2P), +12025550124 (A2P)',
      );
      expect(originationNumberProblem(account, '+19995550000')).toBeNull();
    });

    it.each([
      [{ ...both, originationNumber: '+18005550000' }, 'originationNumber'],
      [
        { ...account, originators: [{ number: '+12025550123', type: 'A2P' }], defaultOriginatorType: 'TFN' },
        'defaultOriginatorType',
      ],
      [
        {
          ...account,
          originators: [
            { number: '+12025550123', type: 'A2P' },
            { number: '+12025550123', type: 'TFN' },
          ],
        },
        'originators.1.number',
      ],
      [{ ...account, originators: [] }, 'originators'],
    ])('refuses settings that cannot be used (%#), naming the setting', (settings, path) => {
      const parsed = pinpointSettingsSchema.safeParse(settings);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
    });
  });

  const awsError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });

  it.each([
    [
      'ThrottlingException (429)',
      awsError('ThrottlingException', 429),
      TransientProviderError,
      'PINPOINT_ThrottlingException',
      true,
    ],
    [
      'TooManyRequestsException (429)',
      awsError('TooManyRequestsException', 429),
      TransientProviderError,
      'PINPOINT_TooManyRequestsException',
      true,
    ],
    [
      'LimitExceededException (400)',
      awsError('LimitExceededException', 400),
      TransientProviderError,
      'PINPOINT_LimitExceededException',
      true,
    ],
    [
      'InternalServerException (500)',
      awsError('InternalServerException', 500),
      TransientProviderError,
      'PINPOINT_InternalServerException',
      false,
    ],
    [
      'no answer (ECONNREFUSED)',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      TransientProviderError,
      'ECONNREFUSED',
      false,
    ],
    [
      'UnrecognizedClientException (403)',
      awsError('UnrecognizedClientException', 403),
      PermanentProviderError,
      'PINPOINT_UnrecognizedClientException',
      undefined,
    ],
    [
      'MissingAuthenticationTokenException (403)',
      awsError('MissingAuthenticationTokenException', 403),
      PermanentProviderError,
      'PINPOINT_MissingAuthenticationTokenException',
      undefined,
    ],
    [
      'ValidationException with a Reason',
      awsError('ValidationException', 400, { Reason: 'INVALID_PARAMETER' }),
      PermanentProviderError,
      'PINPOINT_INVALID_PARAMETER',
      undefined,
    ],
  ])('classifies %s', (_label, error, type, code, throttled) => {
    const classified = classifyAwsError('pinpoint', error);
    expect(classified).toBeInstanceOf(type);
    expect(classified.code).toBe(code);
    if (classified instanceof TransientProviderError) expect(classified.throttled).toBe(throttled);
  });
});
