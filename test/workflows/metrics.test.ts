import { freePort } from '../../scripts/local-stack';
import { TEMPORAL_SDK_METRICS } from '../../worker/metrics-server';
import { insertUsers, person } from '../support/fixtures';
import { parsePrometheusText, sampleSum } from '../support/prometheus-text';
import { startTestStack, type TestStack } from '../support/test-stack';

/**
 * docs/operations.md "Metrics": a worker process with `WORKER_METRICS_PORT` serves what it sent, by channel and
 * provider, the providers' refusal codes and the Temporal SDK's own metrics on one `/metrics`; the API counts the send
 * request.
 */
describe('metrics', () => {
  let stack: TestStack;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    stack = await startTestStack({ worker: false, env: { WORKER_METRICS_PORT: String(metricsPort) } });
    await stack.spawnWorkerProcess();
  }, 60000);
  afterAll(() => stack?.close(), 60000);

  const workerMetrics = async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).toBe(200);
    return parsePrometheusText(await response.text());
  };

  it('counts deliveries sent and failed, the refusal code and the send request; serves the SDK metrics', async () => {
    const refused = person('Refused');
    const users = await insertUsers(stack, [refused, person('Accepted')]);
    await stack.sim('POST', '/faults', { target: 'sms', rejectAddresses: [refused.phoneNumber] });

    const response = await stack.app.inject({
      method: 'POST',
      url: '/send',
      payload: { channels: ['email', 'sms'], recipients: users, messageTitle: 'T', messageContent: 'Hi {{user.name}}' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().failures).toEqual([expect.objectContaining({ channel: 'sms', code: 'TWILIO_21211' })]);

    const worker = await workerMetrics();
    const deliveries = (channel: string, provider: string, status: string) =>
      sampleSum(worker, 'messaging_deliveries_total', { channel, provider, status });
    expect({
      smsSent: deliveries('sms', 'twilio', 'sent'),
      smsFailed: deliveries('sms', 'twilio', 'failed'),
      emailSent: deliveries('email', 'smtp', 'sent'),
      emailFailed: deliveries('email', 'smtp', 'failed'),
      refusals: sampleSum(worker, 'messaging_provider_errors_total', {
        channel: 'sms',
        provider: 'twilio',
        code: 'TWILIO_21211',
      }),
    }).toEqual({ smsSent: 1, smsFailed: 1, emailSent: 2, emailFailed: 0, refusals: 1 });
    // One dispatch activity per (user, channel) in a send this small, each timed and flushed to the ledger once.
    expect(sampleSum(worker, 'messaging_dispatch_batch_duration_seconds_count', { channel: 'sms' })).toBe(2);
    expect(sampleSum(worker, 'messaging_ledger_flush_duration_seconds_count')).toBe(4);
    const names = new Set(worker.map((sample) => sample.name));
    expect(TEMPORAL_SDK_METRICS.filter((name) => !names.has(name))).toEqual([]);
    expect(names).toContain('process_cpu_seconds_total');

    const api = parsePrometheusText((await stack.app.inject({ method: 'GET', url: '/-/metrics' })).body);
    expect({
      started: sampleSum(api, 'messaging_send_requests_started_total', { route: '/send' }),
      answered: sampleSum(api, 'messaging_send_requests_answered_total', { route: '/send', status: '200' }),
      timed: sampleSum(api, 'messaging_http_request_duration_seconds_count', { method: 'POST', route: '/send' }),
    }).toEqual({ started: 1, answered: 1, timed: 1 });
  }, 60000);
});
