import { badRequest } from '../../../common/domain/http-errors';
import { OutgoingHttpClient } from '../../../common/http/outgoing-http';
import type { TemplateMedia } from '../../../common/store/templates-repository';

/**
 * The media a WhatsApp message may carry, wherever it is given (`POST /messages`, `POST /messages/notifications`,
 * `POST /conversations`, a whatsapp template; docs/whatsapp.md): images jpg, jpeg or png up to 5 MB, documents pdf,
 * doc or docx up to 100 MB. Checked by the URL's extension, and, where a HEAD of the URL answers 2xx, by its
 * Content-Type and Content-Length; a URL that does not answer is left to the provider, which fetches it.
 */
export type MediaKind = 'image' | 'document';

const MB = 1024 * 1024;

export const MEDIA_RULES: Record<MediaKind, { extensions: string[]; contentTypes: string[]; maxBytes: number }> = {
  image: { extensions: ['jpg', 'jpeg', 'png'], contentTypes: ['image/jpeg', 'image/png'], maxBytes: 5 * MB },
  document: {
    extensions: ['pdf', 'doc', 'docx'],
    contentTypes: [
      'application/pdf',
      'application/msword',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ],
    maxBytes: 100 * MB,
  },
};

const article = (kind: MediaKind) => (kind === 'image' ? 'an image' : 'a document');

/** How long the HEAD of a media URL may take: the request waits for it. */
export const MEDIA_HEAD_TIMEOUT_MS = 3000;

/** The problem with a media URL's extension (the last segment of its path), or null. */
export function mediaExtensionProblem(kind: MediaKind, url: string): string | null {
  const { extensions } = MEDIA_RULES[kind];
  let name: string;
  try {
    name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    return 'must be a URL';
  }
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (!extension || !extensions.includes(extension)) {
    return `${article(kind)} must be ${extensions.join(', ')} (the URL's file name ends ${extension ? `.${extension}` : 'without an extension'})`;
  }
  return null;
}

/** The problem with what a HEAD of the media URL answered (2xx), or null. */
export function mediaHeadersProblem(
  kind: MediaKind,
  headers: Record<string, string | string[] | undefined>,
): string | null {
  const { contentTypes, maxBytes } = MEDIA_RULES[kind];
  const header = (name: string) => [headers[name]].flat()[0];
  const contentType = header('content-type')?.split(';')[0].trim().toLowerCase();
  // application/octet-stream says nothing: many stores serve every file so.
  if (contentType && contentType !== 'application/octet-stream' && !contentTypes.includes(contentType)) {
    return `${article(kind)} must be ${contentTypes.join(', ')}; the URL serves ${contentType}`;
  }
  const length = Number(header('content-length'));
  if (Number.isFinite(length) && length > maxBytes) {
    return `${article(kind)} may weigh ${maxBytes / MB} MB at most; the URL serves ${(length / MB).toFixed(1)} MB`;
  }
  return null;
}

/** The problem with a media URL, by its extension and, where it answers a HEAD with 2xx, its headers; or null. */
export async function mediaProblem(http: OutgoingHttpClient, kind: MediaKind, url: string): Promise<string | null> {
  const byName = mediaExtensionProblem(kind, url);
  if (byName) return byName;
  let answer;
  try {
    answer = await http.call(url, { method: 'HEAD' });
  } catch {
    return null;
  }
  return answer.status >= 200 && answer.status < 300 ? mediaHeadersProblem(kind, answer.headers) : null;
}

/**
 * The one check of a WhatsApp message's media, with its own HTTP client for the HEADs (private networks only where
 * `ALLOW_PRIVATE_NETWORK_URLS` says so). `check` throws a 400 naming `<field>.<kind>.url`; a URL with a
 * placeholder (`{{…}}`) is not checked: it is known only once rendered, and the provider refuses what it cannot send.
 */
export class WhatsappMediaCheck {
  private readonly http: OutgoingHttpClient;

  constructor(env: { ALLOW_PRIVATE_NETWORK_URLS?: string }) {
    this.http = new OutgoingHttpClient({
      allowPrivateNetworks: env.ALLOW_PRIVATE_NETWORK_URLS === 'true',
      timeoutMs: MEDIA_HEAD_TIMEOUT_MS,
      maxResponseBytes: 64 * 1024,
    });
  }

  async check(media: TemplateMedia | undefined, field: string): Promise<void> {
    const checks = (['image', 'document'] as const).flatMap((kind) => {
      const url = media?.[kind]?.url;
      if (!url || url.includes('{{')) return [];
      return [mediaProblem(this.http, kind, url).then((problem) => ({ kind, problem }))];
    });
    for (const { kind, problem } of await Promise.all(checks)) {
      if (problem) throw badRequest(`${field}.${kind}.url: ${problem}`);
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
