/**
 * WhatsApp through Infobip's WhatsApp API, authenticated as the settings say (an `App` key or an OAuth token,
 * infobip-oauth.ts).
 *
 * How one `WhatsappMessage` becomes Infobip messages:
 * - With a `template` (business-initiated, any time): one `POST /whatsapp/1/message/template` with the template's
 *   name, language and body placeholders. The header, which a template has at most one of, is the first medium of
 *   document, image, location (in that order); the buttons are the template's URL (`parameter`: the dynamic URL
 *   suffix) and QUICK_REPLY (`parameter`: the payload) buttons, in order.
 * - Without (free-form, inside the 24-hour session): one primary message carrying the text, at most one medium and
 *   the buttons. Quick replies make it an interactive buttons message (reply buttons, id and title the reply's value;
 *   the first document or image as its header); otherwise a url button makes it an interactive URL button message
 *   (the first url; the medium as header); otherwise it is a document or image message with the text as caption, or
 *   a text message. URLs of further url buttons are appended to the text as links (WhatsApp has no message with
 *   both kinds of buttons, nor with two URL buttons).
 * - Media that did not fit the primary message (the image beside a document, a location) each go as their own
 *   message (image, document, location endpoints) BEFORE the primary one, so that a failure on the way, retried by
 *   the delivery, can repeat only those and never the primary. The receipt's `providerMessageId` is the primary
 *   message's: the one its delivery and seen reports (sent to `notifyUrl` = `statusCallbackUrl`) are matched by.
 *   Every message of the set carries the same `notifyUrl`; reports of the extra media match no delivery.
 */
import { z } from 'zod';
import type { ProviderReceipt, WhatsappButton, WhatsappMessage, WhatsappProvider } from './channel-interfaces';
import { joinUrl, type ProviderHttpClient } from './http-client';
import { InfobipAuthorization, readInfobipError } from './infobip-oauth';
import { ALWAYS, defineProvider, nonEmpty, SIMULATOR_URL } from './provider-module';

/**
 * What an Infobip account needs: a base URL, the account's personal one (`https://<id>.api.infobip.com`, the
 * simulator locally), and one of two authentications:
 * - `{ baseUrl, apiKey }` (`INFOBIP_*` in configuration): `Authorization: App <apiKey>`;
 * - `{ apiBaseUrl, clientId, clientSecret }` (the OS1 registry's shape): OAuth 2.0 client credentials exchanged at
 *   `{base}/auth/1/oauth2/token` for a bearer token.
 * Either base URL name goes with either authentication; giving both base URLs, or both authentications, is refused.
 */
export const infobipSettingsSchema = z
  .strictObject({
    baseUrl: z.url().optional(),
    /** The OS1 registry's name of `baseUrl`. */
    apiBaseUrl: z.url().optional(),
    /** API key, sent as `Authorization: App <key>`. */
    apiKey: nonEmpty.optional(),
    /** OAuth 2.0 client id (client credentials grant). */
    clientId: nonEmpty.optional(),
    /** OAuth 2.0 client secret. */
    clientSecret: nonEmpty.optional(),
  })
  .superRefine((settings, context) => {
    const has = (key: keyof typeof settings) => settings[key] !== undefined;
    if (has('baseUrl') && has('apiBaseUrl')) {
      context.addIssue({ code: 'custom', path: ['apiBaseUrl'], message: 'give baseUrl or apiBaseUrl, not both' });
    } else if (!has('baseUrl') && !has('apiBaseUrl')) {
      context.addIssue({ code: 'custom', path: ['baseUrl'], message: 'required (or apiBaseUrl)' });
    }
    const oauth = has('clientId') || has('clientSecret');
    if (has('apiKey') && oauth) {
      const extra = has('clientId') ? 'clientId' : 'clientSecret';
      context.addIssue({
        code: 'custom',
        path: [extra],
        message: 'give apiKey or clientId and clientSecret, not both',
      });
    } else if (oauth) {
      for (const key of ['clientId', 'clientSecret'] as const)
        if (!has(key))
          context.addIssue({ code: 'custom', path: [key], message: 'required with OAuth client credentials' });
    } else if (!has('apiKey')) {
      context.addIssue({ code: 'custom', path: ['apiKey'], message: 'required (or clientId and clientSecret)' });
    }
  }, ALWAYS)
  .describe('{apiBaseUrl or baseUrl, clientId and clientSecret, or apiKey}');
