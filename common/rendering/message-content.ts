import type { Channel } from '../config/config';
import type { RenderOutcome, RenderPool, TemplateSource } from './render-pool';
import { MessageRenderer, plainTextToHtml, userFieldsOf, type CompiledTemplate, type RenderContext } from './rendering';
import type { TemplateDocument } from '../store/templates-repository';
import type { SendRequest } from '../domain/send-types';

/** What a channel needs to render a message, as template sources (before interpolation). */
interface ChannelSources {
  email: { subject: string; text?: string; html?: string };
  sms: { body: string };
  push: { title: string; body: string; subtitle?: string };
  voice: { body: string };
  whatsapp: { body: string };
}

/** A rendered message for one user on one channel. */
export type RenderedMessage =
  | { channel: 'email'; subject: string; text?: string; html: string }
  | { channel: 'sms' | 'voice' | 'whatsapp'; body: string }
  | { channel: 'push'; title: string; body: string; subtitle?: string };

/** Why a message could not be rendered: `RENDER_LIMIT` (over the time budget or the output cap) or `RENDER_ERROR`. */
export interface RenderFailure {
  code: 'RENDER_LIMIT' | 'RENDER_ERROR';
  error: string;
}

/** Thrown when a template lacks what a requested channel needs; the API answers 400 with this message. */
export class MissingContentError extends Error {
  override name = 'MissingContentError';
}

type Sources = { [C in Channel]?: ChannelSources[C] };

function requireField(template: TemplateDocument, channel: Channel, field: keyof TemplateDocument): string {
  const value = template[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new MissingContentError(`templateId: the template has no ${field}, which channel ${channel} needs`);
  }
  return value;
}

/**
 * Which texts each channel sends (docs/api.md): the template's channel fields when there is a template, otherwise
 * `messageTitle` (email subject, push title) and `messageContent` (every body).
 */
export function channelSources(request: SendRequest, template: TemplateDocument | null): Sources {
  const sources: Sources = {};
  for (const channel of request.channels) {
    if (!template) {
      const title = request.messageTitle ?? '';
      const content = request.messageContent ?? '';
      if (channel === 'email') sources.email = { subject: title, text: content };
      else if (channel === 'push') sources.push = { title, body: content };
      else sources[channel] = { body: content };
      continue;
    }
    switch (channel) {
      case 'email': {
        const html = template.emailHtmlMessage || undefined;
        const text = template.emailMessage || undefined;
        if (!html && !text) requireField(template, channel, 'emailMessage');
        sources.email = { subject: requireField(template, channel, 'emailTitle'), text, html };
        break;
      }
      case 'sms':
        sources.sms = { body: requireField(template, channel, 'smsMessage') };
        break;
      case 'voice':
        sources.voice = { body: requireField(template, channel, 'voiceMessage') };
        break;
      case 'whatsapp':
        sources.whatsapp = { body: requireField(template, channel, 'whatsappMessage') };
        break;
      case 'push':
        sources.push = {
          title: requireField(template, channel, 'pushTitle'),
          body: requireField(template, channel, 'pushMessage'),
          subtitle: template.pushSubtitle || undefined,
        };
        break;
    }
  }
  return sources;
}

/** The user fields any of `templates` reads. */
function readFields(templates: (TemplateSource | null)[]): string[] | 'all' {
  const fields = new Set<string>();
  for (const template of templates) {
    if (!template) continue;
    const read = userFieldsOf(template.source);
    if (read === 'all') return 'all';
    read.forEach((field) => fields.add(field));
  }
  return [...fields];
}

/**
 * The user's own `fields`: what crosses to the render thread. Null-prototype, so that a field named `__proto__`
 * stays a field.
 */
function pick(user: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const picked = Object.create(null) as Record<string, unknown>;
  for (const field of fields) if (Object.hasOwn(user, field)) picked[field] = user[field];
  return picked;
}

type Compiled<T> = { [K in keyof T]: undefined extends T[K] ? CompiledTemplate | undefined : CompiledTemplate };

/** A send's templates compiled once and rendered for each recipient (docs/api.md "Rendering"). */
export class CompiledContent {
  private readonly compiled: { [C in Channel]?: Compiled<ChannelSources[C]> } = {};
  private readonly sources: Sources;
  /** Per channel, the user fields its templates read (`userFieldsOf`), found on first use. */
  private readonly userFields: { [C in Channel]?: string[] | 'all' } = {};

