import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { regexProblem } from '../../../common/domain/conversation-answers';
import {
  conversationLockKey,
  customerHash,
  digitsOf,
  type ConversationDocument,
  type ConversationEventDocument,
  type ConversationRequest,
  type ConversationStatus,
  type ConversationWebhook,
} from '../../../common/domain/conversation-model';
import type { AppConfig } from '../../../common/config/config';
import { CredentialsCipher, NO_CREDENTIALS_KEY, sealSecret } from '../../../common/crypto/credentials-cipher';
import { badRequest, conflict, HttpError, notFound } from '../../../common/domain/http-errors';
import type {
  ConversationsRepository,
  ConversationLockDocument,
} from '../../../common/store/messaging/conversations-repository';
import type { NotificationsRepository } from '../../../common/store/notifications-repository';
import type { ProvidersRepository } from '../../../common/store/providers-repository';
import { SEARCH_ATTRIBUTES } from '../../../common/temporal/search-attributes';
import type { TemplatesRepository } from '../../../common/store/templates-repository';
import { conversation } from '../../../workflows';
import type { ConversationInput } from '../../../workflows/conversation';
import type { ConversationBody } from '../../schemas/conversations-schemas';
import { assertStorableSize } from '../../schemas/storable-schemas';
import { assertAppOwns, refuseDirectSendOfApp, refuseUnlessEnabled } from './app-notifications';
import { approvedVersionOf } from './notification-approval';
import { WhatsappMediaCheck } from './whatsapp-media';
import { normalizePhone } from './message-requests-service';
import { ProviderChoice } from './provider-choice';

export interface ConversationDeps {
  config: AppConfig;
  conversations: ConversationsRepository;
  templates: TemplatesRepository;
  notifications: NotificationsRepository;
  providers: ProvidersRepository;
  temporal: Client;
}

/** A lock whose conversation has no workflow yet may be a request still starting it: this long, then it is stale. */
const LOCK_START_GRACE_MS = 60_000;

/** The conversation's webhooks by target name (`accepted:0`, `defaultInbound`, …), secrets left out. */
export function webhookTargets(request: ConversationRequest): { target: string; url: string }[] {
  return [
    ...request.acceptedResponses.map(({ webhook }, index) => ({ target: `accepted:${index}`, url: webhook.url })),
    ...(['defaultInbound', 'status', 'invalidResponse'] as const).flatMap((target) => {
      const webhook = request.webhook[target];
      return webhook ? [{ target, url: webhook.url }] : [];
    }),
  ];
}

/**
 * `POST /conversations` and its reads (docs/whatsapp.md): checks a request whole (numbers, provider,
 * template, media, regex: a 4xx naming the field and nothing started), takes the one open conversation of (business
 * number, customer) by inserting its lock (a duplicate is a 409 naming the open one), stores the conversation and
 * starts its `conversation` workflow, whose id is the conversation id. A start that fails frees the lock.
 */
export class Conversations {
  private readonly conversations: ConversationsRepository;
  private readonly media: WhatsappMediaCheck;
  private readonly cipher: CredentialsCipher;

  constructor(private readonly deps: ConversationDeps) {
    this.conversations = deps.conversations;
    this.cipher = new CredentialsCipher(deps.config.env.PROVIDER_CREDENTIALS_KEYS);
    this.media = new WhatsappMediaCheck(deps.config.env);
  }

  /** The indexes of the list and of the transcript, created once per process (idempotent). */
  ensureIndexes(): Promise<unknown> {
    return this.conversations.ensureIndexes();
  }

