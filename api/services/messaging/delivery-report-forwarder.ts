import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import {
  CallbackEventsRepository,
  type CallbackPayload,
} from '../../../common/store/messaging/callback-events-repository';
import { deliveryStatusSignal, type DeliveryStatusSignal } from '../../../common/domain/conversation-model';
import {
  DeliveryReportsRepository,
  type DeliveryReport,
} from '../../../common/store/messaging/delivery-reports-repository';
import {
  MessageRequestsRepository,
  parseMessageAddressKey,
} from '../../../common/store/messaging/message-requests-repository';
import { postMessageCallbacks } from '../../../workflows';

/** Conversation ids (`conv-<uuid>`, docs/whatsapp.md): the ledger's request id of a conversation's messages. */
const CONVERSATION_ID_PREFIX = 'conv-';

/**
 * The providers' delivery reports once their webhook has checked them (docs/os1-messaging.md): each moves
 * the ledger entry the provider's message id names forward (sent → delivered → read, or failed), and owes the
 * request's callback one event per change, posted by a `postMessageCallbacks` workflow whose id names the change, so
 * a repeated report starts nothing. A report of a conversation's message goes to the conversation instead.
 */
export class DeliveryReportForwarder {
  private readonly reports: DeliveryReportsRepository;
  private readonly callbackEvents: CallbackEventsRepository;
  private readonly requests: MessageRequestsRepository;

  constructor(
    repositories: {
      deliveryReports: DeliveryReportsRepository;
      callbackEvents: CallbackEventsRepository;
      messageRequests: MessageRequestsRepository;
    },
    private readonly temporal: Client,
    private readonly options: { taskQueue: string; retryWindowMs: number },
  ) {
    this.reports = repositories.deliveryReports;
    this.callbackEvents = repositories.callbackEvents;
    this.requests = repositories.messageRequests;
  }

  async forward(report: DeliveryReport): Promise<void> {
    const moved = await this.reports.apply(report);
    if (!moved) return;
    if (moved.requestId.startsWith(CONVERSATION_ID_PREFIX)) return this.signalConversation(moved.requestId, report);
    const request = await this.requests.get(moved.requestId);
    if (!request?.callback) return;
    const [, channel, addressKey] = moved.deliveryKey.split('|');
    const { n, addressIndex } = parseMessageAddressKey(addressKey);
    const message = request.messages.find((candidate) => candidate.n === n && candidate.channel === channel);
    if (!message) return;
    const payload: CallbackPayload = {
      eventId: `${moved.deliveryKey}|${report.status}`,
      requestId: request._id,
      messageId: message.messageId,
      channel: message.channel,
      to: message.to[addressIndex],
      status: report.status,
      providerMessageId: report.providerMessageId,
      ...(report.code ? { code: report.code } : {}),
      ...(report.error ? { error: report.error } : {}),
      timestamp: new Date().toISOString(),
    };
    await this.callbackEvents.add([payload], [moved.deliveryKey]);
    try {
      await this.temporal.workflow.start(postMessageCallbacks, {
        workflowId: `callbacks-${payload.eventId}`,
        taskQueue: this.options.taskQueue,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [{ requestId: request._id, retryWindowMs: this.options.retryWindowMs }],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }

  /** The conversation posts the report to its status webhook. */
  private async signalConversation(conversationId: string, report: DeliveryReport): Promise<void> {
    const signal: DeliveryStatusSignal = {
      providerMessageId: report.providerMessageId,
      status: report.status,
      ...(report.code ? { code: report.code } : {}),
    };
    try {
      await this.temporal.workflow.getHandle(conversationId).signal(deliveryStatusSignal, signal);
    } catch (error) {
      // A conversation that has ended has no one left to tell; the ledger holds the status.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}
