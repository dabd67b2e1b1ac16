import type { Document } from 'mongodb';
import { createChannelProviders } from '../activities/providers';
import type { ProviderReceipt } from '../providers/channel-interfaces';
import { type Channel } from '../common/config/config';
import { loadConfig } from '../providers/service-configuration';
import { mapWithConcurrency } from '../common/toolkit/concurrency';
import { connectDatabase } from '../common/store/db';
import { CompiledContent, type RenderedMessage } from '../common/rendering/message-content';
import { MessageRenderer } from '../common/rendering/rendering';
import type { SendRequest } from '../common/domain/send-types';
import { sampleProcess } from './lib/proc-stats';
import { BENCH_CLUSTER, CHANNELS, SEND_BODY } from './lib/workload';

/**
 * The in-process baseline the fan-out is compared with (run as its own process, like the worker): read the
 * audience, render each (user, channel) message and call the same provider clients the worker uses, through a
 * plain promise pool of the worker's concurrency. No Temporal and no ledger: what is left is the work a send
 * cannot avoid, so fan-out ÷ baseline is the price of durability. Prints one JSON line.
 */

const ADDRESS: Record<string, string> = { email: 'emailAddress', sms: 'phoneNumber', push: 'deviceToken' };

async function main(): Promise<void> {
  const config = loadConfig();
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 480);
  const database = await connectDatabase(config, { ensureIndexes: false });
  const providers = createChannelProviders(config);
  const request: SendRequest = {
    ...SEND_BODY,
    recipients: [],
    emailAttachments: [],
    emailCarbonCopies: [],
    emailBlindCarbonCopies: [],
  };
  const content = new CompiledContent(request, null, new MessageRenderer(config.env.DEFAULT_LOCALE));
  const { sender, androidIntentAction } = config.service;

  // CPU from here on: the deliveries' work, not the process's start-up (the worker's start-up is not counted either).
  const cpuAtStart = sampleProcess(process.pid)?.cpuSeconds ?? 0;
  const started = performance.now();
  const users: Document[] = await database.users.find({ clusters: BENCH_CLUSTER }).sort({ _id: 1 }).toArray();
  const audienceReadMs = performance.now() - started;

  // Channels interleaved per user, as the worker has all three channels' activities of a page in flight at once.
  const pairs: [Document, Channel][] = users.flatMap((user) =>
    CHANNELS.map((channel): [Document, Channel] => [user, channel]),
  );
  const send = (user: Document, message: RenderedMessage): Promise<ProviderReceipt> => {
    const to = String(user[ADDRESS[message.channel]]);
    switch (message.channel) {
      case 'email':
        return providers.email.sendEmail({
          from: sender.email,
          to,
          cc: [],
          bcc: [],
          subject: message.subject,
          text: message.text,
          html: message.html,
          attachments: [],
        });
      case 'sms':
        return providers.sms.sendSms({ from: sender.sms, to, body: message.body });
      case 'push':
        return providers.push.sendPush({ token: to, title: message.title, body: message.body, androidIntentAction });
      default:
        throw new Error(`channel ${message.channel} is not benchmarked`);
    }
  };

  let failed = 0;
  let renderMs = 0;
  let firstError: string | undefined;
  await mapWithConcurrency(pairs, concurrency, async ([user, channel]) => {
    const renderStart = performance.now();
    const message = content.render(channel, { user, data: SEND_BODY.data });
    renderMs += performance.now() - renderStart;
    try {
      await send(user, message);
    } catch (error) {
      failed++;
      firstError ??= (error as Error).message;
    }
  });
  const totalMs = performance.now() - started;
  const self = sampleProcess(process.pid);
  await providers.close();
  await database.close();
  console.log(
    JSON.stringify({
      deliveries: pairs.length - failed,
      failed,
      firstError,
      concurrency,
      audienceReadMs: Math.round(audienceReadMs),
      totalMs: Math.round(totalMs),
      renderUsPerDelivery: (renderMs * 1000) / pairs.length,
      peakRssMb: self?.hwmMb,
      cpuSeconds: self ? Math.round((self.cpuSeconds - cpuAtStart) * 100) / 100 : undefined,
      processCpuSeconds: self?.cpuSeconds,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