  /** `app`: the application the request speaks for (`requestApp`), whose notifications, once it has one, it must use. */
  async accept(
    body: ConversationBody,
    app: string | null = null,
  ): Promise<{ conversationId: string; status: 'sending'; statusUrl: string }> {
    const hashSecret = this.deps.config.env.CUSTOMER_HASH_SECRET;
    if (hashSecret === undefined)
      throw new HttpError(
        503,
        'CUSTOMER_HASH_SECRET is not set: a conversation names its customer in Temporal by a keyed hash only (docs/configuration.md)',
      );
    const request = await this.check(body, app);
    const conversationId = `conv-${randomUUID()}`;
    const now = new Date();
    const document: ConversationDocument = {
      _id: conversationId,
      request,
      status: 'sending',
      customerHash: customerHash(hashSecret, request.to),
      createdAt: now,
      updatedAt: now,
    };
    assertStorableSize(document);
    await this.lock(conversationLockKey(request.from, request.to), conversationId, request.provider);
    try {
      await this.conversations.insert(document);
      const input: ConversationInput = {
        conversationId,
        responseTimeoutSeconds: request.responseTimeout,
        retry: this.deps.config.service.dispatchRetry,
        webhookRetryWindowMs: this.deps.config.service.callbacks.retryWindowMinutes * 60_000,
      };
      await this.deps.temporal.workflow.start(conversation, {
        workflowId: conversationId,
        taskQueue: this.deps.config.env.TEMPORAL_TASK_QUEUE,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.conversationStatus, value: 'sending' },
          { key: SEARCH_ATTRIBUTES.customerHash, value: document.customerHash },
        ],
        // Names only: never the numbers, the texts or the webhooks (docs/operations.md "Encryption of workflow data").
        memo: { kind: 'conversation', provider: request.provider, template: request.message.template },
        args: [input],
      });
    } catch (error) {
      await this.conversations.releaseLock(conversationLockKey(request.from, request.to), conversationId);
      await this.conversations.markFailed(conversationId).catch(() => undefined);
      throw error;
    }
    return { conversationId, status: 'sending', statusUrl: `/conversations/${encodeURIComponent(conversationId)}` };
  }

  /** The request as stored: numbers normalized, every reference checked; a 4xx naming the first bad field. */
  /** A webhook as stored: its secret encrypted under `PROVIDER_CREDENTIALS_KEYS` (a 503 naming it without a key). */
  private seal(webhook: ConversationWebhook): ConversationWebhook {
    if (!this.cipher.canEncrypt)
      throw new HttpError(503, `webhook: ${NO_CREDENTIALS_KEY}; webhook secrets are stored only encrypted`);
    return { url: webhook.url, secret: sealSecret(this.cipher, webhook.secret) };
  }

  private async check(body: ConversationBody, app: string | null): Promise<ConversationRequest> {
    const to = normalizePhone(body.to, 'to');
    const from = digitsOf(body.from);
    if (from.length < 3 || from.length > 15) throw badRequest(`from: ${body.from} is not a phone number`);
    if (body.acceptedResponses.length === 0 && body.dynamicResponseRegex === undefined) {
      throw badRequest('acceptedResponses: give at least one accepted response, or a dynamicResponseRegex');
    }
    if (body.dynamicResponseRegex !== undefined) {
      const problem = regexProblem(body.dynamicResponseRegex);
      if (problem) throw badRequest(`dynamicResponseRegex: ${problem}`);
    }
    await new ProviderChoice(this.deps).choose(body.provider, 'whatsapp', 'provider');
    const { name, templateVersion } = await this.templateName(body, app);
    const template = await this.deps.templates.findModeTemplate(name);
    if (!template) throw notFound(`message.template: no template is named "${name}"`);
    if (template.mode !== 'whatsapp')
      throw badRequest(`message.template: template "${name}" is a ${template.mode} template, not whatsapp`);
    if (!template.isActive) throw conflict(`message.template: template "${name}" is inactive`);
    const { media } = body.message;
    await this.media.check(media, 'message.media');
    return {
      from,
      to,
      provider: body.provider,
      message: {
        template: name,
        ...(templateVersion !== undefined ? { templateVersion } : {}),
        data: body.message.data ?? {},
        ...(media ? { media } : {}),
        ...(body.message.buttons ? { buttons: body.message.buttons } : {}),
      },
      acceptedResponses: body.acceptedResponses.map((accepted) => ({
        ...accepted,
        webhook: this.seal(accepted.webhook),
      })),
      ...(body.dynamicResponseRegex !== undefined ? { dynamicResponseRegex: body.dynamicResponseRegex } : {}),
      webhook: Object.fromEntries(
        Object.entries(body.webhook).flatMap(([target, webhook]) => (webhook ? [[target, this.seal(webhook)]] : [])),
      ),
      responseTimeout: body.responseTimeout,
      context: body.context ?? {},
      ...(body.errorMessage !== undefined ? { errorMessage: body.errorMessage } : {}),
    };
  }

  /**
   * The whatsapp template the conversation sends: `message.template`, or the one of the enabled notification named by
   * `notification` (exactly one of the two). An application that registered a notification names a notification of
   * its own, and sends the version of the template the notification's enable approved.
   */
  private async templateName(
    body: ConversationBody,
    app: string | null,
  ): Promise<{ name: string; templateVersion?: number }> {
    if (body.notification === undefined) {
      if (body.message.template === undefined)
        throw badRequest('message.template: name a whatsapp template, or a notification (`notification`)');
      await refuseDirectSendOfApp(this.deps.notifications, app, 'message.template', '"notification" (its name)');
      return { name: body.message.template };
    }
    if (body.message.template !== undefined)
      throw badRequest('notification: name a notification or a message.template, not both');
    const notification = await this.deps.notifications.findByName(body.notification);
    if (!notification) throw notFound(`notification: no notification is named "${body.notification}"`);
    assertAppOwns(app, notification.appId, 'notification');
    refuseUnlessEnabled(notification, 'notification');
    const whatsapp = notification.templates.whatsapp;
    if (whatsapp === undefined) throw conflict(`notification: "${body.notification}" has no whatsapp template`);
    return { name: whatsapp, templateVersion: approvedVersionOf(notification, 'whatsapp') };
  }

  /**
   * Takes the one open conversation of (business number, customer), or answers 409 naming the open one. A lock left
   * by a conversation whose workflow is no longer running (terminated by an operator, or an API that died between
   * the lock and the start) is taken over.
   */
  private async lock(key: string, conversationId: string, provider: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (await this.conversations.takeLock({ _id: key, conversationId, provider, createdAt: new Date() })) return;
      const held = await this.conversations.findLock(key);
      if (!held) continue;
      if (attempt > 0 || (await this.isOpen(held))) {
        throw conflict(`to: a conversation with this customer on this business number is open: ${held.conversationId}`);
      }
      await this.conversations.releaseLock(key, held.conversationId);
    }
  }

  private async isOpen(lock: ConversationLockDocument): Promise<boolean> {
    try {
      const description = await this.deps.temporal.workflow.getHandle(lock.conversationId).describe();
      return description.status.name === 'RUNNING';
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      return Date.now() - lock.createdAt.getTime() < LOCK_START_GRACE_MS;
    }
  }

  async get(conversationId: string) {
    const document = await this.conversations.find(conversationId);
    if (!document) return null;
    const transcript = await this.conversations.transcript(conversationId);
    return { document, transcript };
  }

  async list(query: { status?: ConversationStatus; to?: string; from?: string; limit: number; skip: number }) {
    return this.conversations.list({
      ...query,
      to: query.to ? `+${digitsOf(query.to)}` : undefined,
      from: query.from ? digitsOf(query.from) : undefined,
    });
  }

  close(): Promise<void> {
    return this.media.close();
  }
}

/** What `GET /conversations` shows of one. */
export function summarize(document: ConversationDocument) {
  const { request } = document;
  return {
    conversationId: document._id,
    status: document.status,
    provider: request.provider,
    from: request.from,
    to: request.to,
    template: request.message.template,
    responseTimeout: request.responseTimeout,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
    closedAt: document.closedAt ?? null,
  };
}

/** `GET /conversations/:id`: the conversation, where its events go (no secrets), its transcript. */
export function describeConversation(
  document: ConversationDocument,
  transcript: ConversationEventDocument[],
  temporalUiUrl: string,
) {
  return {
    ...summarize(document),
    workflowId: document._id,
    temporalUiUrl,
    context: document.request.context,
    webhooks: webhookTargets(document.request),
    transcript: transcript.map(({ kind, at, detail }) => ({ ...detail, kind, at })),
  };
}
