import { PreferenceGate } from '../../activities/dispatch/preference-gate';
import type { UserLoader } from '../../activities/user-loader';
import { serviceConfigSchema, parseEnvironment } from '../../providers/service-configuration';
import type { Preferences } from '../../common/domain/preferences';
import type { PreferencesRepository } from '../../common/store/preferences-repository';
import type { SuppressionsRepository } from '../../common/store/suppressions-repository';
import type { ThrottleClaimsRepository } from '../../common/store/throttle-claims-repository';
import type { UserDocument } from '../../common/store/users-repository';

describe('PreferenceGate', () => {
  const users = new Map<string, UserDocument>(
    ['u1', 'u2', 'u3', 'u4'].map((id) => [id, { _id: id, emailAddress: `${id}@x.io`, phoneNumber: '+393331234567' }]),
  );
  const config = {
    env: parseEnvironment({ MESSAGING_PROFILE: 'development' }),
    service: serviceConfigSchema.parse({ activeChannels: ['email', 'sms'] }),
  };

  function gateWith(stored: Record<string, Preferences>) {
    const queried: string[][] = [];
    const preferences = {
      forUsers: async (ids: string[]) => {
        queried.push(ids);
        return new Map(ids.filter((id) => stored[id]).map((id) => [id, stored[id]]));
      },
    } as unknown as PreferencesRepository;
    const loader = { pageUsers: async () => users } as unknown as UserLoader;
    const suppressions = { suppressedAmong: async () => new Set<string>() } as unknown as SuppressionsRepository;
    const throttleClaims = {} as ThrottleClaimsRepository;
    return { gate: new PreferenceGate(preferences, loader, [], suppressions, throttleClaims), queried };
  }

  it("reads a page's preferences in one query, shared by every batch and channel of the page", async () => {
    const { gate, queried } = gateWith({ u2: { channels: { sms: false }, categories: {} } });
    const request = {};
    const smsFirst = await gate.check({ config }, 's-1', request, 'sms', ['u1', 'u2'], users, 0);
    const smsSecond = await gate.check({ config }, 's-1', request, 'sms', ['u3', 'u4'], users, 0);
    const email = await gate.check({ config }, 's-1', request, 'email', ['u1', 'u2'], users, 0);
    expect(queried).toEqual([['u1', 'u2', 'u3', 'u4']]);
    expect([...smsFirst.turnedOff.keys()]).toEqual(['u2']);
    expect(smsFirst.turnedOff.get('u2')).toMatchObject({ status: 'skipped', code: 'OPTED_OUT', attempted: false });
    expect(smsSecond.turnedOff.size).toBe(0);
    expect(email.turnedOff.size).toBe(0);
    // A batch without a page (a retry) reads its own users.
    await gate.check({ config }, 's-1', request, 'sms', ['u2'], users);
    expect(queried).toEqual([['u1', 'u2', 'u3', 'u4'], ['u2']]);
  });

  it('lets a critical send through and marks its outcomes', async () => {
    const { gate, queried } = gateWith({ u2: { channels: { sms: false }, categories: {} } });
    const verdict = await gate.check({ config }, 's-2', { critical: true }, 'sms', ['u2'], users, 0);
    expect(verdict.turnedOff.size).toBe(0);
    expect(queried).toEqual([]);
    expect(verdict.mark({ userId: 'u2', channel: 'sms', status: 'sent', attempted: true })).toMatchObject({
      critical: true,
    });
  });

  it("skips a send's deliveries inside their users' quiet hours when it says quietHours: skip", async () => {
    const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
    const now = Date.now();
    const quiet = { channels: {}, categories: {}, quietHours: { start: hhmm(now - 60_000), end: hhmm(now + 120_000) } };
    const { gate } = gateWith({ u1: quiet, u2: quiet });
    const inTokyo = new Map(users).set('u2', { ...users.get('u2'), timezone: 'Asia/Tokyo' });
    const skipping = await gate.check({ config }, 's-3', { quietHours: 'skip' }, 'sms', ['u1', 'u2', 'u3'], inTokyo);
    expect([...skipping.turnedOff.keys()]).toEqual(['u1']);
    expect(skipping.turnedOff.get('u1')).toMatchObject({ status: 'skipped', code: 'QUIET_HOURS', attempted: false });
    const plain = await gate.check({ config }, 's-3', {}, 'sms', ['u1'], inTokyo);
    expect(plain.turnedOff.size).toBe(0);
    const critical = await gate.check({ config }, 's-3', { quietHours: 'skip', critical: true }, 'sms', ['u1'], users);
    expect(critical.turnedOff.size).toBe(0);
  });

  it('defers them until the window ends when the dispatch may defer; skip still skips, a critical send goes', async () => {
    const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
    const now = Date.now();
    const end = Math.ceil((now + 120_000) / 60_000) * 60_000 - 60_000;
    const quiet = { channels: {}, categories: {}, quietHours: { start: hhmm(now - 60_000), end: hhmm(end) } };
    const { gate } = gateWith({ u1: quiet });
    const deferring = await gate.check({ config }, 's-4', {}, 'sms', ['u1', 'u2'], users, undefined, true);
    expect([...deferring.turnedOff.keys()]).toEqual(['u1']);
    expect(deferring.turnedOff.get('u1')).toMatchObject({
      status: 'deferred',
      code: 'QUIET_HOURS',
      releaseAt: new Date(end),
      attempted: false,
    });
    const skipping = await gate.check({ config }, 's-4', { quietHours: 'skip' }, 'sms', ['u1'], users, undefined, true);
    expect(skipping.turnedOff.get('u1')).toMatchObject({ status: 'skipped', code: 'QUIET_HOURS' });
    const critical = await gate.check({ config }, 's-4', { critical: true }, 'sms', ['u1'], users, undefined, true);
    expect(critical.turnedOff.size).toBe(0);
  });
});
