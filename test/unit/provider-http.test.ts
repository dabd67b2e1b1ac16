import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentProviderError, TransientProviderError } from '../../common/domain/http-errors';
import { codeAndMessageErrorReader, ProviderHttpClient, sanitizedReason } from '../../providers/http-client';
import { registeredSettingsProblems } from '../../providers/registered-provider-policy';

/**
 * Provider calls (docs/api.md "Providers"): a registered provider's calls go through the SSRF guard, answers are read
 * up to a cap, and a refusal keeps a short sanitized reason, never the raw body.
 */
describe('provider calls', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/large') return response.end(JSON.stringify({ sid: 'SM1', padding: 'x'.repeat(200_000) }));
      if (request.url === '/refused') {
        response.writeHead(400, { 'content-type': 'application/json' });
        return response.end(
          JSON.stringify({
            code: 21211,
            message: `bad\u001b[31m number\r\nforged-log-line ${'y'.repeat(400)}`,
            internal: 'stack trace and the account balance',
          }),
        );
      }
      if (request.url === '/html') {
        response.writeHead(502);
        return response.end('<html><body>internal proxy 10.0.0.7 says: upstream secret-host:8080 down</body></html>');
      }
      response.end('{"sid":"SM1"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses loopback, by address and by a name that resolves to it, when the guard allows no private network', async () => {
    const guarded = new ProviderHttpClient({ allowPrivateNetworks: false });
    try {
      for (const url of [`${base}/ok`, base.replace('127.0.0.1', 'localhost') + '/ok']) {
        const error = await guarded.call('twilio', url, {}).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(PermanentProviderError);
        expect(error).toMatchObject({ code: 'PROVIDER_URL_FORBIDDEN' });
      }
    } finally {
      await guarded.close();
    }
    // The development profile (and configured providers, unguarded) reach the simulator on this machine.
    const local = new ProviderHttpClient({ allowPrivateNetworks: true });
    try {
      expect((await local.call('twilio', `${base}/ok`, {})).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  it('reads an answer up to its cap, and fails one larger for good', async () => {
    const http = new ProviderHttpClient({ maxResponseBytes: 64 * 1024 });
    try {
      const error = await http.call('twilio', `${base}/large`, {}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER_ANSWER_TOO_LARGE' });
    } finally {
      await http.close();
    }
  });

  it("keeps the status, the provider's code and a short sanitized reason of a refusal, never its raw body", async () => {
    const http = new ProviderHttpClient();
    try {
      const refused = (await http
        .call('twilio', `${base}/refused`, {}, codeAndMessageErrorReader('TWILIO'))
        .catch((caught: unknown) => caught)) as PermanentProviderError;
      expect(refused).toBeInstanceOf(PermanentProviderError);
      expect(refused.code).toBe('TWILIO_21211');
      expect(refused.message).toMatch(/^twilio answered 400: bad number forged-log-line y+…$/);
      expect(refused.message.length).toBeLessThanOrEqual('twilio answered 400: '.length + 120);
      expect([...refused.message].some((char) => char.charCodeAt(0) < 0x20)).toBe(false);
      const proxy = (await http.call('twilio', `${base}/html`, {}).catch((caught: unknown) => caught)) as Error;
      expect(proxy).toBeInstanceOf(TransientProviderError);
      expect(proxy.message).toBe('twilio answered 502: no reason given');
    } finally {
      await http.close();
    }
  });

  it('sanitizes reasons: control characters and line breaks become one space, at most 120 characters', () => {
    expect(sanitizedReason('a\u0000\u0007b\n\nc\u2028d')).toBe('a b c d');
    expect(sanitizedReason('z'.repeat(500))).toHaveLength(120);
  });
});

describe('what a registered provider may set', () => {
  const production = { anyHost: false };

  it.each([
    ['fcm', 'credentialsPath', { credentialsPath: '/etc/shadow' }],
    ['ses', 'endpoint', { endpoint: 'http://169.254.169.254' }],
    ['pinpoint', 'endpoint', { endpoint: 'https://example.com' }],
  ] as const)('refuses %s settings naming %s, in every profile', (type, field, settings) => {
    for (const anyHost of [true, false])
      expect(registeredSettingsProblems(type, settings, { anyHost }).map((problem) => problem.field)).toEqual([field]);
  });

  it.each([
    ['twilio', { baseUrl: 'https://api.twilio.com' }],
    ['kaleyra', { baseUrl: 'https://api.kaleyra.io/' }],
    ['infobip', { apiBaseUrl: 'https://api.infobip.com' }],
    ['infobip', { baseUrl: 'https://xyz12.api.infobip.com' }],
    ['fcm', { baseUrl: 'https://fcm.googleapis.com', tokenUrl: 'https://oauth2.googleapis.com/token' }],
  ] as const)("takes %s at its type's own hosts", (type, settings) => {
    expect(registeredSettingsProblems(type, settings, production)).toEqual([]);
  });

  it.each([
    ['twilio', 'baseUrl', { baseUrl: 'http://10.0.0.5' }],
    ['twilio', 'baseUrl', { baseUrl: 'https://api.twilio.com.evil.example' }],
    ['twilio', 'baseUrl', { baseUrl: 'https://twilio.com' }],
    ['infobip', 'apiBaseUrl', { apiBaseUrl: 'http://127.0.0.1:4010' }],
    ['fcm', 'tokenUrl', { baseUrl: 'https://fcm.googleapis.com', tokenUrl: 'http://metadata.google.internal/' }],
    ['mia-sms-service', 'baseUrl', { baseUrl: 'https://sms.example.com' }],
    ['smtp', 'url', { url: 'smtp://10.0.0.25:25' }],
  ] as const)('refuses %s %s at another host outside the development profile', (type, field, settings) => {
    expect(registeredSettingsProblems(type, settings, production).map((problem) => problem.field)).toEqual([field]);
    expect(registeredSettingsProblems(type, settings, { anyHost: true })).toEqual([]);
  });

  it('takes the hosts the configuration adds', () => {
    const settings = { baseUrl: 'https://sms.example.com' };
    const extraHosts = { 'mia-sms-service': ['*.example.com'] };
    expect(registeredSettingsProblems('mia-sms-service', settings, { anyHost: false, extraHosts })).toEqual([]);
  });
});
