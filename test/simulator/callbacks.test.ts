import { request } from 'undici';
import { callbackSignature } from '../../common/http/webhook-urls';
import { RunningSimulator, startSimulator } from '../../simulator';
import { CallbackCatcher } from '../../simulator/callbacks';
import { call, reset } from './helpers';

let sim: RunningSimulator;
let base: string;

beforeAll(async () => {
  sim = await startSimulator({ httpPort: 0, smtpPort: 0 });
  base = sim.httpUrl;
});

afterAll(async () => {
  await sim.close();
});

beforeEach(async () => {
  await reset(base);
  await call(`${base}/callbacks`, { method: 'DELETE' });
});

/** Posts `body` as it is, with these headers, and returns the status. */
async function post(path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${base}${path}`, { method: 'POST', headers, body });
  await res.body.text();
  return res.statusCode;
}

async function caught(query = ''): Promise<Array<Record<string, unknown>>> {
  const res = await call(`${base}/callbacks${query}`);
  expect(res.status).toBe(200);
  return res.body.callbacks;
}

const SECRET = 'callback-secret';

/** A callback as the service posts it: JSON, signed over the raw body with its timestamp. */
function signedCallback(payload: string, timestamp = '1767225600') {
  return {
    'content-type': 'application/json',
    'x-timestamp': timestamp,
    'x-signature': callbackSignature(SECRET, timestamp, payload),
    'user-agent': 'messaging-service-callbacks',
    'x-request-id': 'not kept',
  };
}

describe('callback catcher', () => {
  it('records a signed JSON callback with its raw body byte for byte, so the signature verifies', async () => {
    // Spacing, key order and a non-ASCII character that re-serialising the JSON would change.
    const payload = '{ "status":"delivered",  "to": "+15550100", "note": "café ✓", "meta": {"b":1,"a":2} }';
    const headers = signedCallback(payload);
    expect(await post('/callbacks/orders', payload, headers)).toBe(204);

    const [record] = await caught();
    expect(record).toMatchObject({ name: 'orders', answered: 204, body: payload });
    expect(record.headers).toEqual({
      'content-type': 'application/json',
      'x-timestamp': '1767225600',
      'x-signature': headers['x-signature'],
      'user-agent': 'messaging-service-callbacks',
    });
    expect(new Date(record.receivedAt as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // What a receiver does: the signature over the timestamp and the body it got.
    expect(callbackSignature(SECRET, '1767225600', record.body as string)).toBe(headers['x-signature']);
  });

  it('takes any body and content type, names POST /callbacks "default", and lists newest last by name', async () => {
    expect(await post('/callbacks', 'plain words', { 'content-type': 'text/plain' })).toBe(204);
    expect(await post('/callbacks/forms', 'a=1&b=two', { 'content-type': 'application/x-www-form-urlencoded' })).toBe(
      204,
    );
    expect(await post('/callbacks/forms', '{not json', { 'content-type': 'application/json' })).toBe(204);
    expect(await post('/callbacks/forms', undefined)).toBe(204);
    expect(await post('/callbacks/xml', '<a/>', { 'content-type': 'application/xml; charset=utf-8' })).toBe(204);

    const all = await caught();
    expect(all.map((c) => [c.name, c.body])).toEqual([
      ['default', 'plain words'],
      ['forms', 'a=1&b=two'],
      ['forms', '{not json'],
      ['forms', ''],
      ['xml', '<a/>'],
    ]);
    const seqs = all.map((c) => c.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((await caught('?name=forms')).map((c) => c.body)).toEqual(['a=1&b=two', '{not json', '']);
    expect((await caught('?name=default')).map((c) => c.body)).toEqual(['plain words']);
    expect((await caught('?name=forms&limit=1')).map((c) => c.body)).toEqual(['']);
    expect(await caught('?name=nobody')).toEqual([]);
    expect((await call(`${base}/callbacks?limit=-1`)).status).toBe(400);
  });

  it('leaves the other routes their own body parsing', async () => {
    // POST /faults, outside the catcher's scope, still gets parsed JSON.
    const res = await call(`${base}/faults`, { json: { target: 'sms', failNext: 1 } });
    expect(res.status).toBe(200);
    expect(res.body.faults.sms.failNext).toBe(1);
  });

  it('is cleared by DELETE /callbacks and by DELETE /messages', async () => {
    await post('/callbacks/a', '{"status":"sent"}', { 'content-type': 'application/json' });
    expect(await caught()).toHaveLength(1);
    expect((await call(`${base}/callbacks`, { method: 'DELETE' })).status).toBe(204);
    expect(await caught()).toEqual([]);

    await post('/callbacks/a', '{"status":"sent"}', { 'content-type': 'application/json' });
    expect(await caught()).toHaveLength(1);
    expect((await call(`${base}/messages`, { method: 'DELETE' })).status).toBe(204);
    expect(await caught()).toEqual([]);
  });

  it('answers the next N calls of a name with the fault status, recording them, then 204 again', async () => {
    const set = await call(`${base}/callbacks/faults`, {
      method: 'PUT',
      json: { name: 'orders', failNext: 2, status: 500 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ faults: { orders: { failNext: 2, status: 500 } } });

    const body = '{"status":"delivered"}';
    expect(await post('/callbacks/orders', body, { 'content-type': 'application/json' })).toBe(500);
    expect(await post('/callbacks/other', body, { 'content-type': 'application/json' })).toBe(204);
    expect((await call(`${base}/callbacks/faults`)).body).toEqual({ faults: { orders: { failNext: 1, status: 500 } } });
    expect(await post('/callbacks/orders', body, { 'content-type': 'application/json' })).toBe(500);
    expect(await post('/callbacks/orders', body, { 'content-type': 'application/json' })).toBe(204);
    expect((await call(`${base}/callbacks/faults`)).body).toEqual({ faults: {} });
    expect((await caught('?name=orders')).map((c) => c.answered)).toEqual([500, 500, 204]);

    // The status defaults to 503, and the name to "default" (POST /callbacks).
    await call(`${base}/callbacks/faults`, { method: 'PUT', json: { failNext: 1 } });
    expect(await post('/callbacks', body, { 'content-type': 'application/json' })).toBe(503);
    expect(await post('/callbacks', body, { 'content-type': 'application/json' })).toBe(204);
  });

  it('validates faults, removes one with failNext 0, and drops them on DELETE /faults and DELETE /callbacks', async () => {
    const put = (json: unknown) => call(`${base}/callbacks/faults`, { method: 'PUT', json });
    expect((await put({ name: 'a', failNext: 1, status: 200 })).status).toBe(400);
    expect((await put({ name: 'a', failNext: -1 })).status).toBe(400);
    expect((await put({ name: 'a', failNext: 1, drop: true })).status).toBe(400);
    expect((await put({ name: 'a', status: 500 })).status).toBe(400);
    const notJson = await request(`${base}/callbacks/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(notJson.statusCode).toBe(400);
    await notJson.body.text();

    await put({ name: 'a', failNext: 3 });
    await put({ name: 'b', failNext: 3 });
    expect((await put({ name: 'a', failNext: 0 })).body).toEqual({ faults: { b: { failNext: 3, status: 503 } } });
    expect(await post('/callbacks/a', 'x')).toBe(204);

    await call(`${base}/faults?target=sms`, { method: 'DELETE' });
    expect(Object.keys((await call(`${base}/callbacks/faults`)).body.faults)).toEqual(['b']);
    await call(`${base}/faults`, { method: 'DELETE' });
    expect((await call(`${base}/callbacks/faults`)).body.faults).toEqual({});
    expect(await post('/callbacks/b', 'x')).toBe(204);

    await put({ name: 'b', failNext: 3 });
    await call(`${base}/callbacks`, { method: 'DELETE' });
    expect((await call(`${base}/callbacks/faults`)).body.faults).toEqual({});
  });

  it('shows the last callbacks in the inbox: name, body status, signed or not, answer; HTML-escaped', async () => {
    const payload = '{"status":"<b>read</b>","to":"+15550100"}';
    expect(await post(`/callbacks/${encodeURIComponent('<i>orders</i>')}`, payload, signedCallback(payload))).toBe(204);
    expect(await post('/callbacks/plain', 'no json here', { 'content-type': 'text/plain' })).toBe(204);
    const res = await request(`${base}/`);
    const html = await res.body.text();
    expect(res.statusCode).toBe(200);
    const section = html.slice(html.indexOf('<h2>Callbacks caught'));
    expect(section).toContain('(2)');
    expect(section).toContain(
      '<td>&lt;i&gt;orders&lt;/i&gt;</td><td>&lt;b&gt;read&lt;/b&gt;</td><td>yes</td><td>204</td>',
    );
    expect(section).toContain('<td>plain</td><td></td><td>no</td><td>204</td>');
    // Newest first, like the other tables.
    expect(section.indexOf('plain')).toBeLessThan(section.indexOf('orders'));
    expect(html).not.toContain('<i>orders');
  });
});

describe('CallbackCatcher', () => {
  it('keeps only the newest calls beyond its bound', () => {
    const catcher = new CallbackCatcher(3);
    for (const body of ['1', '2', '3', '4', '5']) catcher.catch('n', {}, body);
    expect(catcher.size).toBe(3);
    expect(catcher.query().map((c) => c.body)).toEqual(['3', '4', '5']);
    expect(catcher.query('n', 2).map((c) => c.body)).toEqual(['4', '5']);
  });
});
