import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../api/app';
import { ENCRYPTION_KEY_ID } from '../../common/crypto/encryption-codec';
import { insertUsers, person } from '../support/fixtures';
import { testApiKey } from '../support/api-keys';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * No personal data in Temporal (docs/operations.md "Encryption of workflow data"): a finished send's history, read
 * without the codec as anyone with access to Temporal reads it, holds no address, phone number, name or message body,
 * not even in the failure of a provider refusal; the API's codec endpoint decrypts it again for the Temporal UI.
 */
describe('workflow data is encrypted in Temporal', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.close());

  const decode = (payloads: unknown[], headers: Record<string, string> = {}) =>
    stack.app.inject({ method: 'POST', url: '/codec/decode', headers, payload: { payloads } });
  const base64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
  const payloadJson = (payload: temporal.api.common.v1.IPayload) => ({
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, base64(value)])),
    data: base64(payload.data),
  });

  it('stores no address, phone, name or body of a send with a provider refusal; the codec endpoint decodes it', async () => {
    const marker = randomUUID().slice(0, 8);
    const user = person(`Zelinda${marker}`);
    const [userId] = await insertUsers(stack, [user]);
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: [user.phoneNumber] });
    const body = `Your results are ready, ${marker}-body`;
    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: {
        channels: ['email', 'sms'],
        recipients: [userId],
        messageTitle: 'Results',
        messageContent: `${body} {{user.name}}`,
      },
    });
    expect(response.statusCode).toBe(200);
    const { workflowId, failures } = response.json<{ workflowId: string; failures: { code: string }[] }>();
    expect(failures).toEqual([expect.objectContaining({ code: 'TWILIO_21211' })]);

    // A client without the codec: what the Temporal UI, the CLI or the database show.
    const raw = new Client({ connection: stack.temporal.connection, namespace: stack.config.env.TEMPORAL_NAMESPACE });
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    for (const personal of [user.emailAddress, user.phoneNumber, user.name, body, `${marker}-body`]) {
      expect([personal, bytes.includes(personal)]).toEqual([personal, false]);
    }

    // The refusal is there, encrypted: its message decodes to the phone number Twilio refused.
    const failure = history
      .events!.map(
        (event) =>
          event.activityTaskFailedEventAttributes?.failure ?? event.workflowExecutionFailedEventAttributes?.failure,
      )
      .find((found) => found?.encodedAttributes);
    expect(failure?.message).toBe('Encoded failure');
    expect(Object.keys(failure!.encodedAttributes!.metadata!)).toContain(ENCRYPTION_KEY_ID);
    const decoded = await decode([payloadJson(failure!.encodedAttributes!)]);
    expect(decoded.statusCode).toBe(200);
    const [attributes] = decoded.json<{ payloads: { data: string }[] }>().payloads;
    const { message } = JSON.parse(Buffer.from(attributes.data, 'base64').toString()) as { message: string };
    expect(message).toContain(user.phoneNumber);

    // So does the workflow input, and the codec endpoint encodes back what the UI sends (a signal, a reset reason).
    const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
    const [decodedInput] = (await decode([payloadJson(input)])).json<{ payloads: { data: string }[] }>().payloads;
    expect(JSON.parse(Buffer.from(decodedInput.data, 'base64').toString())).toMatchObject({ sendId: workflowId });
    const encoded = await stack.app.inject({
      method: 'POST',
      url: '/codec/encode',
      payload: { payloads: [decodedInput] },
    });
    expect((await decode(encoded.json<{ payloads: unknown[] }>().payloads)).json()).toEqual({
      payloads: [decodedInput],
    });
  });

  it('passes through plaintext payloads and answers 400 for one it cannot decrypt', async () => {
    const plain = { metadata: { encoding: base64(Buffer.from('json/plain')) }, data: base64(Buffer.from('"x"')) };
    expect((await decode([plain])).json()).toEqual({ payloads: [plain] });
    const unknownKey = { metadata: { [ENCRYPTION_KEY_ID]: base64(Buffer.from('gone')) }, data: plain.data };
    const refused = await decode([unknownKey]);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/^payloads: payload encrypted with key gone/);
  });

  it("answers CORS for the Temporal UI's origin only", async () => {
    const uiOrigin = new URL(stack.config.env.TEMPORAL_UI_URL).origin;
    const preflight = (origin: string) =>
      stack.app.inject({
        method: 'OPTIONS',
        url: '/codec/decode',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-namespace' },
      });
    const allowed = await preflight(uiOrigin);
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': uiOrigin,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': expect.stringContaining('x-namespace'),
    });
    const other = await preflight('http://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const answer = await decode([], { origin: uiOrigin });
    expect(answer.headers['access-control-allow-origin']).toBe(uiOrigin);
  });

  it('wants an API key when API keys are on, except for the preflight', async () => {
    const app = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, API_KEYS: [`${testApiKey('codec')}:codec`] } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    try {
      const post = (headers: Record<string, string>) =>
        app.inject({ method: 'POST', url: '/codec/decode', headers, payload: { payloads: [] } });
      expect((await post({})).statusCode).toBe(401);
      expect((await post({ authorization: `Bearer ${testApiKey('codec')}` })).statusCode).toBe(200);
      const preflight = await app.inject({ method: 'OPTIONS', url: '/codec/decode' });
      expect(preflight.statusCode).toBe(204);
    } finally {
      await app.close();
    }
  });
});
