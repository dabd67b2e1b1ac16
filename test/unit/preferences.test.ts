import { decideByPreferences, isCriticalSend, type Preferences } from '../../common/domain/preferences';

const prefs = (preferences: Partial<Preferences>): Preferences => ({ channels: {}, categories: {}, ...preferences });

describe('decideByPreferences: the most specific setting wins', () => {
  // The table of docs/preferences.md, row by row.
  it.each([
    ['nothing set', prefs({}), 'email', 'marketing', { allowed: true, rule: 'default' }],
    ['channel off', prefs({ channels: { sms: false } }), 'sms', undefined, { allowed: false, rule: 'channel' }],
    [
      'another channel off',
      prefs({ channels: { sms: false } }),
      'email',
      undefined,
      { allowed: true, rule: 'default' },
    ],
    [
      'category off beats channel on',
      prefs({ channels: { email: true }, categories: { marketing: false } }),
      'email',
      'marketing',
      { allowed: false, rule: 'category' },
    ],
    [
      'category on beats channel off',
      prefs({ channels: { sms: false }, categories: { orders: true } }),
      'sms',
      'orders',
      { allowed: true, rule: 'category' },
    ],
    [
      'category and channel off beats category on',
      prefs({ categories: { marketing: { email: false } } }),
      'email',
      'marketing',
      { allowed: false, rule: 'category-channel' },
    ],
    [
      'category and channel on beats channel off',
      prefs({ channels: { sms: false }, categories: { orders: { sms: true } } }),
      'sms',
      'orders',
      { allowed: true, rule: 'category-channel' },
    ],
    [
      'a category per channel that names another channel falls through to the channel',
      prefs({ channels: { sms: false }, categories: { marketing: { email: false } } }),
      'sms',
      'marketing',
      { allowed: false, rule: 'channel' },
    ],
    [
      'a send without category ignores the categories',
      prefs({ categories: { marketing: false } }),
      'email',
      undefined,
      { allowed: true, rule: 'default' },
    ],
    [
      'a category named like an object property is no setting',
      prefs({}),
      'email',
      'constructor',
      { allowed: true, rule: 'default' },
    ],
  ] as const)('%s', (_name, preferences, channel, category, decision) => {
    expect(decideByPreferences(preferences as Preferences, channel, category)).toEqual(decision);
  });
});

describe('isCriticalSend', () => {
  it('is critical when the send says so or its category is a configured critical one', () => {
    expect(isCriticalSend({ critical: true }, [])).toBe(true);
    expect(isCriticalSend({ category: 'security' }, ['security'])).toBe(true);
    expect(isCriticalSend({ category: 'marketing' }, ['security'])).toBe(false);
    expect(isCriticalSend({}, ['security'])).toBe(false);
    expect(isCriticalSend({ critical: false, category: 'marketing' }, [])).toBe(false);
  });
});
