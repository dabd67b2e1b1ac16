import { simMessages, waitFor } from '../support/fixtures';
import {
  extraMessages,
  http,
  insertAudience,
  perAddress,
  simCount,
  waitForSend,
  type HttpAnswer,
} from '../support/http-sends';
import { PRODUCTION_FAN_OUT, startTestStack, type TestStack } from '../support/test-stack';

const RECIPIENTS = 1000;
const SHUTDOWN_GRACE_MS = 1000;
const SHUTDOWN_DELAY_MS = 1500;

/**
 * SIGTERM, as an orchestrator stops a process for a deploy (docs/operations.md "Graceful restarts"): the worker polls
 * no new task, lets its activities run for `worker.shutdownGraceMs`, then cancels them, and each dispatch records what
 * it sent and leaves the rest to the next worker; the API turns readiness to 503, lets the requests in flight answer,
 * and exits. A send of 2 000 deliveries across both restarts loses nothing and sends nothing twice.
 */
describe('graceful restarts', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      fanOut: PRODUCTION_FAN_OUT,
      service: {
        // Paced, so that the send is still running when the signals come, whatever the machine's speed.
        rateLimits: { sms: { perSecond: 150 }, push: { perSecond: 150 } },
        worker: { shutdownGraceMs: SHUTDOWN_GRACE_MS },
        api: { shutdownDelayMs: SHUTDOWN_DELAY_MS },
      },
    });
  }, 60000);
  afterAll(() => stack?.close(), 60000);

  it('SIGTERM to the worker and to the API mid-send: every delivery sent once, the answer in flight given', async () => {
    const audience = await insertAudience(stack, 'graceful', RECIPIENTS, 'graceful');
    await insertAudience(stack, 'waiting', 3, 'waiting');
    const firstWorker = await stack.spawnWorkerProcess();
    const firstApi = await stack.spawnApiProcess();

    const big = await http<{ sendId: string }>(
      firstApi.url,
      'POST',
      '/send',
      { channels: ['sms', 'push'], clusters: ['graceful'], messageTitle: 'Hi', messageContent: 'Hello {{user.name}}' },
      { prefer: 'respond-async' },
    );
    expect(big.status).toBe(202);
    const { sendId } = big.body;
    await waitFor(async () => (await simCount(stack, 'sms')) + (await simCount(stack, 'push')) >= 300, 60000);

    // The worker: stopped mid-send, it exits within its grace period (plus the time to record what it sent).
    const signalledAt = Date.now();
    const workerExit = new Promise<number | null>((resolve) => firstWorker.child.once('exit', resolve));
    firstWorker.child.kill('SIGTERM');
    const secondWorker = await stack.spawnWorkerProcess();
    const workerExitCode = await workerExit;
    const workerStopMs = Date.now() - signalledAt;

    // The API: a POST /send waiting for its result when SIGTERM comes still gets its answer, and readiness turns
    // 503 before the port closes.
    // By email: the phone numbers of insertAudience repeat from one cluster to the next, and sms are counted above.
    const waiting = http(firstApi.url, 'POST', '/send', {
      channels: ['email'],
      clusters: ['waiting'],
      messageTitle: 'Hi',
      messageContent: 'Wait for me',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const apiExit = new Promise<number | null>((resolve) => firstApi.process.child.once('exit', resolve));
    firstApi.process.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DELAY_MS / 3));
    const readiness = await http(firstApi.url, 'GET', '/-/ready');
    const answerInFlight: HttpAnswer<unknown> = await waiting;
    const apiExitCode = await apiExit;
    const secondApi = await stack.spawnApiProcess();

    const done = await waitForSend(() => secondApi.url, sendId, 120000);
    const sms = perAddress(await simMessages(stack, 'channel=sms'));
    const push = perAddress(await simMessages(stack, 'channel=push'));
    const duplicates = extraMessages(sms) + extraMessages(push);
    console.log(
      `graceful: deliveries=${2 * RECIPIENTS} sent=${(done.counts.sms?.sent ?? 0) + (done.counts.push?.sent ?? 0)} ` +
        `duplicates=${duplicates} workerStopMs=${workerStopMs} workerExit=${workerExitCode} ` +
        `readinessWhileDraining=${readiness.status} answerInFlight=${answerInFlight.status} apiExit=${apiExitCode}`,
    );

    expect({ workerExitCode, apiExitCode, readiness: readiness.status }).toEqual({
      workerExitCode: 0,
      apiExitCode: 0,
      readiness: 503,
    });
    expect([200, 202]).toContain(answerInFlight.status);
    expect(workerStopMs).toBeLessThan(SHUTDOWN_GRACE_MS + 15000);
    expect(done).toMatchObject({
      status: 'completed',
      counts: { sms: { sent: RECIPIENTS }, push: { sent: RECIPIENTS } },
    });
    expect(new Set(audience.map((user) => user.phoneNumber))).toEqual(new Set(sms.keys()));
    expect(push.size).toBe(RECIPIENTS);
    // The stopping worker recorded every message it sent before it exited: nothing is sent twice.
    expect(duplicates).toBe(0);
    await secondWorker.stop();
    await secondApi.process.stop();
  }, 240000);
});
