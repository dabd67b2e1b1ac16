import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { person, simMessages } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * What the service writes to its logs at `debug`, on a real send through the API and worker processes, holds no
 * address, phone number, device token, message text or credential of the send (docs/internals.md "Logs") — including
 * when providers refuse recipients and name them in their errors (Twilio's 21211 names the number), which the
 * Temporal SDK logs as `Activity failed` warnings.
 */
describe('logs of a send hold no personal data', () => {
  let stack: TestStack;
  // Each process's output apart, so that lines of the two never interleave.
  const outputs = { worker: '', api: '' };
  const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
  const apiKey = secret('api-key');
  // Provider credentials the simulator accepts whatever their value; none may reach a log either.
  const credentials = {
    TWILIO_ACCOUNT_SID: secret('AC'),
    TWILIO_AUTH_TOKEN: secret('twilio-token'),
    KALEYRA_API_KEY: secret('kaleyra-key'),
    KALEYRA_SID: secret('HX'),
    FCM_PROJECT_ID: 'redaction-project',
    INFOBIP_API_KEY: secret('infobip-key'),
  };
  const smtpPassword = secret('smtp-password');
  // A value that only the rendered messages carry: the send's data reaches the logs only through a rendered text.
  const marker = `Qz${randomBytes(6).toString('hex')}`;
  const users = ['Ottavia', 'Quirino', 'Zelmira'].map((name) =>
    person(name, { emailAddress: `${name.toLowerCase()}.${marker}@example.org`, clusters: [marker] }),
  );

  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: credentials });
  });
  afterAll(() => stack.close());

  it('scans the API and worker output of a send with refused recipients and finds none of them', async () => {
    const smtpUrl = stack.simulator.smtpUrl.replace('smtp://', `smtp://mailer:${smtpPassword}@`);
    const env = { LOG_LEVEL: 'debug', API_KEYS: `${apiKey}:send+read+admin`, SMTP_URL: smtpUrl };
    const worker = await stack.spawnWorkerProcess({ env, onOutput: (text) => (outputs.worker += text) });
    const api = await stack.spawnApiProcess(undefined, { env, onOutput: (text) => (outputs.api += text) });
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const response = await request(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { statusCode: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
    };

    for (const user of users) expect((await call('POST', '/users', user)).statusCode).toBe(201);
    const template = await call('POST', '/templates', {
      name: 'redaction',
      emailTitle: 'Subject {{user.name}} {{data.code}}',
      emailMessage: 'Text {{user.name}} {{data.code}}',
      emailHtmlMessage: '<p>Html {{user.name}} {{data.code}}</p>',
      smsMessage: 'Sms {{user.name}} {{data.code}}',
      voiceMessage: 'Voice {{user.name}} {{data.code}}',
      pushTitle: 'Push {{data.code}}',
      pushMessage: 'Push body {{user.name}} {{data.code}}',
      whatsappMessage: 'Whatsapp {{user.name}} {{data.code}}',
    });
    expect(template.statusCode).toBe(201);
    // An address in a query string reaches the request log line's url.
    await call('GET', `/users?emailAddress=${users[0].emailAddress}`);

    // Each provider refuses one recipient: the errors of Twilio (21211), Kaleyra, Infobip and SMTP name it.
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: [users[0].phoneNumber] });
    await stack.sim('POST', '/faults', { target: 'voice', rejectAddresses: [users[1].phoneNumber] });
    await stack.sim('POST', '/faults', { target: 'whatsapp', rejectAddresses: [users[2].phoneNumber] });
    await stack.sim('POST', '/faults', { target: 'email', rejectAddresses: [users[1].emailAddress] });
    await stack.sim('POST', '/faults', { target: 'push', rejectAddresses: [users[2].deviceToken] });
    const send = await call('POST', '/send', {
      channels: ['email', 'sms', 'push', 'voice', 'whatsapp'],
      clusters: [marker],
      templateId: template.body._id,
      data: { code: marker },
    });
    expect(send.statusCode).toBe(200);
    expect((send.body.failures as { code: string }[]).map((failure) => failure.code).sort()).toEqual([
      'FCM_UNREGISTERED',
      'INFOBIP_BAD_REQUEST',
      'KALEYRA_E413',
      'SMTP_550',
      'TWILIO_21211',
    ]);
    const sent = await simMessages(stack, `channel=sms`);
    expect(sent.map((message) => message.body)).toContainEqual(`Sms Quirino ${marker}`);

    // Let the last lines reach the pipes, then stop both processes (their closing lines included).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await Promise.all([worker.stop(), api.process.stop()]);

    const output = `${outputs.worker}\n${outputs.api}`;
    const secrets = [
      apiKey,
      smtpPassword,
      ...Object.values(credentials).filter((value) => value !== credentials.FCM_PROJECT_ID),
      marker,
      ...users.flatMap((user) => [user.emailAddress, user.phoneNumber, user.phoneNumber.slice(1), user.deviceToken]),
    ];
    expect(secrets.filter((secret) => output.includes(secret))).toEqual([]);

    // The logs did see the send, its failures and the request URL, at every level they were asked for, masked where
    // they named a recipient (listed here when missing, not the whole output).
    const messages = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg?: string }).msg);
    expect(messages).toEqual(
      expect.arrayContaining(['incoming request', 'send started', 'delivery attempted', 'Activity failed']),
    );
    const expected = [
      "twilio answered 400: The 'To' number [phone] is not a valid phone number.",
      '550 5.1.1 <[email]>: Recipient address rejected',
      '"url":"/users?emailAddress=[email]"',
    ];
    expect(expected.filter((text) => !output.includes(text))).toEqual([]);
  });
});
