import { Ledger, type DeliveryOutcome } from '../../common/store/ledger';
import { deliveryKey } from '../../common/domain/send-types';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * The ledger's statuses only move forward (docs/internals.md): `pending` → `sent`/`failed`/`skipped`, never back, on the
 * suite's store (FerretDB; MongoDB behaves the same), whatever order the outcomes of overlapping attempts arrive in.
 */
describe('Ledger: forward-only statuses', () => {
  let stack: TestStack;
  let ledger: Ledger;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
    ledger = new Ledger(stack.database);
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

  it('a claimed batch: its final outcomes move its pending entries, a transient one cannot undo a final', async () => {
    const sendId = newSend();
    await ledger.record(sendId, [outcome('u1', 'skipped', { attempted: false })]);
    await ledger.claimDeliveries(sendId, 'sms', ['u2']);
    await ledger.record(sendId, [outcome('u1', 'pending'), outcome('u2', 'sent')], new Set(['u1', 'u2']));
    await ledger.record(sendId, [outcome('u2', 'pending')], new Set(['u2']));
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(await entry(sendId, 'u2')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('a transient outcome keeps a pending entry pending and counts the attempt', async () => {
    const sendId = newSend();
    await ledger.claimDeliveries(sendId, 'sms', ['u1']);
    await ledger.record(sendId, [outcome('u1', 'pending', { code: 'HTTP_503' })], new Set(['u1']));
    await ledger.record(sendId, [outcome('u1', 'pending', { code: 'HTTP_503' })], new Set(['u1']));
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'pending', attempts: 2, code: 'HTTP_503' });
    await ledger.record(sendId, [outcome('u1', 'sent')], new Set(['u1']));
    expect(await entry(sendId, 'u1')).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('claimDeliveries inserts pending entries before any call and returns those another batch held', async () => {
    const sendId = newSend();
    await ledger.record(sendId, [outcome('held', 'sent')]);
    const existing = await ledger.claimDeliveries(sendId, 'sms', ['new1', 'held', 'new2']);
    expect([...existing.keys()]).toEqual(['held']);
    expect(existing.get('held')).toMatchObject({ status: 'sent' });
    expect(await entry(sendId, 'new1')).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await entry(sendId, 'held')).toMatchObject({ status: 'sent', attempts: 1 });
    // A second claim of the same deliveries (a replay) finds them all.
    expect([...(await ledger.claimDeliveries(sendId, 'sms', ['new1', 'new2'])).keys()].sort()).toEqual([
      'new1',
      'new2',
    ]);
  });
});
