import { parseApiKeys, SCOPES } from '../../common/api-keys';
import { ConfigurationError, parseEnvironment } from '../../common/config';

describe('API_KEYS entries with scopes (README "Configuration")', () => {
  it('gives a bare key every scope, as before scopes existed', () => {
    expect(parseApiKeys(['k1', 'k2'])).toEqual([
      { key: 'k1', scopes: [...SCOPES] },
      { key: 'k2', scopes: [...SCOPES] },
    ]);
  });

  it('reads the scopes after the last ":", joined by "+", spaces around them ignored', () => {
    expect(parseApiKeys(['sender:send', 'ops: read + admin', 'a:b:read', 'twice:read+read'])).toEqual([
      { key: 'sender', scopes: ['send'] },
      { key: 'ops', scopes: ['read', 'admin'] },
      { key: 'a:b', scopes: ['read'] },
      { key: 'twice', scopes: ['read'] },
    ]);
  });

  it.each([
    ['an unknown scope', ['k1', 'k2:write'], /^entry 2: what follows its last ":" is not scopes/],
    ['no scope after the ":"', ['k1:'], /^entry 1: .* is not scopes/],
    ['a key with a ":" and no scopes', ['abc:secret-part'], /must end with ":<scopes>"/],
    ['no key before the ":"', [':read'], /^entry 1 has no key/],
    ['a key listed twice', ['k1:send', 'k1:read'], /^entry 2 repeats the key of entry 1$/],
  ])('refuses %s, naming the entry by its position and never its text', (_name, entries, message) => {
    let error: Error | undefined;
    try {
      parseApiKeys(entries);
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).toMatch(message);
    for (const text of ['write', 'secret-part', 'k1']) expect(error?.message).not.toContain(text);
  });

  it('stops the boot on a malformed entry, naming API_KEYS, and keeps the entries as given for the API', () => {
    expect(() => parseEnvironment({ API_KEYS: 'k1:send,k2:sned' })).toThrow(ConfigurationError);
    expect(() => parseEnvironment({ API_KEYS: 'k1:send,k2:sned' })).toThrow(/API_KEYS: entry 2: /);
    expect(parseEnvironment({ API_KEYS: ' k1:send+read , k2 ' }).API_KEYS).toEqual(['k1:send+read', 'k2']);
  });
});
