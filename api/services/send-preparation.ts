import { z } from 'zod';
import type { AppConfig, Channel } from '../../common/config/config';
import { badRequest, HttpError, notFound } from '../../common/domain/http-errors';
import type { FilesServiceClient } from '../../common/http/files-service-client';
import { CompiledContent, MissingContentError } from '../../common/rendering/message-content';
import { MessageRenderer, TemplateSyntaxError } from '../../common/rendering/rendering';
import type { ProvidersRepository } from '../../common/store/providers-repository';
import type { TemplateDocument, TemplatesRepository } from '../../common/store/templates-repository';
import type { SendRequest } from '../../common/domain/send-types';
import { throttleOfSetting, throttleSettingSchema } from '../../common/config/throttle-setting';
import type { SendBody } from '../schemas/send-schemas';
import { assertStorableSize } from '../schemas/storable-schemas';
import { ProviderChoice } from './messaging/provider-choice';

const isEmail = (value: string) => z.email().safeParse(value).success;
const unique = <T>(items: T[]) => [...new Set(items)];

export interface SendPreparationDeps {
  config: AppConfig;
  templates: TemplatesRepository;
  files: FilesServiceClient;
  providers: ProvidersRepository;
}

/** The send's category and criticality as stored: the request's category wins over its template's. */
function categoryOf(body: SendBody, template: TemplateDocument | null): Pick<SendRequest, 'category' | 'critical'> {
  const category = body.category ?? (typeof template?.category === 'string' ? template.category : undefined);
  return { ...(category !== undefined ? { category } : {}), ...(body.critical ? { critical: true } : {}) };
}

/**
 * Validates a `POST /send` body (or a saga command read as one) against the configuration, the templates and the
 * Files Service, and normalizes it into the request that is stored (docs/api.md). Every check runs before anything
 * is stored or started, so a 4xx starts nothing.
 */
export class SendPreparation {
  private readonly renderer: MessageRenderer;

  constructor(private readonly deps: SendPreparationDeps) {
    this.renderer = new MessageRenderer(deps.config.env.DEFAULT_LOCALE);
  }

  /** The send's throttle: the request's, else its template's, else its category's in the configuration. */
  private throttleOf(body: SendBody, template: TemplateDocument | null): Pick<SendRequest, 'throttle'> {
    if (body.throttle) {
      const { limit, window, key } = body.throttle;
      return { throttle: { limit, windowMs: window, ...(key ? { key } : {}) } };
    }
    const written = throttleSettingSchema.safeParse(template?.throttle);
    if (written.success) return { throttle: throttleOfSetting(written.data) };
    const category = categoryOf(body, template).category;
    const { categoryThrottles } = this.deps.config.service;
    if (category === undefined || !Object.hasOwn(categoryThrottles, category)) return {};
    return { throttle: throttleOfSetting(categoryThrottles[category]!) };
  }

  /** Checks the cross-field rules and normalizes the body; throws `HttpError` naming the field. */
  async prepare(body: SendBody): Promise<SendRequest> {
    const { activeChannels } = this.deps.config.service;
    const inactive = body.channels.filter((channel) => !activeChannels.includes(channel));
    if (inactive.length > 0) {
      throw badRequest(`channels: ${inactive.join(', ')} not active (activeChannels: ${activeChannels.join(', ')})`);
    }
    const recipients = unique(body.recipients ?? []);
    const clusters = unique(body.clusters ?? []);
    if (recipients.length === 0 && clusters.length === 0) {
      throw badRequest('recipients: at least one of recipients or clusters must be a non-empty list');
    }
    if (!body.templateId) {
      if (body.messageTitle === undefined) throw badRequest('messageTitle: required when templateId is not given');
      if (body.messageContent === undefined) throw badRequest('messageContent: required when templateId is not given');
    }
    const unrequested = Object.keys(body.providers ?? {}).filter(
      (channel) => !body.channels.includes(channel as Channel),
    );
    if (unrequested.length > 0) throw badRequest(`providers.${unrequested[0]}: not one of the channels of this send`);
    const providers = await this.chooseProviders(unique(body.channels), body.providers ?? {});
    const template = body.templateId ? await this.deps.templates.findById(body.templateId) : null;
    if (body.templateId && !template) throw notFound(`templateId: template ${body.templateId} not found`);

    const request: SendRequest = {
      channels: unique(body.channels),
      recipients,
      clusters,
      ...(template
        ? { templateId: body.templateId }
        : { messageTitle: body.messageTitle, messageContent: body.messageContent }),
      data: body.data ?? {},
      emailAttachments: unique([
        ...(body.emailAttachments ?? []),
        ...(template?.emailAttachments ?? []).map((a) => a.file),
      ]),
      emailCarbonCopies: unique((body.emailCarbonCopies ?? []).filter(isEmail)),
      emailBlindCarbonCopies: unique((body.emailBlindCarbonCopies ?? []).filter(isEmail)),
      ...(body.emailSender ? { emailSender: body.emailSender } : {}),
      ...(Object.keys(providers).length > 0 ? { providers } : {}),
      ...categoryOf(body, template),
      ...(body.quietHours ? { quietHours: body.quietHours } : {}),
      ...this.throttleOf(body, template),
    };
    try {
      new CompiledContent(request, template, this.renderer);
    } catch (error) {
      if (error instanceof TemplateSyntaxError || error instanceof MissingContentError) throw badRequest(error.message);
      throw error;
    }
    // The request is stored whole in the send document (a saga's data holds its whole command besides).
    assertStorableSize(request);
    await this.checkAttachments(request, (body.emailAttachments ?? []).length > 0);
    return request;
  }

  /** The registered provider of each channel that gets one (docs/os1-messaging.md). */
  private async chooseProviders(
    channels: Channel[],
    named: Partial<Record<Channel, string>>,
  ): Promise<Partial<Record<Channel, string>>> {
    const choice = new ProviderChoice(this.deps);
    const chosen = await Promise.all(
      channels.map(async (channel) => [channel, await choice.choose(named[channel], channel, `providers.${channel}`)]),
    );
    return Object.fromEntries(chosen.filter(([, name]) => name !== null));
  }

  /** Attachments must exist and fit in 15 MB before anything starts (docs/api.md). */
  private async checkAttachments(request: SendRequest, requestedAny: boolean): Promise<void> {
    if (request.emailAttachments.length === 0) return;
    if (!this.deps.files.configured) {
      if (requestedAny || request.channels.includes('email')) {
        throw badRequest('emailAttachments: attachments need a Files Service, and FILE_SERVICE_URL is not set');
      }
      return;
    }
    try {
      await this.deps.files.downloadAll(request.emailAttachments);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(503, `emailAttachments: the Files Service cannot be reached: ${(error as Error).message}`);
    }
  }
}