  /** @throws TemplateSyntaxError naming the field that does not compile; MissingContentError */
  constructor(request: SendRequest, template: TemplateDocument | null, renderer: MessageRenderer) {
    const sources = channelSources(request, template);
    this.sources = sources;
    const field = (name: string, requestField: string) => (template ? name : requestField);
    const text = (name: string, requestField: string, source: string) =>
      renderer.compile(field(name, requestField), source);
    const optional = (name: string, requestField: string, source: string | undefined, html = false) =>
      source === undefined ? undefined : renderer.compile(field(name, requestField), source, { html });
    if (sources.email) {
      this.compiled.email = {
        subject: text('emailTitle', 'messageTitle', sources.email.subject),
        text: optional('emailMessage', 'messageContent', sources.email.text),
        html: optional('emailHtmlMessage', 'messageContent', sources.email.html, true),
      };
    }
    if (sources.push) {
      this.compiled.push = {
        title: text('pushTitle', 'messageTitle', sources.push.title),
        body: text('pushMessage', 'messageContent', sources.push.body),
        subtitle: optional('pushSubtitle', 'messageContent', sources.push.subtitle),
      };
    }
    for (const channel of ['sms', 'voice', 'whatsapp'] as const) {
      const source = sources[channel];
      if (source) this.compiled[channel] = { body: text(`${channel}Message`, 'messageContent', source.body) };
    }
  }

  /**
   * Renders `channel`'s message for each user through `pool` (worker threads, with the time budget and output cap of
   * docs/api.md "Rendering"), in one task: a message, or why there is none.
   */
  async renderAll(
    pool: RenderPool,
    channel: Channel,
    users: Record<string, unknown>[],
    data: RenderContext['data'],
    /** Per user, index for index, values beside `user` and `data` (`{{unsubscribeUrl}}`). */
    extras?: Record<string, unknown>[],
  ): Promise<(RenderedMessage | RenderFailure)[]> {
    const templates = this.templatesOf(channel);
    const fields = (this.userFields[channel] ??= readFields(templates));
    const outcomes = await pool.render(
      templates,
      users.map((user, index) => ({ ...extras?.[index], user: fields === 'all' ? user : pick(user, fields) })),
      data,
    );
    return outcomes.map((outcome) => (outcome.code ? outcome : this.fromTexts(channel, outcome.texts)));
  }

  /** A channel's fields as the pool's templates, in the order `fromTexts` reads their texts. */
  private templatesOf(channel: Channel): (TemplateSource | null)[] {
    const text = (source: string | undefined, html = false) => (source === undefined ? null : { source, html });
    switch (channel) {
      case 'email': {
        const email = this.sources.email!;
        return [text(email.subject), text(email.text), text(email.html, true)];
      }
      case 'push': {
        const push = this.sources.push!;
        return [text(push.title), text(push.body), text(push.subtitle)];
      }
      default:
        return [text(this.sources[channel]!.body)];
    }
  }

  private fromTexts(channel: Channel, texts: Extract<RenderOutcome, { texts: unknown }>['texts']): RenderedMessage {
    switch (channel) {
      case 'email': {
        const [subject, text, html] = texts;
        return { channel, subject: subject!, text, html: html ?? plainTextToHtml(text ?? '') };
      }
      case 'push': {
        const [title, body, subtitle] = texts;
        return { channel, title: title!, body: body!, subtitle };
      }
      default:
        return { channel, body: texts[0]! };
    }
  }

  /**
   * Renders in this process, without the time budget: for the bench's in-process baseline and tests. The worker and
   * the API render through `renderAll`.
   */
  render(channel: Channel, context: RenderContext): RenderedMessage {
    switch (channel) {
      case 'email': {
        const email = this.compiled.email!;
        const text = email.text?.(context);
        const html = email.html ? email.html(context) : plainTextToHtml(text ?? '');
        return { channel, subject: email.subject(context), text, html };
      }
      case 'push': {
        const push = this.compiled.push!;
        return { channel, title: push.title(context), body: push.body(context), subtitle: push.subtitle?.(context) };
      }
      default:
        return { channel, body: this.compiled[channel]!.body(context) };
    }
  }
}
