import { ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { SendsRepository } from '../../common/store/sends-repository';
import type { SendDocument, SendRequest } from '../../common/domain/send-types';
import type { TestStack } from './test-stack';

export interface SimMessage {
  channel: string;
  provider: string;
  to: string;
  from?: string;
  subject?: string;
  text?: string;
  html?: string;
  body?: string;
  title?: string;
  subtitle?: string;
  cc?: string[];
  bcc?: string[];
  attachments?: { filename: string; size: number }[];
  listHeaders?: Record<string, string>;
  raw?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

export async function simMessages(stack: TestStack, query = ''): Promise<SimMessage[]> {
  const { messages } = await stack.sim<{ messages: SimMessage[] }>(
    'GET',
    `/messages?limit=100000${query ? `&${query}` : ''}`,
  );
  return messages;
}

/** Inserts users with the default field names and returns their ids as strings. */
export async function insertUsers(stack: TestStack, users: Record<string, unknown>[]): Promise<string[]> {
  const docs = users.map((user) => ({ _id: new ObjectId(), ...user }));
  await stack.database.users.insertMany(docs);
  return docs.map((doc) => (doc._id instanceof ObjectId ? doc._id.toHexString() : String(doc._id)));
}

export const person = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  emailAddress: `${name.toLowerCase()}@example.com`,
  phoneNumber: `+3933300${Math.floor(Math.random() * 1e5)
    .toString()
    .padStart(5, '0')}`,
  deviceToken: `token-${name.toLowerCase()}`,
  clusters: ['all'],
  ...extra,
});

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Stores a send document the way the API stores one before it starts the workflow (an sms to nobody, `running`),
 * and starts nothing: what a crash between the two leaves behind.
 */
export async function storeRunningSend(stack: TestStack, createdAt: Date): Promise<SendDocument> {
  const sendId = `send-${randomUUID()}`;
  const send: SendDocument = {
    _id: sendId,
    workflowId: sendId,
    kind: 'send',
    status: 'running',
    createdAt,
    updatedAt: createdAt,
    request: {
      channels: ['sms'],
      recipients: ['nobody'],
      clusters: [],
      messageTitle: 'T',
      messageContent: 'C',
      data: {},
      emailAttachments: [],
      emailCarbonCopies: [],
      emailBlindCarbonCopies: [],
    },
  };
  await stack.database.sends.insertOne(send);
  return send;
}

/**
 * Stores `running` sends the way the API stores one before it starts the workflow, and starts nothing: the sends an
 * activity test hands the activities itself. Each request is taken over the file's `defaults` (an sms to nobody
 * otherwise); ids count up in the file's own `series`: `send-00000000-0000-0000-<series>-000000000001`, …. The stack
 * is read at each call, as a test starts its own in `beforeAll`.
 */
export function sendCreator(
  stack: () => TestStack,
  series: string,
  defaults: Partial<SendRequest>,
): (request: Partial<SendRequest>) => Promise<string> {
  let sequence = 0;
  return async (request) => {
    const sendId = `send-00000000-0000-0000-${series}-${String(++sequence).padStart(12, '0')}`;
    const now = new Date();
    await new SendsRepository(stack().database).create({
      _id: sendId,
      workflowId: sendId,
      kind: 'send',
      status: 'running',
      createdAt: now,
      updatedAt: now,
      request: {
        channels: ['sms'],
        recipients: [],
        clusters: [],
        data: {},
        emailAttachments: [],
        emailCarbonCopies: [],
        emailBlindCarbonCopies: [],
        ...defaults,
        ...request,
      },
    });
    return sendId;
  };
}

/**
 * Resets a workflow to its first completed workflow task (what "replay from the start" does in the UI and the CLI);
 * resolves with the new run's id.
 */
export async function resetToFirstWorkflowTask(stack: TestStack, workflowId: string, reason: string): Promise<string> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const firstTask = history.events!.find((event) => event.workflowTaskCompletedEventAttributes)!;
  const { runId } = await stack.temporal.workflowService.resetWorkflowExecution({
    namespace: stack.config.env.TEMPORAL_NAMESPACE,
    workflowExecution: { workflowId },
    workflowTaskFinishEventId: firstTask.eventId,
    requestId: randomUUID(),
    reason,
  });
  return runId!;
}

/** `POST /saga/send` of a Flow Manager command: the saga id and its metadata (`value.messagePayload`). */
export function postSagaCommand(
  stack: TestStack,
  sagaId: string,
  messagePayload: Record<string, unknown>,
  messageLabel = 'sendNotification',
) {
  return stack.app.inject({
    method: 'POST',
    url: '/saga/send',
    payload: { key: sagaId, value: { messageLabel, messagePayload } },
  });
}
