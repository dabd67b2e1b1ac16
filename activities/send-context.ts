import type { AppConfig } from '../common/config/config';
import type { FilesServiceClient } from '../common/http/files-service-client';
import type { SendsRepository } from '../common/store/sends-repository';
import { CompiledContent } from '../common/rendering/message-content';
import { MessageRenderer, TemplateSyntaxError } from '../common/rendering/rendering';
import { renderPoolOptions, sharedRenderPool, type RenderPool } from '../common/rendering/render-pool';
import type { TemplateDocument, TemplatesRepository } from '../common/store/templates-repository';
import type { SendDocument } from '../common/domain/send-types';
import { SharedLoads } from '../common/toolkit/concurrency';
import { PermanentProviderError } from '../common/domain/http-errors';
import type { EmailAttachment } from '../providers/channel-interfaces';

/** Everything a dispatch needs about its send, loaded once per worker process and send. */
export interface SendContext {
  send: SendDocument;
  template: TemplateDocument | null;
  content: CompiledContent;
  /** Renders on the process's render threads, with the configured time budget and output cap (docs/api.md "Rendering"). */
  renderPool: RenderPool;
  /** Downloaded on first use by an email dispatch, then shared by every email of the send. */
  attachments(): Promise<EmailAttachment[]>;
}

const MAX_CACHED_SENDS = 64;

/**
 * A small cache of send contexts: templates compile once per send (docs/api.md "Rendering") and attachments download
 * once, instead of once per recipient. Bounded so that a long-lived worker does not grow with every send.
 */
export class SendContextCache {
  private readonly contexts = new SharedLoads<SendContext>(MAX_CACHED_SENDS);
  private readonly renderer: MessageRenderer;
  private readonly renderPool: RenderPool;

  constructor(
    private readonly deps: {
      config: AppConfig;
      sends: SendsRepository;
      templates: TemplatesRepository;
      files: FilesServiceClient;
    },
  ) {
    this.renderer = new MessageRenderer(deps.config.env.DEFAULT_LOCALE);
    this.renderPool = sharedRenderPool(renderPoolOptions(deps.config.env));
  }

  get(sendId: string): Promise<SendContext> {
    return this.contexts.get(sendId, () => this.load(sendId));
  }

  private async load(sendId: string): Promise<SendContext> {
    const send = await this.deps.sends.get(sendId);
    if (!send) throw new Error(`send ${sendId} has no document in the sends collection`);
    const template = send.request.templateId ? await this.deps.templates.findById(send.request.templateId) : null;
    if (send.request.templateId && !template) {
      throw new PermanentProviderError(
        `template ${send.request.templateId} was deleted after the send was accepted`,
        'TEMPLATE_NOT_FOUND',
      );
    }
    let content: CompiledContent;
    try {
      content = new CompiledContent(send.request, template, this.renderer);
    } catch (error) {
      // Accepted by an API that allowed what this worker refuses (a helper since dropped): no retry renders it.
      if (error instanceof TemplateSyntaxError) throw new PermanentProviderError(error.message, 'RENDER_ERROR');
      throw error;
    }
    let attachments: Promise<EmailAttachment[]> | undefined;
    return {
      send,
      template,
      content,
      renderPool: this.renderPool,
      attachments: () => {
        attachments ??= this.deps.files.downloadAll(send.request.emailAttachments);
        attachments.catch(() => (attachments = undefined));
        return attachments;
      },
    };
  }
}
