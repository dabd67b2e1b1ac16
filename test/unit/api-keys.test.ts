import { apiAuthMode, BARE_KEY_SCOPES, MIN_KEY_LENGTH, parseApiKeys } from '../../common/config/api-keys';
import { ConfigurationError } from '../../common/config/config';
import { parseEnvironment } from '../../providers/service-configuration';

/** A key of `MIN_KEY_LENGTH` characters that starts with `name`, so that the tests read which key is which. */
const key = (name: string) => name.padEnd(MIN_KEY_LENGTH, '-0123456789abcdef');

describe('API_KEYS entries with scopes (docs/configuration.md)', () => {
  it('gives a bare key send and read only, not the scopes that change the service', () => {
    expect(BARE_KEY_SCOPES).toEqual(['send', 'read']);
    expect(parseApiKeys([key('k1'), key('k2')])).toEqual([
      { key: key('k1'), scopes: ['send', 'read'] },
      { key: key('k2'), scopes: ['send', 'read'] },
    ]);
  });

  it('reads the scopes after the last ":", joined by "+", spaces around them ignored', () => {
    expect(
      parseApiKeys([
        `${key('sender')}:send`,
        `${key('ops')}: read + templates`,
        `${key('a:b')}:read`,
        `${key('twice')}:read+read`,
        `${key('registry')}:providers+codec`,
      ]),
    ).toEqual([
      { key: key('sender'), scopes: ['send'] },
      { key: key('ops'), scopes: ['read', 'templates'] },
      { key: key('a:b'), scopes: ['read'] },
      { key: key('twice'), scopes: ['read'] },
      { key: key('registry'), scopes: ['providers', 'codec'] },
    ]);
  });

  it('gives admin templates, providers and codec as well, but neither send nor read', () => {
    expect(parseApiKeys([`${key('admin')}:admin`])).toEqual([
      { key: key('admin'), scopes: ['templates', 'providers', 'codec', 'admin'] },
    ]);
  });

  it('gives a key the application after its scopes\' "@", and none to a key without one', () => {
    expect(
      parseApiKeys([
        `${key('orders')}:send+read@orders-app`,
        `${key('spaced')}:send @ billing.app-2 `,
        `${key('a@b')}:send`,
        `${key('plain')}:send`,
      ]),
    ).toEqual([
      { key: key('orders'), scopes: ['send', 'read'], appId: 'orders-app' },
      { key: key('spaced'), scopes: ['send'], appId: 'billing.app-2' },
      { key: key('a@b'), scopes: ['send'] },
      { key: key('plain'), scopes: ['send'] },
    ]);
    expect(parseApiKeys([`${key('plain')}:send`])[0]).not.toHaveProperty('appId');
  });

  it.each([
    ['an unknown scope', [key('k1'), `${key('k2')}:write`], /^entry 2: what follows its last ":" is not scopes/],
    ['no scope after the ":"', [`${key('k1')}:`], /^entry 1: .* is not scopes/],
    ['a key with a ":" and no scopes', [`${key('abc')}:secret-part`], /must end with ":<scopes>"/],
    ['no key before the ":"', [':read'], /^entry 1 has no key/],
    ['a key listed twice', [`${key('k1')}:send`, `${key('k1')}:read`], /^entry 2 repeats the key of entry 1$/],
    ['a key of 31 characters', [key('k1'), 'k2'.padEnd(31, 'x')], /^entry 2: its key is shorter than 32 characters/],
    ['a short key with scopes', ['k1-short:send'], /^entry 1: its key is shorter than 32 characters/],
    ['an empty application', [`${key('k1')}:send@`], /^entry 1: what follows its "@" is not an application id/],
    ['an application with a space', [`${key('k1')}:send@k2 app`], /^entry 1: .* not an application id/],
    ['a second "@"', [`${key('k1')}:send@k2@app`], /^entry 1: .* not an application id/],
  ])('refuses %s, naming the entry by its position and never its text', (_name, entries, message) => {
    let error: Error | undefined;
    try {
      parseApiKeys(entries);
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).toMatch(message);
    for (const text of ['write', 'secret-part', 'k1', 'k2']) expect(error?.message).not.toContain(text);
  });

  it('stops the boot on a malformed or short entry, naming API_KEYS, and keeps the entries as given for the API', () => {
    expect(() => parseEnvironment({ API_KEYS: `${key('k1')}:send,${key('k2')}:sned` })).toThrow(ConfigurationError);
    expect(() => parseEnvironment({ API_KEYS: `${key('k1')}:send,${key('k2')}:sned` })).toThrow(/API_KEYS: entry 2: /);
    expect(() => parseEnvironment({ API_KEYS: 'k1:send' })).toThrow(/API_KEYS: entry 1: its key is shorter/);
    expect(parseEnvironment({ API_KEYS: ` ${key('k1')}:send+read , ${key('k2')} ` }).API_KEYS).toEqual([
      `${key('k1')}:send+read`,
      key('k2'),
    ]);
  });
});

describe('how the API authenticates without API_KEYS (docs/configuration.md)', () => {
  const mode = (variables: Record<string, string>) => () => apiAuthMode(parseEnvironment(variables));

  it('refuses to boot outside the development profile, naming API_KEYS and API_AUTH', () => {
    expect(mode({})).toThrow(/^API_KEYS: required outside the development profile.*API_AUTH=none/);
    expect(mode({ MESSAGING_PROFILE: 'production' })).toThrow(/^API_KEYS: required/);
  });

  it('checks keys when they are set, in every profile', () => {
    expect(mode({ API_KEYS: key('k1') })()).toBe('keys');
    expect(mode({ API_KEYS: key('k1'), MESSAGING_PROFILE: 'development' })()).toBe('keys');
  });

  it('stays open without keys in the development profile, and with API_AUTH=none on purpose', () => {
    expect(mode({ MESSAGING_PROFILE: 'development' })()).toBe('open-development');
    expect(mode({ API_AUTH: 'none' })()).toBe('none');
  });

  it('refuses API_AUTH=none beside API_KEYS, and an API_AUTH it does not know', () => {
    expect(mode({ API_AUTH: 'none', API_KEYS: key('k1') })).toThrow(/API_KEYS and API_AUTH=none are both set/);
    expect(mode({ API_AUTH: 'off' })).toThrow(/API_AUTH/);
  });
});
