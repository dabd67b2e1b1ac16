import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { DeliveryReportsRepository } from '../../common/store/messaging/delivery-reports-repository';
import { reportWebhookUrl, webhookToken } from '../../common/http/webhook-urls';
import { startTestStack, type TestStack } from '../support/test-stack';

const REPORTS_PATH = '/webhooks/infobip/reports';

/**
 * The delivery report webhook on the real store: a registered provider's report URL
 * carries a token of its own that moves only the messages it sent; `WEBHOOK_SECRET` rotates; a report that comes
 * before its message's provider id is stored is kept and applied when it is.
 */
describe('POST /webhooks/infobip/reports: who may report what', () => {
  let stack: TestStack;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await stack?.close();
  });

  /** A sent ledger entry of a `/messages` request whose provider id is remembered as sent through `providerName`. */
  async function sentMessage(providerName: string | null | undefined) {
    const requestId = `req-${randomUUID()}`;
    const deliveryKey = `${requestId}|whatsapp|0/0`;
    const providerMessageId = `pm-${randomUUID()}`;
    await stack.database.deliveries.insertOne({
      _id: deliveryKey,
      sendId: requestId,
      userId: '0/0',
      channel: 'whatsapp',
      status: 'sent',
      attempts: 1,
      providerMessageId,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    await stack.database.providerMessages.insertOne({
      _id: `infobip:${providerMessageId}` as never,
      requestId,
      deliveryKey,
      // undefined: a document written before reports were matched to their sender.
      ...(providerName !== undefined ? { providerName } : {}),
      createdAt: new Date(),
    });
    return { deliveryKey, providerMessageId };
  }

  const statusOf = async (deliveryKey: string) =>
    (await stack.database.deliveries.findOne({ _id: deliveryKey }))?.status;

  /** Posts a DELIVERED report of `providerMessageId` to `url` (absolute, as issued, or a path and query). */
  const report = (app: FastifyInstance, url: string, providerMessageId: string) => {
    const { pathname, search } = new URL(url, 'http://localhost');
    return app.inject({
      method: 'POST',
      url: `${pathname}${search}`,
      payload: { results: [{ messageId: providerMessageId, status: { groupName: 'DELIVERED' } }] },
    });
  };

  it("moves a registered provider's message by its own URL only, never by another provider's or the configured one's", async () => {
    const { env } = stack.config;
    const { deliveryKey, providerMessageId } = await sentMessage('tenant a');
    // Another tenant's provider knows its own report URL (the one sent along with its messages), and the configured
    // provider's is the path's token.
    for (const url of [reportWebhookUrl(env, REPORTS_PATH, 'tenant b'), reportWebhookUrl(env, REPORTS_PATH, null)]) {
      expect((await report(stack.app, url, providerMessageId)).statusCode).toBe(204);
      expect(await statusOf(deliveryKey)).toBe('sent');
    }
    // A provider name with another provider's token proves nothing.
    const forged = `${REPORTS_PATH}?token=${webhookToken(env, REPORTS_PATH, 'tenant b')}&provider=tenant%20a`;
    expect((await report(stack.app, forged, providerMessageId)).statusCode).toBe(401);
    expect(
      (await report(stack.app, reportWebhookUrl(env, REPORTS_PATH, 'tenant a'), providerMessageId)).statusCode,
    ).toBe(204);
    expect(await statusOf(deliveryKey)).toBe('delivered');
  });

  it("gives each registered provider a token of its own, never the configured provider's", () => {
    const { env } = stack.config;
    const tokenOf = (url: string) => new URL(url).searchParams.get('token');
    const configured = tokenOf(reportWebhookUrl(env, REPORTS_PATH, null));
    const a = tokenOf(reportWebhookUrl(env, REPORTS_PATH, 'tenant a'));
    const b = tokenOf(reportWebhookUrl(env, REPORTS_PATH, 'tenant b'));
    expect(new Set([configured, a, b]).size).toBe(3);
    expect(new URL(reportWebhookUrl(env, REPORTS_PATH, 'tenant a')).searchParams.get('provider')).toBe('tenant a');
  });

  it('keeps URLs issued before tokens were per provider working for the messages remembered before', async () => {
    const legacyUrl = `${REPORTS_PATH}?token=${webhookToken(stack.config.env, REPORTS_PATH)}&provider=tenant%20a`;
    const before = await sentMessage(undefined);
    expect((await report(stack.app, legacyUrl, before.providerMessageId)).statusCode).toBe(204);
    expect(await statusOf(before.deliveryKey)).toBe('delivered');
    // ...but not for one remembered since as another provider's.
    const since = await sentMessage('tenant a');
    expect((await report(stack.app, legacyUrl, since.providerMessageId)).statusCode).toBe(204);
    expect(await statusOf(since.deliveryKey)).toBe('sent');
  });

  it('rotates WEBHOOK_SECRET: the first issues, every listed one verifies, a dropped one is refused', async () => {
    const oldSecret = stack.config.env.WEBHOOK_SECRET!;
    const newSecret = 'the-new-webhook-secret-0123456789';
    const rotated = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, WEBHOOK_SECRET: `${newSecret}, ${oldSecret}` } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    const dropped = await buildApp({
      config: { ...stack.config, env: { ...stack.config.env, WEBHOOK_SECRET: newSecret } },
      database: stack.database,
      temporal: stack.temporal,
      logger: false,
    });
    apps.push(rotated, dropped);
    const oldUrl = reportWebhookUrl({ ...stack.config.env, WEBHOOK_SECRET: oldSecret }, REPORTS_PATH, 'tenant a');
    const newUrl = reportWebhookUrl(
      { ...stack.config.env, WEBHOOK_SECRET: `${newSecret},${oldSecret}` },
      REPORTS_PATH,
      'tenant a',
    );
    expect(newUrl).toBe(reportWebhookUrl({ ...stack.config.env, WEBHOOK_SECRET: newSecret }, REPORTS_PATH, 'tenant a'));
    const first = await sentMessage('tenant a');
    expect((await report(rotated, oldUrl, first.providerMessageId)).statusCode).toBe(204);
    expect(await statusOf(first.deliveryKey)).toBe('delivered');
    const second = await sentMessage('tenant a');
    expect((await report(rotated, newUrl, second.providerMessageId)).statusCode).toBe(204);
    expect(await statusOf(second.deliveryKey)).toBe('delivered');
    const third = await sentMessage('tenant a');
    expect((await report(dropped, oldUrl, third.providerMessageId)).statusCode).toBe(401);
    expect(await statusOf(third.deliveryKey)).toBe('sent');
  });

  it('keeps a report that comes before its provider id is stored, and applies it when the id is, for its sender only', async () => {
    const { env } = stack.config;
    const reports = new DeliveryReportsRepository(stack.database);
    const requestId = `req-${randomUUID()}`;
    const entry = (n: number) => ({
      _id: `${requestId}|whatsapp|${n}/0`,
      sendId: requestId,
      userId: `${n}/0`,
      channel: 'whatsapp' as const,
      status: 'sent' as const,
      attempts: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    const early = `pm-${randomUUID()}`;
    const foreign = `pm-${randomUUID()}`;
    // The provider answers the webhook before the batch has stored what it sent.
    expect((await report(stack.app, reportWebhookUrl(env, REPORTS_PATH, 'tenant a'), early)).statusCode).toBe(204);
    expect((await report(stack.app, reportWebhookUrl(env, REPORTS_PATH, 'tenant b'), foreign)).statusCode).toBe(204);
    await stack.database.deliveries.insertMany([entry(0), entry(1)]);
    const applied = await reports.remember(requestId, [
      { provider: 'infobip', providerMessageId: early, deliveryKey: entry(0)._id, providerName: 'tenant a' },
      { provider: 'infobip', providerMessageId: foreign, deliveryKey: entry(1)._id, providerName: 'tenant a' },
    ]);
    expect(applied).toEqual([
      {
        deliveryKey: entry(0)._id,
        report: { provider: 'infobip', providerMessageId: early, status: 'delivered', sender: 'tenant a' },
      },
    ]);
    expect(await statusOf(entry(0)._id)).toBe('delivered');
    expect(await statusOf(entry(1)._id)).toBe('sent');
    // Remembered again (a retried batch): nothing applied twice; later reports move the entry as usual.
    expect(
      await reports.remember(requestId, [
        { provider: 'infobip', providerMessageId: early, deliveryKey: entry(0)._id, providerName: 'tenant a' },
      ]),
    ).toEqual([]);
    const seen = await stack.app.inject({
      method: 'POST',
      url:
        new URL(reportWebhookUrl(env, REPORTS_PATH, 'tenant a')).pathname +
        new URL(reportWebhookUrl(env, REPORTS_PATH, 'tenant a')).search,
      payload: { results: [{ messageId: early, seenAt: '2026-01-31T12:00:01.000+0000' }] },
    });
    expect(seen.statusCode).toBe(204);
    expect(await statusOf(entry(0)._id)).toBe('read');
  });
});
