import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveDevSettings, type DevStack } from '../../scripts/dev-settings';
import { nextRestartDelay } from '../../scripts/supervisor';

/**
 * `npm run dev` fills in only what the user left unset (an empty variable counts as unset, as in the service):
 * every default it has, checked one by one. test/e2e/dev-stack.test.ts sees the Flow Manager rule at work.
 */
const root = path.resolve(__dirname, '../..');
const stack: DevStack = {
  temporalAddress: '127.0.0.1:17233',
  temporalUiUrl: 'http://localhost:18233',
  mongoUrl: 'mongodb://127.0.0.1:27117/messaging',
  simulatorHttpUrl: 'http://127.0.0.1:14010',
  simulatorSmtpUrl: 'smtp://127.0.0.1:12525',
  fcmCredentialsPath: '/tmp/dev/fcm-service-account.json',
};
/** Each setting npm run dev fills in, and its value for `stack`. */
const filled: [name: string, value: string][] = [
  ['MESSAGING_PROFILE', 'development'],
  ['TEMPORAL_ADDRESS', '127.0.0.1:17233'],
  ['TEMPORAL_UI_URL', 'http://localhost:18233'],
  ['MONGODB_URL', 'mongodb://127.0.0.1:27117/messaging'],
  ['SMTP_URL', 'smtp://127.0.0.1:12525'],
  ['TWILIO_BASE_URL', 'http://127.0.0.1:14010'],
  ['KALEYRA_BASE_URL', 'http://127.0.0.1:14010'],
  ['FCM_BASE_URL', 'http://127.0.0.1:14010'],
  ['FCM_TOKEN_URL', 'http://127.0.0.1:14010/token'],
  ['FCM_CREDENTIALS_PATH', '/tmp/dev/fcm-service-account.json'],
  ['INFOBIP_BASE_URL', 'http://127.0.0.1:14010'],
  ['FILE_SERVICE_URL', 'http://127.0.0.1:14010'],
  ['SIMULATOR_URL', 'http://127.0.0.1:14010'],
  ['AWS_ENDPOINT_URL', 'http://127.0.0.1:14010'],
];

