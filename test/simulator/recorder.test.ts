import { FaultInjector } from '../../simulator/faults';
import { NewRecord, Recorder } from '../../simulator/recorder';

function sms(to: string): NewRecord {
  return { id: `id-${to}`, channel: 'sms', provider: 'twilio', to, body: 'hi' };
}

describe('Recorder', () => {
  it('drops the oldest records beyond capacity and keeps per-channel counts right', () => {
    const r = new Recorder(3);
    r.add(sms('1'));
    r.add({ id: 'e', channel: 'email', provider: 'smtp', to: 'a@x.io', envelopeTo: ['a@x.io'] });
    r.add(sms('2'));
    r.add(sms('3'));
    expect(r.size).toBe(3);
    expect(r.query().map((m) => m.to)).toEqual(['a@x.io', '2', '3']);
    r.add(sms('4'));
    expect(r.query().map((m) => m.to)).toEqual(['2', '3', '4']);
    expect(r.count({ channel: 'sms' })).toBe(3);
    expect(r.count({ channel: 'email' })).toBe(0);
    expect(r.count()).toBe(3);
  });

  it('returns the newest matches, oldest first, when limited', () => {
    const r = new Recorder(10);
    for (let i = 1; i <= 5; i++) r.add(sms(String(i)));
    expect(r.query({}, 2).map((m) => m.to)).toEqual(['4', '5']);
    expect(r.query({ to: '3' }).map((m) => m.to)).toEqual(['3']);
    const seqs = r.query().map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('matches email records by any envelope recipient, case-insensitively', () => {
    const r = new Recorder(10);
    r.add({ id: 'e', channel: 'email', provider: 'smtp', to: 'a@x.io', envelopeTo: ['a@x.io', 'Hidden@X.io'] });
    expect(r.count({ to: 'hidden@x.io' })).toBe(1);
    expect(r.count({ to: 'A@X.IO' })).toBe(1);
    expect(r.count({ to: 'other@x.io' })).toBe(0);
  });

  it('clears everything', () => {
    const r = new Recorder(2);
    r.add(sms('1'));
    r.add(sms('2'));
    r.add(sms('3'));
    r.clear();
    expect(r.query()).toEqual([]);
    expect(r.count({ channel: 'sms' })).toBe(0);
    r.add(sms('4'));
    expect(r.query().map((m) => m.to)).toEqual(['4']);
  });
});

describe('FaultInjector', () => {
  it('fails exactly failNext calls with the configured status', () => {
    const f = new FaultInjector();
    expect(f.active).toBe(false);
    f.set({ target: 'sms', failNext: 2, status: 429, retryAfter: 5 });
    expect(f.takeFailure('sms')).toEqual({ action: 'fail', status: 429, retryAfter: 5 });
    expect(f.takeFailure('push')).toBeUndefined();
    expect(f.takeFailure('sms')).toEqual({ action: 'fail', status: 429, retryAfter: 5 });
    expect(f.takeFailure('sms')).toBeUndefined();
  });

  it('applies * to every target, after the target own faults', () => {
    const f = new FaultInjector();
    f.set({ target: '*', failNext: 1 });
    f.set({ target: 'email', dropNext: 1 });
    expect(f.takeFailure('email')).toEqual({ action: 'drop' });
    expect(f.takeFailure('email')).toEqual({ action: 'fail', status: 503, retryAfter: undefined });
    expect(f.takeFailure('email')).toBeUndefined();
  });

  it('fails everything during an outage window', async () => {
    const f = new FaultInjector();
    f.set({ target: 'push', failForMs: 80 });
    expect(f.takeFailure('push')?.action).toBe('fail');
    expect(f.takeFailure('push')?.action).toBe('fail');
    await new Promise((r) => setTimeout(r, 100));
    expect(f.takeFailure('push')).toBeUndefined();
  });

  it('merges fields, rejects addresses case-insensitively and sums latencies', () => {
    const f = new FaultInjector();
    f.set({ target: 'email', rejectAddresses: ['Bad@Example.com'], latencyMs: 10 });
    f.set({ target: 'email', failNext: 1 });
    f.set({ target: '*', latencyMs: 5 });
    expect(f.isRejected('email', 'bad@example.com')).toBe(true);
    expect(f.isRejected('sms', 'bad@example.com')).toBe(false);
    expect(f.latencyFor('email')).toBe(15);
    expect(f.snapshot().email).toMatchObject({ failNext: 1, latencyMs: 10, rejectAddresses: ['bad@example.com'] });
    f.clear('email');
    expect(f.isRejected('email', 'bad@example.com')).toBe(false);
  });
});
