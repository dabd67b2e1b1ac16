import type { AppConfig } from '../../common/config/config';
import type { StoredMessage, WhatsappMedia } from '../../common/store/messaging/message-requests-repository';
import type { ModeTemplateDocument } from '../../common/store/templates-repository';
import type { RenderPool } from '../../common/rendering/render-pool';
import { mergedPlaceholderValues, modeTemplateContext } from '../../common/rendering/placeholder-values';
import type { ScopedPlaceholders } from '../../common/store/placeholders-repository';
import { plainTextToHtml, type MessageRenderer } from '../../common/rendering/rendering';
import type { EmailMessage, TextMessage, WhatsappMessage } from '../../providers/channel-interfaces';

/** What a message needs of its mode template (`/templates` with `mode`, docs/os1-messaging.md). */
export type ModeTemplate = Pick<ModeTemplateDocument, 'name' | 'mode' | 'isActive' | 'data'>;

/** A message ready for its channel's provider, for one address. */
export type ProviderMessage =
  | { channel: 'sms'; message: TextMessage }
  | { channel: 'email'; message: EmailMessage }
  | { channel: 'whatsapp'; message: WhatsappMessage };

/** The language of a WhatsApp template message whose mode template names none (the OS1 samples carry none). */
const WHATSAPP_TEMPLATE_LANGUAGE = 'en';

const PLACEHOLDER = /\{\{\s*([\w.]+)\s*\}\}/g;

/** The first value given: OS1 clients send `"from": ""` for "none". */
const firstGiven = (...values: (string | undefined)[]): string =>
  values.find((value) => value !== undefined && value.trim() !== '') ?? '';

function lookup(data: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], data);
}

/**
 * `{{name}}` placeholders of a URL or a button filled from the message's data, and left as written where the data has
 * no value: a WhatsApp button's `{{1}}` is the provider's own parameter, not ours.
 */
export function fillPlaceholders(text: string, data: Record<string, unknown>): string {
  return text.replace(PLACEHOLDER, (whole, path: string) => {
    const value = lookup(data, path);
    return value === undefined || value === null ? whole : String(value);
  });
}

/** The values of a template body's placeholders in order: the parameters of a WhatsApp template at the provider. */
export function placeholderValues(body: string, data: Record<string, unknown>): string[] {
  return [...body.matchAll(PLACEHOLDER)].map(([, path]) => String(lookup(data, path) ?? ''));
}

function fillMedia(media: WhatsappMedia | undefined, data: Record<string, unknown>): WhatsappMedia | undefined {
  if (!media) return undefined;
  return {
    ...(media.document ? { document: { ...media.document, url: fillPlaceholders(media.document.url, data) } } : {}),
    ...(media.image ? { image: { url: fillPlaceholders(media.image.url, data) } } : {}),
    ...(media.location ? { location: media.location } : {}),
  };
}

/** A message that did not render: `RENDER_LIMIT` (over the time budget or the output cap) or `RENDER_ERROR`. */
export class RenderFailedError extends Error {
  override name = 'RenderFailedError';
  constructor(
    readonly code: 'RENDER_LIMIT' | 'RENDER_ERROR',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Renders a message's mode template for one address: the body (and subject) through Handlebars with the message's
 * `data` at the root (`{{orderId}}`, as OS1 templates write it) and under `data` (`{{data.orderId}}`, as Mia's do),
 * with the same helpers as `/send`, on the render threads with the same limits. The tenant's and the application's
 * placeholders fill what `data` leaves (`mergedPlaceholderValues`), in the body, subject, media URLs, buttons and
 * WhatsApp template parameters alike. The message's own `from`, media and buttons win over the template's.
 */
export class OsMessageRenderer {
  constructor(
    private readonly renderer: MessageRenderer,
    private readonly pool: RenderPool,
    private readonly sender: AppConfig['service']['sender'],
  ) {}

  /** @throws TemplateSyntaxError; RenderFailedError */
  async render(
    message: StoredMessage,
    template: ModeTemplate,
    address: string,
    placeholders?: ScopedPlaceholders,
  ): Promise<ProviderMessage> {
    const data = mergedPlaceholderValues(message.data, placeholders);
    const context = modeTemplateContext(data);
    const html = message.channel === 'email' && template.data.format === 'text/html';
    const subjectSource = message.channel === 'email' ? (template.data.subject ?? '') : undefined;
    this.renderer.check(`${template.name}: data.body`, template.data.body);
    if (subjectSource !== undefined) this.renderer.check(`${template.name}: data.subject`, subjectSource);
    const [outcome] = await this.pool.render(
      [
        { source: template.data.body, html },
        subjectSource === undefined ? null : { source: subjectSource, html: false },
      ],
      [context],
    );
    if (outcome.code) throw new RenderFailedError(outcome.code, outcome.error);
    const [body = '', subject = ''] = outcome.texts;
    switch (message.channel) {
      case 'sms':
        return {
          channel: 'sms',
          message: {
            from: firstGiven(
              message.originationNumber,
              message.senderId,
              message.from,
              template.data.originationNumber,
              template.data.from,
              this.sender.sms,
            ),
            to: address,
            body,
            ...(template.data.externalRef ? { templateRef: template.data.externalRef } : {}),
          },
        };
      case 'email': {
        return {
          channel: 'email',
          message: {
            from: firstGiven(message.from, template.data.from, this.sender.email),
            to: address,
            cc: message.cc,
            bcc: message.bcc,
            subject,
            ...(html ? { html: body } : { text: body, html: plainTextToHtml(body) }),
            attachments: [],
          },
        };
      }
      case 'whatsapp': {
        const buttons = (message.buttons ?? template.data.buttons)?.map((button) => ({
          ...button,
          value: fillPlaceholders(button.value, data),
        }));
        const media = fillMedia(message.media ?? template.data.media, data);
        return {
          channel: 'whatsapp',
          message: {
            from: firstGiven(message.from, template.data.from, this.sender.whatsapp),
            to: address,
            body,
            ...(template.data.externalRef
              ? {
                  template: {
                    name: template.data.externalRef,
                    language: template.data.language ?? WHATSAPP_TEMPLATE_LANGUAGE,
                    placeholders: placeholderValues(template.data.body, data),
                  },
                }
              : {}),
            ...(media ? { media } : {}),
            ...(buttons && buttons.length > 0 ? { buttons } : {}),
          },
        };
      }
    }
  }
}
