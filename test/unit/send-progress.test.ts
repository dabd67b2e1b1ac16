import {
  countDispatch,
  countMissingRecipients,
  initialProgress,
  type SendProgress,
} from '../../workflows/send-progress';

/** The counts a send keeps as it goes (docs/internals.md): what `finishSend` reports without totalling the ledger. */
describe('the counts a send keeps', () => {
  const fresh = (): SendProgress => initialProgress(undefined);
  const batch = { sendId: 'send-1', userIds: ['u1', 'u2', 'u3'], page: 4 };

  it("starts a first run's counts empty, and a retry's without counts", () => {
    expect(initialProgress(undefined)).toMatchObject({ counts: {}, batchesToRead: [], pagesDone: 0 });
    expect(initialProgress(1).counts).toBeUndefined();
  });

  it("adds a first run's results by channel", () => {
    const progress = fresh();
    countDispatch(progress, 'sms', batch, { sent: 2, failed: 0, skipped: 1, alreadyDone: 0 });
    countDispatch(progress, 'sms', batch, { sent: 3, failed: 0, skipped: 0, alreadyDone: 0 });
    countDispatch(progress, 'email', batch, { sent: 1, failed: 0, skipped: 0, alreadyDone: 0 });
    expect(progress.counts).toEqual({ sms: { sent: 5, skipped: 1 }, email: { sent: 1 } });
    expect(progress.batchesToRead).toEqual([]);
  });

  it('reads the final counts of a batch with failures, earlier attempts or a failed activity from batch_counts', () => {
    const progress = fresh();
    countDispatch(progress, 'sms', batch, { sent: 2, failed: 1, skipped: 0, alreadyDone: 0 });
    countDispatch(progress, 'push', batch, { sent: 1, failed: 0, skipped: 0, alreadyDone: 2 });
    countDispatch(progress, 'email', batch, 'failed');
    expect(progress.counts).toEqual({});
    expect(progress.batchesToRead).toEqual(['send-1|sms|4|u1', 'send-1|push|4|u1', 'send-1|email|4|u1']);
  });

  it('gives the counts up for a failed batch that names no page, and then for every later batch', () => {
    const progress = fresh();
    countDispatch(progress, 'sms', { sendId: 'send-1', userIds: ['u1'] }, 'failed');
    expect(progress.counts).toBeNull();
    countDispatch(progress, 'sms', batch, { sent: 3, failed: 0, skipped: 0, alreadyDone: 0 });
    expect(progress.counts).toBeNull();
  });

  it('gives the counts up past 2000 batches to read', () => {
    const progress = fresh();
    progress.batchesToRead = Array.from({ length: 2000 }, (_, index) => `key${index}`);
    countDispatch(progress, 'sms', batch, 'failed');
    expect(progress.counts).toBeNull();
  });

  it('counts each unknown recipient as failed on every channel, their failures read from the missing key', () => {
    const progress = fresh();
    countMissingRecipients(progress, 'send-1', ['sms', 'email'], 3);
    expect(progress.missingRecipients).toBe(3);
    expect(progress.counts).toEqual({ sms: { failed: 3 }, email: { failed: 3 } });
    expect(progress.batchesToRead).toEqual(['send-1|missing']);

    const none = fresh();
    countMissingRecipients(none, 'send-1', ['sms'], 0);
    expect(none.counts).toEqual({});
    expect(none.batchesToRead).toEqual([]);
  });
});
