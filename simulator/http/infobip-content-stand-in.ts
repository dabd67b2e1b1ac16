import { str } from './util';

/**
 * What the simulator's Infobip WhatsApp API checks in a message's `content`, type by type, as Infobip's 400s name the
 * field (simulator/http/infobip-stand-in.ts sends them).
 */

/** What a message's content adds to its record, or the field it lacks (Infobip's 400 names it). */
export type ContentCheck =
  | { ok: true; body?: string; title?: string; data?: Record<string, unknown> }
  | { ok: false; field: string; problem?: string };

const need = (field: string, problem?: string): ContentCheck => ({ ok: false, field, problem });
export const isHttpUrl = (value: unknown) => typeof value === 'string' && /^https?:\/\/\S+$/.test(value);
const inRange = (value: unknown, limit: number) => typeof value === 'number' && Math.abs(value) <= limit;

export type Content = Record<string, unknown>;

/** An interactive message's optional header: text, or a medium by URL. */
function headerProblem(header: unknown, path: string): ContentCheck | undefined {
  if (header === undefined) return undefined;
  const { type, text, mediaUrl } = header as Content;
  if (type === 'TEXT') return str(text) ? undefined : need(`${path}.text`);
  if (type === 'IMAGE' || type === 'DOCUMENT' || type === 'VIDEO') {
    return isHttpUrl(mediaUrl) ? undefined : need(`${path}.mediaUrl`, 'must be a valid http(s) URL');
  }
  return need(`${path}.type`, 'must be one of TEXT, IMAGE, DOCUMENT, VIDEO');
}

/** The free-form message types, by their path under `/whatsapp/1/message/`, each with its content's checks. */
export const FREE_FORM: Record<string, (content: Content) => ContentCheck> = {
  text: (content) => (str(content.text) ? { ok: true, body: str(content.text) } : need('content.text')),
  document: (content) =>
    isHttpUrl(content.mediaUrl)
      ? {
          ok: true,
          body: str(content.caption),
          data: { type: 'document', mediaUrl: content.mediaUrl, filename: str(content.filename) },
        }
      : need('content.mediaUrl', 'must be a valid http(s) URL'),
  image: (content) =>
    isHttpUrl(content.mediaUrl)
      ? { ok: true, body: str(content.caption), data: { type: 'image', mediaUrl: content.mediaUrl } }
      : need('content.mediaUrl', 'must be a valid http(s) URL'),
  location: (content) => {
    if (!inRange(content.latitude, 90)) return need('content.latitude', 'must be between -90 and 90');
    if (!inRange(content.longitude, 180)) return need('content.longitude', 'must be between -180 and 180');
    const { latitude, longitude, name, address } = content;
    return {
      ok: true,
      body: str(name) ?? str(address),
      data: { type: 'location', latitude, longitude, name, address },
    };
  },
  'interactive/buttons': (content) => {
    const text = str((content.body as Content | undefined)?.text);
    if (!text) return need('content.body.text');
    const buttons = (content.action as { buttons?: unknown } | undefined)?.buttons;
    if (!Array.isArray(buttons) || buttons.length === 0 || buttons.length > 3) {
      return need('content.action.buttons', 'must hold 1 to 3 buttons');
    }
    for (const [index, button] of (buttons as Content[]).entries()) {
      if (button?.type !== 'REPLY') return need(`content.action.buttons[${index}].type`, 'must be REPLY');
      if (!str(button.id) || str(button.id)!.length > 256) {
        return need(`content.action.buttons[${index}].id`, 'must have 1 to 256 characters');
      }
      if (!str(button.title) || str(button.title)!.length > 20) {
        return need(`content.action.buttons[${index}].title`, 'must have 1 to 20 characters');
      }
    }
    const header = headerProblem(content.header, 'content.header');
    if (header) return header;
    return {
      ok: true,
      body: text,
      data: { type: 'interactive buttons', buttons, ...(content.header ? { header: content.header } : {}) },
    };
  },
  'interactive/url-button': (content) => {
    const text = str((content.body as Content | undefined)?.text);
    if (!text) return need('content.body.text');
    const action = (content.action ?? {}) as Content;
    if (!str(action.displayText) || str(action.displayText)!.length > 20) {
      return need('content.action.displayText', 'must have 1 to 20 characters');
    }
    if (!isHttpUrl(action.url)) return need('content.action.url', 'must be a valid http(s) URL');
    const header = headerProblem(content.header, 'content.header');
    if (header) return header;
    return {
      ok: true,
      body: text,
      data: { type: 'interactive url button', url: action.url, ...(content.header ? { header: content.header } : {}) },
    };
  },
};

/** A template message's content: name, language, body placeholders, and an optional header and buttons. */
export function templateContent(content: Content): ContentCheck {
  const name = str(content.templateName);
  if (!name) return need('content.templateName');
  if (!str(content.language)) return need('content.language');
  const data = (content.templateData ?? {}) as Content;
  const placeholders = (data.body as Content | undefined)?.placeholders;
  if (!Array.isArray(placeholders)) return need('content.templateData.body.placeholders', 'must be an array');
  const header = data.header as Content | undefined;
  if (header) {
    const { type } = header;
    if (type === 'DOCUMENT' || type === 'IMAGE' || type === 'VIDEO') {
      if (!isHttpUrl(header.mediaUrl)) {
        return need('content.templateData.header.mediaUrl', 'must be a valid http(s) URL');
      }
      if (type === 'DOCUMENT' && !str(header.filename)) return need('content.templateData.header.filename');
    } else if (type === 'LOCATION') {
      if (!inRange(header.latitude, 90) || !inRange(header.longitude, 180)) {
        return need('content.templateData.header.latitude', 'latitude and longitude must be coordinates');
      }
    } else if (type === 'TEXT') {
      if (!str(header.placeholder)) return need('content.templateData.header.placeholder');
    } else {
      return need('content.templateData.header.type', 'must be one of TEXT, DOCUMENT, IMAGE, VIDEO, LOCATION');
    }
  }
  const buttons = data.buttons;
  if (buttons !== undefined) {
    if (!Array.isArray(buttons)) return need('content.templateData.buttons', 'must be an array');
    for (const [index, button] of (buttons as Content[]).entries()) {
      if (button?.type !== 'QUICK_REPLY' && button?.type !== 'URL') {
        return need(`content.templateData.buttons[${index}].type`, 'must be QUICK_REPLY or URL');
      }
      if (!str(button.parameter)) return need(`content.templateData.buttons[${index}].parameter`);
    }
  }
  return {
    ok: true,
    title: name,
    body: placeholders.map(String).join(' | '),
    data: {
      type: 'template',
      language: content.language,
      ...(header ? { header } : {}),
      ...(buttons ? { buttons } : {}),
    },
  };
}