export type InfobipSettings = z.infer<typeof infobipSettingsSchema>;

/** A WhatsApp button's title holds at most 20 characters. */
const BUTTON_TITLE_LENGTH = 20;
/** The label of an interactive URL button, which our buttons (a URL only) do not name. */
const URL_BUTTON_LABEL = 'Open link';

/** One Infobip request: the API path and its JSON body. */
export interface InfobipRequest {
  path: string;
  body: Record<string, unknown>;
}

const isQuickReply = (button: WhatsappButton) => button.type === 'quickReply';
const isUrl = (button: WhatsappButton) => button.type === 'url';

/** What every message of one send carries besides its content: sender, recipient, where reports go. */
function envelope(message: WhatsappMessage): Record<string, unknown> {
  return {
    from: message.from,
    to: message.to,
    ...(message.statusCallbackUrl ? { notifyUrl: message.statusCallbackUrl } : {}),
  };
}

/** The template message (`/whatsapp/1/message/template`) and the media its one header could not carry. */
function templateRequests(message: WhatsappMessage): { primary: InfobipRequest; extraMedia: InfobipRequest[] } {
  const template = message.template!;
  const { document, image, location } = message.media ?? {};
  let header: Record<string, unknown> | undefined;
  const extra: WhatsappMessage['media'] = {};
  if (document) {
    header = { type: 'DOCUMENT', mediaUrl: document.url, filename: document.filename ?? fileNameOf(document.url) };
    if (image) extra.image = image;
    if (location) extra.location = location;
  } else if (image) {
    header = { type: 'IMAGE', mediaUrl: image.url };
    if (location) extra.location = location;
  } else if (location) {
    header = { type: 'LOCATION', latitude: location.latitude, longitude: location.longitude };
  }
  const buttons = (message.buttons ?? []).map((button) => ({
    type: isUrl(button) ? 'URL' : 'QUICK_REPLY',
    parameter: button.value,
  }));
  const templateData = {
    body: { placeholders: template.placeholders },
    ...(header ? { header } : {}),
    ...(buttons.length > 0 ? { buttons } : {}),
  };
  return {
    primary: {
      path: '/whatsapp/1/message/template',
      body: {
        messages: [
          {
            ...envelope(message),
            content: { templateName: template.name, templateData, language: template.language },
          },
        ],
      },
    },
    extraMedia: mediaRequests(message, extra),
  };
}

/** A document's file name when the message gives none: the last segment of its URL's path. */
function fileNameOf(url: string): string {
  try {
    const segment = new URL(url).pathname.split('/').filter(Boolean).pop();
    return segment ? decodeURIComponent(segment) : 'document';
  } catch {
    return 'document';
  }
}

/** One free-form message per medium (document, image, location endpoints), without text. */
function mediaRequests(message: WhatsappMessage, media: WhatsappMessage['media']): InfobipRequest[] {
  const requests: InfobipRequest[] = [];
  if (media?.document) {
    requests.push({
      path: '/whatsapp/1/message/document',
      body: {
        ...envelope(message),
        content: { mediaUrl: media.document.url, filename: media.document.filename ?? fileNameOf(media.document.url) },
      },
    });
  }
  if (media?.image) {
    requests.push({
      path: '/whatsapp/1/message/image',
      body: { ...envelope(message), content: { mediaUrl: media.image.url } },
    });
  }
  if (media?.location) {
    const { latitude, longitude, name, address } = media.location;
    requests.push({
      path: '/whatsapp/1/message/location',
      body: {
        ...envelope(message),
        content: { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) },
      },
    });
  }
  return requests;
}