describe('the settings npm run dev fills in', () => {
  const defaultConfiguration = JSON.parse(readFileSync(path.join(root, 'config/default.json'), 'utf8'));
  let dir: string;
  let withoutFlowManager: string;
  let withFlowManager: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'messaging-dev-settings-'));
    withoutFlowManager = path.join(dir, 'no-flow-manager.json');
    writeFileSync(withoutFlowManager, JSON.stringify({ ...defaultConfiguration, flowManagerConfiguration: undefined }));
    withFlowManager = path.join(dir, 'flow-manager.json');
    const flowManagerConfiguration = {
      ...defaultConfiguration.flowManagerConfiguration,
      serviceUrl: 'http://fm.example',
    };
    writeFileSync(withFlowManager, JSON.stringify({ ...defaultConfiguration, flowManagerConfiguration }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills every setting left unset, and starts Temporal and FerretDB', () => {
    const settings = resolveDevSettings({ CONFIGURATION_PATH: withoutFlowManager }, stack);
    expect(settings).toMatchObject({ startTemporal: true, startFerretDb: true });
    expect(settings.env).toMatchObject({ ...Object.fromEntries(filled), FLOW_MANAGER_URL: stack.simulatorHttpUrl });
    expect(settings.settings.every((setting) => setting.source === 'npm run dev')).toBe(true);
    expect(settings.config.env.TWILIO_BASE_URL).toBe(stack.simulatorHttpUrl);
    // The development profile gives the simulator's credentials, which npm run dev does not list.
    expect(settings.config.env.TWILIO_AUTH_TOKEN).toBe('simulator-token');
  });

  it('keeps every variable the user set, and starts no Temporal or FerretDB of its own for theirs', () => {
    const own = Object.fromEntries(filled.map(([name]) => [name, `http://own.example/${name}`]));
    own.TEMPORAL_ADDRESS = 'temporal.example:7233';
    own.MONGODB_URL = 'mongodb://db.example/app';
    own.SMTP_URL = 'smtp://mail.example:587';
    own.FCM_CREDENTIALS_PATH = '/secrets/fcm.json';
    own.MESSAGING_PROFILE = 'production';
    const settings = resolveDevSettings({ ...own, FLOW_MANAGER_URL: 'http://flow.example' }, stack);
    expect(settings).toMatchObject({ startTemporal: false, startFerretDb: false });
    expect(settings.env).toMatchObject({ ...own, FLOW_MANAGER_URL: 'http://flow.example' });
    expect(settings.settings.every((setting) => setting.source === 'yours')).toBe(true);
    // Your profile too: out of development, no credential defaults to the simulator's.
    expect(settings.config.env.TWILIO_AUTH_TOKEN).toBeUndefined();
  });

  it("fills no Temporal UI link when the Temporal is the user's", () => {
    const settings = resolveDevSettings({ TEMPORAL_ADDRESS: 'temporal.example:7233' }, stack);
    expect(settings.env.TEMPORAL_UI_URL).toBeUndefined();
    expect(settings.env.MONGODB_URL).toBe(stack.mongoUrl);
  });

  it("leaves FLOW_MANAGER_URL unset when the configuration file names the Flow Manager (config/default.json's too)", () => {
    for (const [file, url] of [
      [withFlowManager, 'http://fm.example'],
      [undefined, defaultConfiguration.flowManagerConfiguration.serviceUrl],
    ]) {
      const settings = resolveDevSettings({ CONFIGURATION_PATH: file }, stack);
      expect(settings.env.FLOW_MANAGER_URL).toBeUndefined();
      expect(settings.settings).toContainEqual({ name: 'FLOW_MANAGER_URL', value: url, source: 'configuration file' });
    }
  });

  it('keeps FLOW_MANAGER_URL over the configuration file, as the service does', () => {
    const settings = resolveDevSettings(
      { CONFIGURATION_PATH: withFlowManager, FLOW_MANAGER_URL: 'http://flow.example' },
      stack,
    );
    expect(settings.env.FLOW_MANAGER_URL).toBe('http://flow.example');
  });

  it('counts an empty variable as unset', () => {
    const settings = resolveDevSettings(
      { CONFIGURATION_PATH: withoutFlowManager, MONGODB_URL: '', SMTP_URL: '', FLOW_MANAGER_URL: '' },
      stack,
    );
    expect(settings.startFerretDb).toBe(true);
    expect(settings.env).toMatchObject({
      MONGODB_URL: stack.mongoUrl,
      SMTP_URL: stack.simulatorSmtpUrl,
      FLOW_MANAGER_URL: stack.simulatorHttpUrl,
    });
  });

  it('refuses a bad setting with its name, as the service would', () => {
    expect(() => resolveDevSettings({ FILE_SERVICE_URL: 'not a url' }, stack)).toThrow(/FILE_SERVICE_URL/);
    expect(() => resolveDevSettings({ MESSAGING_PROFILE: 'dev' }, stack)).toThrow(/MESSAGING_PROFILE/);
    expect(() => resolveDevSettings({ CONFIGURATION_PATH: path.join(dir, 'missing.json') }, stack)).toThrow(
      /CONFIGURATION_PATH .*missing\.json cannot be read/,
    );
  });
});

describe('the restart backoff', () => {
  it('starts at 1 s, doubles up to 30 s while the process keeps exiting, and starts over after a minute up', () => {
    const delays: number[] = [];
    let delay: number | undefined;
    for (let exit = 0; exit < 7; exit++) delays.push((delay = nextRestartDelay(delay, 5000)));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(nextRestartDelay(30000, 59_999)).toBe(30000);
    expect(nextRestartDelay(30000, 60_000)).toBe(1000);
  });
});
