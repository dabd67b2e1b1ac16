import { request } from 'undici';
import { RunningSimulator, startSimulator } from '../../simulator';
import { basicAuth, call, fakeJwt, reset, setFault } from './helpers';

let sim: RunningSimulator;
let base: string;

const ACCOUNT = 'AC' + 'a'.repeat(32);
const twilioAuth = { authorization: basicAuth(ACCOUNT, 'auth-token') };
const messagesUrl = () => `${base}/2010-04-01/Accounts/${ACCOUNT}/Messages.json`;

function sendTwilioSms(to: string, body = 'Hello from the test') {
  return call(messagesUrl(), { headers: twilioAuth, form: { To: to, From: '+15005550006', Body: body } });
}

async function fcmToken(): Promise<string> {
  const res = await call(`${base}/token`, {
    form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: fakeJwt() },
  });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

beforeAll(async () => {
  sim = await startSimulator({ httpPort: 0, smtpPort: 0 });
  base = sim.httpUrl;
});

afterAll(async () => {
  await sim.close();
});

beforeEach(async () => {
  await reset(base);
});

describe('Twilio', () => {
  it('accepts an SMS, answers 201 like Twilio and records it', async () => {
    const res = await sendTwilioSms('+393331234567', 'Your code is 1234');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      account_sid: ACCOUNT,
      to: '+393331234567',
      from: '+15005550006',
      body: 'Your code is 1234',
      status: 'queued',
    });
    expect(res.body.sid).toMatch(/^SM[0-9a-f]{32}$/);

    const { body } = await call(`${base}/messages?channel=sms`);
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]).toMatchObject({
      id: res.body.sid,
      channel: 'sms',
      provider: 'twilio',
      to: '+393331234567',
      from: '+15005550006',
      body: 'Your code is 1234',
    });
    expect(Date.parse(body.messages[0].receivedAt)).not.toBeNaN();
  });

  it('requires basic auth with the account SID as username', async () => {
    const none = await call(messagesUrl(), { form: { To: '+1', From: '+2', Body: 'x' } });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 20003, status: 401 });
    expect(none.body.more_info).toContain('20003');

    const wrong = await call(messagesUrl(), {
      headers: { authorization: basicAuth('ACother', 'token') },
      form: { To: '+1', From: '+2', Body: 'x' },
    });
    expect(wrong.status).toBe(401);
    expect((await call(`${base}/messages/count`)).body.count).toBe(0);
    expect((await call(`${base}/stats`)).body.rejected).toBe(2);
  });

  it('fails the next call with 503 and Retry-After, then succeeds', async () => {
    await setFault(base, { target: 'sms', failNext: 1, status: 503, retryAfter: 2 });
    const failed = await sendTwilioSms('+15550001');
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBe('2');
    expect(failed.body).toMatchObject({ status: 503 });
    expect(typeof failed.body.code).toBe('number');

    const ok = await sendTwilioSms('+15550001');
    expect(ok.status).toBe(201);
    expect((await call(`${base}/messages/count?channel=sms`)).body.count).toBe(1);
    const stats = (await call(`${base}/stats`)).body;
    expect(stats).toMatchObject({ failedByFault: 1, accepted: 1, requests: { twilio: 2 } });
  });

  it('rejects a listed address permanently with code 21211', async () => {
    await setFault(base, { target: 'sms', rejectAddresses: ['+15550666'] });
    const rejected = await sendTwilioSms('+15550666');
    expect(rejected.status).toBe(400);
    expect(rejected.body).toMatchObject({ code: 21211, status: 400 });
    expect(rejected.body.message).toContain('+15550666');
    expect(rejected.body.message).toContain('is not a valid phone number');
    // Permanent: a retry is rejected too, and other numbers still go through.
    expect((await sendTwilioSms('+15550666')).status).toBe(400);
    expect((await sendTwilioSms('+15550777')).status).toBe(201);
    const { body } = await call(`${base}/messages`);
    expect(body.messages.map((m: { to: string }) => m.to)).toEqual(['+15550777']);
  });

  it('places a call and records the spoken TwiML text', async () => {
    const res = await call(`${base}/2010-04-01/Accounts/${ACCOUNT}/Calls.json`, {
      headers: twilioAuth,
      form: {
        To: '+15551112222',
        From: '+15005550006',
        Twiml: '<Response><Say>Your code is 1 2 3 &amp; 4</Say></Response>',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(res.body.status).toBe('queued');
    const { body } = await call(`${base}/messages?channel=voice`);
    expect(body.messages[0]).toMatchObject({ provider: 'twilio', to: '+15551112222', body: 'Your code is 1 2 3 & 4' });
  });
});

describe('FCM', () => {
  it('issues an OAuth token and accepts a push sent with it', async () => {
    const token = await fcmToken();
    expect(token).toMatch(/^sim-/);
    const message = {
      token: 'device-token-1',
      notification: { title: 'Hi', body: 'You have mail' },
      android: { notification: { click_action: 'OPEN_INBOX' } },
      data: { subtitle: 'Inbox', orderId: '42' },
    };
    const res = await call(`${base}/v1/projects/demo-project/messages:send`, {
      headers: { authorization: `Bearer ${token}` },
      json: { message },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toMatch(/^projects\/demo-project\/messages\/.+/);

    const { body } = await call(`${base}/messages?channel=push&to=device-token-1`);
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]).toMatchObject({
      provider: 'fcm',
      to: 'device-token-1',
      title: 'Hi',
      body: 'You have mail',
      subtitle: 'Inbox',
      data: { subtitle: 'Inbox', orderId: '42' },
      raw: message,
    });
    expect(res.body.name.endsWith(body.messages[0].id)).toBe(true);
    expect((await call(`${base}/stats`)).body.tokensIssued).toBe(1);
  });

  it('refuses a malformed assertion with invalid_grant', async () => {
    const res = await call(`${base}/token`, {
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: 'not.a-jwt' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    const noClaims = await call(`${base}/token`, {
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: fakeJwt({ scope: undefined }) },
    });
    expect(noClaims.status).toBe(400);
    expect(noClaims.body.error_description).toContain('scope');
  });

  it('answers 401 UNAUTHENTICATED without a token it issued', async () => {
    const res = await call(`${base}/v1/projects/p/messages:send`, {
      headers: { authorization: 'Bearer made-up' },
      json: { message: { token: 't', notification: { title: 'a', body: 'b' } } },
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
  });

  it('answers 404 UNREGISTERED for a rejected token and 400 INVALID_ARGUMENT without one', async () => {
    const token = await fcmToken();
    await setFault(base, { target: 'push', rejectAddresses: ['stale-token'] });
    const res = await call(`${base}/v1/projects/p/messages:send`, {
      headers: { authorization: `Bearer ${token}` },
      json: { message: { token: 'stale-token', notification: { title: 'a', body: 'b' } } },
    });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: {
        code: 404,
        message: 'Requested entity was not found.',
        status: 'NOT_FOUND',
        details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }],
      },
    });
    const missing = await call(`${base}/v1/projects/p/messages:send`, {
      headers: { authorization: `Bearer ${token}` },
      json: { message: { notification: { title: 'a', body: 'b' } } },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.status).toBe('INVALID_ARGUMENT');
    expect(missing.body.error.details[0].errorCode).toBe('INVALID_ARGUMENT');
    expect((await call(`${base}/messages/count?channel=push`)).body.count).toBe(0);
  });

  it('serves only the literal messages:send path', async () => {
    const token = await fcmToken();
    const res = await call(`${base}/v1/projects/p/messagesXsend`, {
      headers: { authorization: `Bearer ${token}` },
      json: { message: { token: 't', notification: { title: 'a', body: 'b' } } },
    });
    expect(res.status).toBe(404);
  });

  it('answers injected failures in the Google error shape', async () => {
    const token = await fcmToken();
    await setFault(base, { target: '*', failNext: 1, status: 429 });
    const res = await call(`${base}/v1/projects/p/messages:send`, {
      headers: { authorization: `Bearer ${token}` },
      json: { message: { token: 'x', notification: { title: 'a', body: 'b' } } },
    });
    expect(res.status).toBe(429);
    expect(res.body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(res.body.error.details[0].errorCode).toBe('QUOTA_EXCEEDED');
  });
});

describe('Kaleyra', () => {
  it('accepts SMS as form or JSON and requires the api-key header', async () => {
    const form = await call(`${base}/v1/HXSID/messages`, {
      headers: { 'api-key': 'key' },
      form: { to: '+919900000001', sender: 'KLRHXA', body: 'Form SMS', type: 'TXN' },
    });
    expect(form.status).toBe(202);
    expect(form.body).toMatchObject({ type: 'TXN', sender: 'KLRHXA', totalCount: 1 });
    expect(form.body.data[0]).toMatchObject({ recipient: '+919900000001' });
    const json = await call(`${base}/v1/HXSID/messages`, {
      headers: { 'api-key': 'key' },
      json: { to: '+919900000002', sender: 'KLRHXA', body: 'JSON SMS', type: 'TXN' },
    });
    expect(json.status).toBe(202);
    const noKey = await call(`${base}/v1/HXSID/messages`, { json: { to: '+91', sender: 'K', body: 'x' } });
    expect(noKey.status).toBe(401);

    const { body } = await call(`${base}/messages?provider=kaleyra`);
    expect(body.messages.map((m: { to: string; body: string }) => [m.to, m.body])).toEqual([
      ['+919900000001', 'Form SMS'],
      ['+919900000002', 'JSON SMS'],
    ]);
    expect(body.messages[0].id).toBe(form.body.data[0].message_id);
  });

  it('rejects a listed number with a Kaleyra error', async () => {
    await setFault(base, { target: 'sms', rejectAddresses: ['+919900000666'] });
    const res = await call(`${base}/v1/HXSID/messages`, {
      headers: { 'api-key': 'key' },
      form: { to: '+919900000666', sender: 'KLRHXA', body: 'x' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('E413');
  });

  it('places an outbound voice call and records its text', async () => {
    const res = await call(`${base}/v1/HXSID/voice/outbound`, {
      headers: { 'api-key': 'key' },
      form: {
        to: '+919900000003',
        bridge: '+918000000000',
        target: JSON.stringify([{ message: { text: 'Hello caller' } }]),
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'queued' });
    expect(res.body.id).toBeTruthy();
    const { body } = await call(`${base}/messages?channel=voice`);
    expect(body.messages[0]).toMatchObject({
      id: res.body.id,
      provider: 'kaleyra',
      to: '+919900000003',
      from: '+918000000000',
      body: 'Hello caller',
    });
  });
});

describe('Infobip, Mia SMS Service, Flow Manager', () => {
  it('accepts a WhatsApp text message with App auth', async () => {
    const msg = { from: '441134960000', to: '393331234567', content: { text: 'Ciao!' } };
    const unauth = await call(`${base}/whatsapp/1/message/text`, { json: msg });
    expect(unauth.status).toBe(401);
    expect(unauth.body.requestError.serviceException.messageId).toBe('UNAUTHORIZED');
    const res = await call(`${base}/whatsapp/1/message/text`, { headers: { authorization: 'App secret' }, json: msg });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      to: '393331234567',
      messageCount: 1,
      status: { groupId: 1, groupName: 'PENDING', id: 7, name: 'PENDING_ENROUTE' },
    });
    const { body } = await call(`${base}/messages?channel=whatsapp`);
    expect(body.messages[0]).toMatchObject({
      id: res.body.messageId,
      provider: 'infobip',
      to: '393331234567',
      body: 'Ciao!',
    });
  });

  it('accepts an SMS through the Mia SMS Service', async () => {
    const res = await call(`${base}/sms-service/send`, {
      json: { sender: 'Mia', receiver: '+393330000000', body: 'Hi' },
    });
    expect(res.status).toBe(200);
    const { body } = await call(`${base}/messages?provider=mia-sms-service`);
    expect(body.messages[0]).toMatchObject({ channel: 'sms', to: '+393330000000', from: 'Mia', body: 'Hi' });
  });

  it('records a Flow Manager event', async () => {
    const event = { key: 'saga-42', value: { messageLabel: 'notificationSent', messagePayload: { ok: true } } };
    const res = await call(`${base}/event`, { json: event });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    const { body } = await call(`${base}/messages?channel=event&to=saga-42`);
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]).toMatchObject({ provider: 'flow-manager', to: 'saga-42', data: event });
  });
});

describe('Files Service', () => {
  it('serves the demo files, 404s a missing one, and stores uploads', async () => {
    const pdf = await request(`${base}/download/welcome.pdf`);
    const bytes = Buffer.from(await pdf.body.arrayBuffer());
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(Number(pdf.headers['content-length'])).toBe(bytes.length);
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.toString('latin1').trimEnd().endsWith('%%EOF')).toBe(true);

    const txt = await call(`${base}/download/terms.txt`);
    expect(txt.status).toBe(200);
    expect(txt.body).toContain('Terms');

    const missing = await call(`${base}/download/nope.pdf`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });

    const content = Buffer.from([0, 1, 2, 250, 251, 252]);
    const put = await request(`${base}/files/blob.bin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
    });
    expect(put.statusCode).toBe(201);
    await put.body.dump();
    const back = await request(`${base}/download/blob.bin`);
    expect(Buffer.from(await back.body.arrayBuffer())).toEqual(content);
    expect((await call(`${base}/files/blob.bin`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${base}/download/blob.bin`)).status).toBe(404);
  });

  it('applies faults on the files target to downloads', async () => {
    await setFault(base, { target: 'files', failNext: 1, status: 500 });
    const failed = await call(`${base}/download/terms.txt`);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ statusCode: 500 });
    expect((await call(`${base}/download/terms.txt`)).status).toBe(200);
  });
});

