import { DeliveriesRepository, type DeliveryOutcome } from '../../common/store/deliveries-repository';
import { deliveryKey, firstRunClaimKey } from '../../common/domain/send-types';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * The ledger's statuses only move forward (docs/internals.md): `pending` → `sent`/`failed`/`skipped`, never back, on
 * the suite's store (FerretDB; MongoDB behaves the same), whatever order the outcomes of overlapping attempts arrive
 * in; only a retry round reopens a failure. A first run's claims of its deliveries are kept beside the ledger.
 */
describe('the ledger: forward-only statuses', () => {
  let stack: TestStack;
  let ledger: DeliveriesRepository;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    ledger = new DeliveriesRepository(stack.database);
  }, 60_000);
  afterAll(() => stack.close());

  let sendNumber = 0;
  const newSend = () => `send-ledger-${++sendNumber}`;
  const outcome = (userId: string, status: DeliveryOutcome['status'], extra: Partial<DeliveryOutcome> = {}) =>
    ({ userId, channel: 'sms', status, attempted: true, ...extra }) as DeliveryOutcome;
  const entry = (sendId: string, userId: string) =>
    stack.database.deliveries.findOne({ _id: deliveryKey(sendId, 'sms', userId) });

  it('a late transient outcome does not move sent back to pending, nor a late failure sent to failed', async () => {
    const sendId = newSend();
    await ledger.record(sendId, [outcome('u1', 'sent', { providerMessageId: 'SM1' })]);
    // The attempt Temporal gave up on reports later: a transient failure, then a final one.
    await ledger.record(sendId, [outcome('u1', 'pending', { code: 'TIMEOUT', error: 'late' })]);
    await ledger.record(sendId, [outcome('u1', 'failed', { code: 'X', error: 'late', permanent: true })]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'sent', attempts: 1, providerMessageId: 'SM1' });
  });

  it('a skipped entry stays skipped, and a transient outcome cannot undo a final one', async () => {
    const sendId = newSend();
    await ledger.record(sendId, [outcome('u1', 'skipped', { attempted: false }), outcome('u2', 'sent')]);
    await ledger.record(sendId, [outcome('u1', 'pending'), outcome('u2', 'pending')]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(await entry(sendId, 'u2')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('a transient outcome keeps a pending entry pending and counts the attempt', async () => {
    const sendId = newSend();
    await ledger.record(sendId, [outcome('u1', 'pending', { code: 'HTTP_503' })]);
    await ledger.record(sendId, [outcome('u1', 'pending', { code: 'HTTP_503' })]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'pending', attempts: 2, code: 'HTTP_503' });
    await ledger.record(sendId, [outcome('u1', 'sent')]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it("a retry round's sent after the first run's failure: the round reopens the entry, its outcome moves it", async () => {
    const sendId = newSend();
    await ledger.record(sendId, [outcome('u1', 'failed', { code: 'HTTP_500', error: 'down' })]);
    // A late outcome of the first run changes nothing; the round's claim reopens the entry for the round alone.
    await ledger.record(sendId, [outcome('u1', 'sent')]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await ledger.claimFailedForRound(sendId, 1, null, 10)).byChannel).toEqual({ sms: ['u1'] });
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'pending', attempts: 0, retryRound: 1 });
    await ledger.record(sendId, [outcome('u1', 'sent', { providerMessageId: 'SM2' })]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'sent', attempts: 1, providerMessageId: 'SM2' });
    // A second round finds nothing failed to take.
    expect((await ledger.claimFailedForRound(sendId, 2, null, 10)).byChannel).toEqual({});
  });

  it('claimDeliveries claims in dispatch_claims, writes no ledger entry, and answers those another owner holds', async () => {
    const sendId = newSend();
    expect(await ledger.claimDeliveries(sendId, 'sms', 'batch-a', ['a1', 'shared'])).toEqual(new Set());
    expect(await stack.database.deliveries.countDocuments({ sendId })).toBe(0);
    expect(
      await stack.database.dispatchClaims.findOne({ _id: firstRunClaimKey(sendId, 'sms', 'shared') }),
    ).toMatchObject({ sendId, channel: 'sms', owner: 'batch-a' });
    // Another batch holding one of them: that one is batch A's.
    expect(await ledger.claimDeliveries(sendId, 'sms', 'batch-b', ['shared', 'b1'])).toEqual(new Set(['shared']));
    // Batch A again (an attempt after a crash): all its own, the one claimed before included.
    expect(await ledger.claimDeliveries(sendId, 'sms', 'batch-a', ['a1', 'shared', 'a2'])).toEqual(new Set());
    // Read first when claimed before: the same answers, and a claim still missing is inserted.
    expect(await ledger.claimDeliveries(sendId, 'sms', 'batch-a', ['a1', 'shared', 'a3'], true)).toEqual(new Set());
    expect(await ledger.claimDeliveries(sendId, 'sms', 'batch-b', ['shared', 'b1', 'a3'], true)).toEqual(
      new Set(['shared', 'a3']),
    );
    // Per channel: the same user on another channel is free.
    expect(await ledger.claimDeliveries(sendId, 'email', 'batch-b', ['shared'])).toEqual(new Set());
  });
  it("releases a minute's deferred deliveries once, in pages, the same page again for an activity retry", async () => {
    const sendId = newSend();
    const minute = new Date('2026-03-01T07:00:00.000Z');
    const later = new Date('2026-03-01T08:00:00.000Z');
    const deferred = (userId: string, releaseAt: Date) =>
      outcome(userId, 'deferred', { attempted: false, code: 'QUIET_HOURS', releaseAt });
    await ledger.record(sendId, [deferred('u1', minute), deferred('u2', minute), deferred('u3', later)]);
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'deferred', releaseAt: minute });

    const first = await ledger.releaseDeferred(sendId, minute, null, 1);
    expect(first).toEqual({ byChannel: { sms: ['u1'] }, next: deliveryKey(sendId, 'sms', 'u1') });
    // An activity retry of the same page finds its own claims.
    expect(await ledger.releaseDeferred(sendId, minute, null, 1)).toEqual(first);
    expect(await ledger.releaseDeferred(sendId, minute, first.next, 1)).toMatchObject({ byChannel: { sms: ['u2'] } });
    expect(await entry(sendId, 'u2')).toMatchObject({ status: 'pending', releasedAt: minute });
    // The later minute's delivery waits for its own release.
    expect(await entry(sendId, 'u3')).toMatchObject({ status: 'deferred' });
  });

  it('a cancel takes the deferred deliveries no release has claimed: each goes to one of them only', async () => {
    const sendId = newSend();
    const minute = new Date('2026-03-01T07:00:00.000Z');
    const later = new Date('2026-03-01T08:00:00.000Z');
    const deferred = (userId: string, releaseAt: Date) =>
      outcome(userId, 'deferred', { attempted: false, code: 'QUIET_HOURS', releaseAt });
    await ledger.record(sendId, [deferred('u1', minute), deferred('u2', later), deferred('u3', later)]);
    await ledger.releaseDeferred(sendId, minute, null, 10);
    // A release of the later minute claimed u2 and stopped before its write; the cancel then runs.
    await stack.database.dispatchClaims.insertOne({
      _id: `${deliveryKey(sendId, 'sms', 'u2')}|deferred`,
      sendId,
      channel: 'sms',
      size: 1,
      deferredTo: 'release',
      createdAt: new Date(),
    });
    expect(await ledger.cancelDeferred(sendId, null, 10)).toEqual({ cancelled: 1, next: null });
    // The release's next attempt takes u2, and only u2.
    expect((await ledger.releaseDeferred(sendId, later, null, 10)).byChannel).toEqual({ sms: ['u2'] });
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'pending' });
    expect(await entry(sendId, 'u2')).toMatchObject({ status: 'pending', releasedAt: later });
    expect(await entry(sendId, 'u3')).toMatchObject({ status: 'cancelled', code: 'CANCELLED' });
    // Again: nothing left.
    expect(await ledger.cancelDeferred(sendId, null, 10)).toEqual({ cancelled: 0, next: null });
  });
});