/** The free-form primary message (see the top of this file) and the media it could not carry. */
function freeFormRequests(message: WhatsappMessage): { primary: InfobipRequest; extraMedia: InfobipRequest[] } {
  const { document, image, location } = message.media ?? {};
  const buttons = message.buttons ?? [];
  const quickReplies = buttons.filter(isQuickReply);
  const urls = buttons.filter(isUrl).map((button) => button.value);
  // Only a document or an image rides on the primary message (header or caption); a location never does.
  const carried = document ? 'document' : image ? 'image' : undefined;
  const extra: WhatsappMessage['media'] = {
    ...(carried === 'document' && image ? { image } : {}),
    ...(location ? { location } : {}),
  };
  const header =
    carried === 'document'
      ? { type: 'DOCUMENT', mediaUrl: document!.url, filename: document!.filename ?? fileNameOf(document!.url) }
      : carried === 'image'
        ? { type: 'IMAGE', mediaUrl: image!.url }
        : undefined;
  const withLinks = (text: string, links: string[]) => [text, ...links].filter(Boolean).join('\n');
  let primary: InfobipRequest;
  if (quickReplies.length > 0) {
    primary = {
      path: '/whatsapp/1/message/interactive/buttons',
      body: {
        ...envelope(message),
        content: {
          body: { text: withLinks(message.body, urls) },
          action: {
            buttons: quickReplies.map((button) => ({
              type: 'REPLY',
              id: button.value,
              title: button.value.slice(0, BUTTON_TITLE_LENGTH),
            })),
          },
          ...(header ? { header } : {}),
        },
      },
    };
  } else if (urls.length > 0) {
    primary = {
      path: '/whatsapp/1/message/interactive/url-button',
      body: {
        ...envelope(message),
        content: {
          body: { text: withLinks(message.body, urls.slice(1)) },
          action: { displayText: URL_BUTTON_LABEL, url: urls[0] },
          ...(header ? { header } : {}),
        },
      },
    };
  } else if (carried === 'document') {
    primary = {
      path: '/whatsapp/1/message/document',
      body: {
        ...envelope(message),
        content: { mediaUrl: header!.mediaUrl, filename: header!.filename, caption: message.body },
      },
    };
  } else if (carried === 'image') {
    primary = {
      path: '/whatsapp/1/message/image',
      body: { ...envelope(message), content: { mediaUrl: header!.mediaUrl, caption: message.body } },
    };
  } else {
    primary = { path: '/whatsapp/1/message/text', body: { ...envelope(message), content: { text: message.body } } };
  }
  return { primary, extraMedia: mediaRequests(message, extra) };
}

/**
 * The Infobip requests of one message, in the order they are sent: the media that go on their own first, the
 * primary message (whose id is the receipt's) last. See the top of this file.
 */
export function infobipRequests(message: WhatsappMessage): InfobipRequest[] {
  const { primary, extraMedia } = message.template ? templateRequests(message) : freeFormRequests(message);
  return [...extraMedia, primary];
}

/** The message id of an Infobip answer: a single message's `messageId`, or the first of a template's `messages`. */
function messageIdOf(answer: { messageId?: string; messages?: { messageId?: string }[] } | undefined) {
  return answer?.messageId ?? answer?.messages?.[0]?.messageId;
}

export class InfobipProvider implements WhatsappProvider {
  private readonly baseUrl: string;
  private readonly authorization: InfobipAuthorization;

  constructor(
    private readonly http: ProviderHttpClient,
    settings: InfobipSettings,
  ) {
    // The schema guarantees exactly one base URL and one authentication.
    this.baseUrl = (settings.baseUrl ?? settings.apiBaseUrl)!;
    this.authorization = new InfobipAuthorization(http, this.baseUrl, settings);
  }

  private post({ path, body }: InfobipRequest): Promise<string | undefined> {
    return this.authorization.authorized(async (authorization) => {
      const response = await this.http.call(
        'infobip',
        joinUrl(this.baseUrl, path),
        {
          headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(body),
        },
        readInfobipError,
      );
      return messageIdOf(response.json());
    });
  }

  async sendWhatsapp(message: WhatsappMessage): Promise<ProviderReceipt> {
    let providerMessageId: string | undefined;
    for (const request of infobipRequests(message)) providerMessageId = await this.post(request);
    return { providerMessageId };
  }
}

export const infobipProvider = defineProvider({
  type: 'infobip',
  channels: ['whatsapp'],
  settingsSchema: infobipSettingsSchema,
  environment: { baseUrl: 'INFOBIP_BASE_URL', apiKey: 'INFOBIP_API_KEY' },
  defaultFor: ['whatsapp'],
  profileDefaults: {
    // Each account has its own host (`https://<id>.api.infobip.com`): no public default.
    production: {},
    development: { baseUrl: SIMULATOR_URL, apiKey: 'simulator-key' },
  },
  urlSettings: ['baseUrl', 'apiBaseUrl'],
  publicHosts: ['api.infobip.com', '*.api.infobip.com', '*.infobip.com'],
  errorReader: { answerBody: readInfobipError },
  build: (settings, { http }) => new InfobipProvider(http, settings),
});
