import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

/**
 * A stand-in of the `conversation` workflow for the inbound webhook's tests (test/api/inbound-whatsapp.test.ts): it
 * takes every answer (`takeAnswer` answers `queued`, or `late` once `decide` was signalled) and every delivery status,
 * and waits; what it was given stays in its history for the test to read.
 */
export async function conversation(): Promise<void> {
  let decided = false;
  setHandler(defineSignal('decide'), () => {
    decided = true;
  });
  setHandler(defineUpdate<{ taken: string }, [unknown]>('takeAnswer'), () => ({ taken: decided ? 'late' : 'queued' }));
  setHandler(defineSignal<[unknown]>('deliveryStatus'), () => undefined);
  await condition(() => false);
}
