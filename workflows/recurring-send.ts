import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SendActivities } from '../activities';
import type { SendMessageInput } from './send-message';
import { STORE_RETRY } from './send-activities';

const { recordRecurringSend } = proxyActivities<SendActivities>({
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
