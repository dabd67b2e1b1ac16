import { condition, defineSignal, setHandler } from '@temporalio/workflow';
import { answerUpdate, deliveryStatusSignal, type AnswerTaken } from '../../common/temporal/conversation-signals';

/** Tells the stand-in that its conversation has decided: answers from then on are `late`. */
export const decideSignal = defineSignal('decide');

/**
 * A stand-in of the `conversation` workflow for the inbound webhook's tests (test/api/inbound-whatsapp.test.ts): it
 * takes every answer (`answerUpdate` answers `queued`, or `late` once `decideSignal` came) and every delivery status,
 * and waits; what it was given stays in its history for the test to read.
 */
export async function conversation(): Promise<void> {
  let decided = false;
  setHandler(decideSignal, () => {
    decided = true;
  });
  setHandler(answerUpdate, (): AnswerTaken => ({ taken: decided ? 'late' : 'queued' }));
  setHandler(deliveryStatusSignal, () => undefined);
  await condition(() => false);
}
