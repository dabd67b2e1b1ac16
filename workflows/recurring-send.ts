import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SendActivities } from '../activities';
import type { DeliverMessagesInput } from './deliver-messages';
import type { SendMessageInput } from './send-message';
import { STORE_RETRY } from './send-activities';

const { recordRecurringSend, recordRecurringMessages } = proxyActivities<SendActivities>({
  startToCloseTimeout: '1 minute',
  // Retried until the store answers; a schedule deleted before its firing ran fails the firing at once.
  retry: STORE_RETRY,
});

/**
 * The input of a send as it runs. A firing of a recurring send (`firingOf`) starts with the input its schedule holds,
 * the same for every firing: it records its own send document first (the API records none, it starts nothing), under
 * its workflow id, which Temporal made of the schedule's and the firing time. A send the API started, or a firing's
 * later run (`continueAsNew` carries the resolved input), runs its input as it is: no command is added, so the
 * histories recorded before firings existed replay unchanged.
 */
export async function sendInputOf(input: SendMessageInput): Promise<SendMessageInput> {
  if (input.firingOf === undefined || input.progress) return input;
  const { workflowId } = workflowInfo();
  await recordRecurringSend({ scheduleId: input.firingOf, sendId: workflowId });
  const send: SendMessageInput = { ...input, sendId: workflowId };
  delete send.firingOf;
  return send;
}

/**
 * The input of a `/messages` request as it runs. A firing of a schedule of requests (`firingOf`) records its own
 * request first, under its workflow id, and runs as that request; any other request runs its input as it is, no
 * command added, so histories recorded before such firings existed replay unchanged.
 */
export async function messagesInputOf(input: DeliverMessagesInput): Promise<DeliverMessagesInput> {
  if (input.firingOf === undefined) return input;
  const { workflowId } = workflowInfo();
  await recordRecurringMessages({ scheduleId: input.firingOf, requestId: workflowId });
  const request: DeliverMessagesInput = { ...input, requestId: workflowId };
  delete request.firingOf;
  return request;
}