describe('faults', () => {
  it('adds latency to the faulted channel only', async () => {
    await sendTwilioSms('+15550100'); // warm up the connection
    await setFault(base, { target: 'sms', latencyMs: 300 });
    let started = Date.now();
    expect((await sendTwilioSms('+15550101')).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    started = Date.now();
    expect((await call(`${base}/event`, { json: { key: 'k', value: { messageLabel: 'l' } } })).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(250);
  });

  it('fails every call during failForMs, then recovers', async () => {
    await setFault(base, { target: 'sms', failForMs: 300, status: 502 });
    expect((await sendTwilioSms('+15550200')).status).toBe(502);
    expect((await sendTwilioSms('+15550200')).status).toBe(502);
    expect((await call(`${base}/faults`)).body.faults.sms.failUntil).toBeDefined();
    await new Promise((r) => setTimeout(r, 350));
    expect((await sendTwilioSms('+15550200')).status).toBe(201);
  });

  it('dropNext destroys the socket without an answer', async () => {
    await setFault(base, { target: 'sms', dropNext: 1 });
    await expect(sendTwilioSms('+15550300')).rejects.toThrow();
    expect((await sendTwilioSms('+15550300')).status).toBe(201);
    expect((await call(`${base}/stats`)).body.failedByFault).toBe(1);
    expect((await call(`${base}/messages/count`)).body.count).toBe(1);
  });

  it('validates, shows and clears fault state', async () => {
    const bad = await call(`${base}/faults`, { json: { target: 'fax', failNext: 1 } });
    expect(bad.status).toBe(400);
    const set = await setFault(base, { target: 'email', failNext: 2, rejectAddresses: ['x@y.z'] });
    expect(set.body.faults.email).toMatchObject({ failNext: 2, status: 503, rejectAddresses: ['x@y.z'], dropNext: 0 });
    expect((await call(`${base}/faults`)).body.faults.email.failNext).toBe(2);
    await call(`${base}/faults`, { method: 'DELETE' });
    expect((await call(`${base}/faults`)).body.faults).toEqual({});
  });
});

describe('control API and inbox', () => {
  it('filters, limits, counts and clears messages', async () => {
    for (const to of ['+1001', '+1002', '+1001']) await sendTwilioSms(to);
    await call(`${base}/event`, { json: { key: 'k1', value: { messageLabel: 'l' } } });
    expect((await call(`${base}/messages?to=%2B1001`)).body.messages).toHaveLength(2);
    expect((await call(`${base}/messages?channel=event`)).body.messages).toHaveLength(1);
    const limited = (await call(`${base}/messages?limit=2`)).body.messages;
    expect(limited.map((m: { to: string }) => m.to)).toEqual(['+1001', 'k1']);
    expect((await call(`${base}/messages/count`)).body).toEqual({ count: 4 });
    expect((await call(`${base}/messages/count?channel=sms`)).body).toEqual({ count: 3 });
    expect((await call(`${base}/messages`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${base}/messages/count`)).body).toEqual({ count: 0 });
    expect((await call(`${base}/stats`)).body).toEqual({
      requests: {},
      accepted: 0,
      rejected: 0,
      failedByFault: 0,
      tokensIssued: 0,
    });
  });

  it('answers /healthz', async () => {
    expect((await call(`${base}/healthz`)).body).toEqual({ status: 'ok' });
  });

  it('renders the inbox with everything HTML-escaped', async () => {
    await sendTwilioSms('+15550400', '<script>alert("x")</script>');
    await call(`${base}/event`, { json: { key: '<img src=x onerror=alert(1)>', value: { messageLabel: 'l' } } });
    const res = await request(`${base}/`);
    const html = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(html).toContain('<meta http-equiv="refresh" content="3">');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('+15550400');
  });
});

describe('maxRecords', () => {
  it('keeps only the newest records', async () => {
    const small = await startSimulator({ maxRecords: 2 });
    try {
      for (const key of ['a', 'b', 'c']) {
        await call(`${small.httpUrl}/event`, { json: { key, value: { messageLabel: 'l' } } });
      }
      const { body } = await call(`${small.httpUrl}/messages`);
      expect(body.messages.map((m: { to: string }) => m.to)).toEqual(['b', 'c']);
      expect((await call(`${small.httpUrl}/stats`)).body.accepted).toBe(3);
    } finally {
      await small.close();
    }
  });
});
