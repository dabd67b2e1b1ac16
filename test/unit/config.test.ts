import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError, loadConfig, parseServiceConfig } from '../../common/config';

const dir = mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
const write = (name: string, content: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

describe('configuration (README "Configuration")', () => {
  it('loads the shipped default configuration with defaults for every variable', () => {
    const config = loadConfig({ CONFIGURATION_PATH: 'config/default.json' });
    expect(config.env.HTTP_PORT).toBe(3000);
    expect(config.env.TEMPORAL_TASK_QUEUE).toBe('messaging');
    expect(config.env.FILE_SERVICE_URL).toBeUndefined();
    expect(config.service.activeChannels).toContain('email');
  });

  it('keeps the Mia shape with renamed user fields', () => {
    const service = parseServiceConfig(
      JSON.stringify({ activeChannels: ['sms'], userFields: { phoneNumber: 'phone', clusters: 'groups' } }),
      'test',
    );
    expect(service.userFields).toEqual({
      id: '_id',
      emailAddress: 'emailAddress',
      phoneNumber: 'phone',
      deviceToken: 'deviceToken',
      clusters: 'groups',
    });
    expect(service.providers.sms).toBe('twilio');
  });

  it.each([
    [{ HTTP_PORT: 'eighty' }, /HTTP_PORT/],
    [{ MONGODB_URL: 'postgres://x' }, /MONGODB_URL/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL/],
    [{ FILE_SERVICE_URL: 'not a url' }, /FILE_SERVICE_URL/],
    [{ CONFIGURATION_PATH: '/nonexistent/config.json' }, /CONFIGURATION_PATH/],
  ])('names the bad variable %j', (env, pattern) => {
    expect(() => loadConfig({ CONFIGURATION_PATH: 'config/default.json', ...env })).toThrow(ConfigurationError);
    expect(() => loadConfig({ CONFIGURATION_PATH: 'config/default.json', ...env })).toThrow(pattern);
  });

  it.each([
    [{}, /activeChannels/],
    [{ activeChannels: ['fax'] }, /activeChannels\.0/],
    [{ activeChannels: ['sms'], providers: { sms: 'carrier-pigeon' } }, /providers\.sms/],
    [{ activeChannels: ['sms'], sender: { email: 'not-an-address' } }, /sender\.email/],
  ])('names the bad JSON path in %j', (json, pattern) => {
    const file = write(`c${Math.random()}.json`, json);
    expect(() => loadConfig({ CONFIGURATION_PATH: file })).toThrow(pattern);
  });

  it('refuses a configuration file that is not JSON', () => {
    expect(() => loadConfig({ CONFIGURATION_PATH: write('broken.json', '{ nope') })).toThrow(/not valid JSON/);
  });

  it('treats empty variables as unset', () => {
    expect(
      loadConfig({ CONFIGURATION_PATH: 'config/default.json', FILE_SERVICE_URL: '' }).env.FILE_SERVICE_URL,
    ).toBeUndefined();
  });
});
