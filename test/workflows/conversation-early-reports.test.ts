import { randomUUID } from 'node:crypto';
import type { ConversationWebhookPayload, ConversationWebhookTarget } from '../../common/temporal/conversation-signals';
import type { ConversationInput } from '../../workflows/conversation';
import { startWorkerWithStandIns, type StandInWorker } from '../support/activity-stack';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * A delivery report of a conversation's message that came before the message's provider id was stored is applied when
 * the id is (common/store/messaging/delivery-reports-repository.ts), and the `sendConversationMessage` activity answers
 * it: the conversation forwards it to `webhook.status` as it does the reports signalled to it. The real `conversation`
 * workflow on the real Temporal server, its activities stood in for.
 */
describe('a conversation whose delivery report came before its provider id was stored', () => {
  let stack: TestStack;
  let worker: StandInWorker;
  const calls: { target: ConversationWebhookTarget; payload: ConversationWebhookPayload }[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    worker = await startWorkerWithStandIns(stack, () => ({
      async sendConversationMessage() {
        return {
          status: 'sent' as const,
          providerMessageId: 'early-1',
          earlyReports: [{ providerMessageId: 'early-1', status: 'delivered' as const }],
        };
      },
      async setConversationStatus() {},
      async closeConversation() {},
      async callConversationWebhook(input: { target: ConversationWebhookTarget; payload: ConversationWebhookPayload }) {
        calls.push({ target: input.target, payload: input.payload });
        return { posted: true };
      },
    }));
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.close();
  });

  it('forwards the report the activity answered to webhook.status', async () => {
    const input: ConversationInput = {
      conversationId: `conv-${randomUUID()}`,
      responseTimeoutSeconds: 1,
      retry: { initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 1000, maximumAttempts: 3 },
      webhookRetryWindowMs: 60_000,
    };
    const result = await stack.temporal.workflow.execute('conversation', {
      workflowId: input.conversationId,
      taskQueue: stack.config.env.TEMPORAL_TASK_QUEUE,
      args: [input],
    });
    expect(result).toEqual({ status: 'timed_out' });
    expect(calls).toEqual(
      expect.arrayContaining([
        {
          target: 'status',
          payload: {
            event: 'delivery',
            status: 'awaiting_response',
            delivery: { providerMessageId: 'early-1', status: 'delivered' },
          },
        },
      ]),
    );
  });
});
