import { DeliveriesRepository } from '../../common/store/deliveries-repository';
import { storeRunningSend } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * `GET /sends/:sendId` reads a send whose workflow is gone as closed, and writes nothing: only the periodic
 * reconciliation (and a retry) stores it so (docs/operating-sends.md "Replay a send (reset)"). No worker runs here, so
 * a started workflow stays open until the test terminates it.
 */
describe('reading a send writes nothing', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(() => stack.close());

  const read = async (sendId: string) => (await stack.app.inject({ method: 'GET', url: `/sends/${sendId}` })).json();
  const stored = (sendId: string) => stack.database.sends.findOne({ _id: sendId });

  it('reads a send whose workflow was terminated as failed, and leaves its document running until reconciled', async () => {
    const sent = await stack.app.inject({
      method: 'POST',
      url: '/send',
      headers: { prefer: 'respond-async' },
      payload: { channels: ['sms'], recipients: ['nobody'], messageTitle: 'T', messageContent: 'Never' },
    });
    expect(sent.statusCode).toBe(202);
    const { sendId } = sent.json();
    // (Not read while it runs: with no worker, the progress query would wait for one until it times out.)
    await stack.temporal.workflow.getHandle(sendId).terminate('operator gave up');
    const before = await stored(sendId);

    expect(await read(sendId)).toMatchObject({ status: 'failed', closedBy: 'TERMINATED', counts: {} });
    expect(await stored(sendId)).toEqual(before);
    const listed = (await stack.app.inject({ method: 'GET', url: '/sends?status=running&limit=500' })).json();
    expect(listed.map((send: { sendId: string }) => send.sendId)).toContain(sendId);

    await stack.app.sendReconciler.closeRunning();
    expect(await stored(sendId)).toMatchObject({ status: 'failed', closedBy: 'TERMINATED', counts: {} });
    expect(await read(sendId)).toMatchObject({ status: 'failed', closedBy: 'TERMINATED' });
  });

  it('reads a stored send whose workflow never started as NOT_STARTED after the grace period, and writes nothing', async () => {
    const orphan = await storeRunningSend(stack, new Date(Date.now() - 2 * 60_000));
    const starting = await storeRunningSend(stack, new Date());

    expect(await read(orphan._id)).toMatchObject({ status: 'failed', closedBy: 'NOT_STARTED' });
    expect(await read(starting._id)).toMatchObject({ status: 'running', closedBy: null });
    expect(await stored(orphan._id)).toEqual(orphan);
    expect(await stored(starting._id)).toEqual(starting);

    await stack.app.sendReconciler.closeRunning();
    expect(await stored(orphan._id)).toMatchObject({ status: 'failed', closedBy: 'NOT_STARTED' });
    expect(await stored(starting._id)).toEqual(starting);
  });

  it('reconciles every running send, past the first thousand', async () => {
    // 1,005 sends still starting (within the grace period) and one whose workflow never started, older than them all.
    const starting = Array.from({ length: 1005 }, (_, index) => ({
      _id: `send-00000000-0000-0000-0001-${String(index).padStart(12, '0')}`,
      workflowId: `send-00000000-0000-0000-0001-${String(index).padStart(12, '0')}`,
      kind: 'send' as const,
      status: 'running' as const,
      createdAt: new Date(),
      updatedAt: new Date(),
      request: { channels: ['sms' as const], recipients: [], clusters: [], data: {} },
    }));
    await stack.database.sends.insertMany(starting as never[]);
    const orphan = await storeRunningSend(stack, new Date(Date.now() - 5 * 60_000));

    await stack.app.sendReconciler.closeRunning();

    expect(await stored(orphan._id)).toMatchObject({ status: 'failed', closedBy: 'NOT_STARTED' });
    expect(
      await stack.database.sends.countDocuments({ _id: { $in: starting.map((send) => send._id) }, status: 'running' }),
    ).toBe(1005);
  }, 120_000);

  /** A send that ended with `failed` deliveries of these users on sms (none started by a workflow here). */
  async function failedSend(users: string[]) {
    const send = await storeRunningSend(stack, new Date());
    await stack.database.sends.updateOne({ _id: send._id }, { $set: { status: 'failed', completedAt: new Date() } });
    await stack.database.deliveries.insertMany(
      users.map((userId) => ({
        _id: `${send._id}|sms|${userId}`,
        sendId: send._id,
        userId,
        channel: 'sms' as const,
        status: 'failed' as const,
        attempts: 1,
        permanent: false,
        error: 'provider down',
        createdAt: new Date(),
        updatedAt: new Date(),
      })),
    );
    return send;
  }

  it('refuses a second retry while a round runs, naming that round', async () => {
    const send = await failedSend(['u1', 'u2']);
    const first = await stack.app.inject({ method: 'POST', url: `/sends/${send._id}/retry` });
    expect(first.statusCode).toBe(202);

    const second = await stack.app.inject({ method: 'POST', url: `/sends/${send._id}/retry` });

    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(second.json().message).toBe(`sendId: retry ${send._id}-retry-1 of send ${send._id} is still running`);
    expect((await stored(send._id))?.retries).toEqual([`${send._id}-retry-1`]);
    await stack.temporal.workflow.getHandle(`${send._id}-retry-1`).terminate('test done');
  });

  it('lets one retry round alone claim each failed delivery, even when rounds claim at once', async () => {
    const users = Array.from({ length: 300 }, (_, index) => `user-${String(index).padStart(3, '0')}`);
    const send = await failedSend(users);
    const ledger = new DeliveriesRepository(stack.database);

    const rounds = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((round) => ledger.claimFailedForRound(send._id, round, null, 1000)),
    );

    const claimed = rounds.flatMap((round) => round.byChannel.sms ?? []);
    expect(claimed.sort()).toEqual(users);
    // An activity retry of a round finds the same claims, and takes none of another round's.
    const again = await ledger.claimFailedForRound(send._id, 1, null, 1000);
    expect(again.byChannel.sms ?? []).toEqual(rounds[0].byChannel.sms ?? []);
  });
});
