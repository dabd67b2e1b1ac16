import { readUnsubscribeToken, unsubscribeToken, unsubscribeUrl } from '../../common/http/unsubscribe-token';

const env = { WEBHOOK_SECRET: 'first-secret-0123456789' };

describe('unsubscribe tokens', () => {
  it('reads back what it signed, with no lookup, under any listed secret', () => {
    const token = unsubscribeToken(env, { userId: 'u-1', channel: 'email', category: 'marketing' })!;
    expect(readUnsubscribeToken(env, token)).toEqual({ userId: 'u-1', channel: 'email', category: 'marketing' });
    // Rotated: a new secret signs, the old one still verifies the links already mailed.
    const rotated = { WEBHOOK_SECRET: 'second-secret-0123456789,first-secret-0123456789' };
    expect(readUnsubscribeToken(rotated, token)).toEqual({ userId: 'u-1', channel: 'email', category: 'marketing' });
    const byAddress = unsubscribeToken(rotated, { address: 'a@x.io', channel: 'email' })!;
    expect(readUnsubscribeToken(env, byAddress)).toBeNull();
    expect(readUnsubscribeToken(rotated, byAddress)).toEqual({ address: 'a@x.io', channel: 'email' });
  });

  it('refuses a token tampered with, of another secret or malformed', () => {
    const token = unsubscribeToken(env, { userId: 'u-1', channel: 'email', category: 'marketing' })!;
    const [payload, signature] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ u: 'u-2', c: 'email' })).toString('base64url');
    for (const bad of [
      `${forgedPayload}.${signature}`,
      `${payload}.${signature.slice(0, -2)}AA`,
      `${payload}.`,
      payload,
      `${token}.x`,
      '',
      'x'.repeat(5000),
    ]) {
      expect(readUnsubscribeToken(env, bad)).toBeNull();
    }
    expect(readUnsubscribeToken({ WEBHOOK_SECRET: 'another-secret-0123456789' }, token)).toBeNull();
    expect(readUnsubscribeToken({ WEBHOOK_SECRET: undefined }, token)).toBeNull();
  });

  it('makes the public link, and none without WEBHOOK_SECRET', () => {
    const url = unsubscribeUrl(
      { ...env, PUBLIC_BASE_URL: 'https://msg.example.com/', HTTP_PORT: 3000 },
      {
        userId: 'u-1',
        channel: 'email',
      },
    );
    expect(url).toMatch(/^https:\/\/msg\.example\.com\/unsubscribe\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(
      unsubscribeUrl({ WEBHOOK_SECRET: undefined, HTTP_PORT: 3000 }, { userId: 'u', channel: 'email' }),
    ).toBeNull();
  });
});
