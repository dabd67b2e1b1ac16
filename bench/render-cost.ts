import { ObjectId } from 'mongodb';
import { performance } from 'node:perf_hooks';
import { CompiledContent } from '../common/rendering/message-content';
import { RenderPool } from '../common/rendering/render-pool';
import { MessageRenderer } from '../common/rendering/rendering';
import type { SendRequest } from '../common/domain/send-types';
import { CHANNELS, SEND_BODY } from './lib/workload';

/**
 * What rendering a fan-out costs in this process (as the worker rendered before docs/api.md "Rendering" moved it to
 * threads) and through the render pool, for the bench's send body: `npx tsx bench/render-cost.ts [users] [batch]`.
 * Prints, per message, the wall time, this thread's busy time (event-loop utilization: what heartbeats and provider
 * calls compete with) and the process's CPU (all threads).
 */

const USERS = Number(process.argv[2] ?? 20_000);
const BATCH = Number(process.argv[3] ?? 250);
/** Batches in flight at once, as a worker runs several dispatch activities. */
const IN_FLIGHT = 3;

const request: SendRequest = {
  ...SEND_BODY,
  recipients: [],
  emailAttachments: [],
  emailCarbonCopies: [],
  emailBlindCarbonCopies: [],
};
const users = Array.from({ length: USERS }, (_, index) => ({
  _id: new ObjectId(),
  firstName: `User${index}`,
  lastName: 'Bench',
  emailAddress: `user${index}@example.com`,
  phoneNumber: `+39333${String(index).padStart(7, '0')}`,
  deviceToken: `token-${index}`,
  clusters: ['bench'],
}));
const batches: (typeof users)[] = [];
for (let at = 0; at < users.length; at += BATCH) batches.push(users.slice(at, at + BATCH));

async function measure(name: string, run: () => Promise<number>): Promise<void> {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  const messages = await run();
  const wallMs = performance.now() - started;
  const busyMs = performance.eventLoopUtilization(elu).active;
  const { user, system } = process.cpuUsage(cpu);
  const perMessage = (ms: number) => ((ms * 1000) / messages).toFixed(2);
  console.log(
    JSON.stringify({
      name,
      messages,
      wallUsPerMessage: perMessage(wallMs),
      mainThreadBusyUsPerMessage: perMessage(busyMs),
      processCpuUsPerMessage: perMessage((user + system) / 1000),
    }),
  );
}

async function main(): Promise<void> {
  const content = new CompiledContent(request, null, new MessageRenderer('en'));
  const pool = new RenderPool({ locale: 'en', timeoutMs: 1000, maxOutputBytes: 1024 * 1024 });
  // Thread start-up and first compiles are paid once per worker process, not per send.
  for (const channel of CHANNELS) await content.renderAll(pool, channel, users.slice(0, 10), request.data);
  for (const channel of CHANNELS) users.slice(0, 10).forEach((user) => content.render(channel, { user, data: {} }));

  for (let round = 1; round <= 3; round++) {
    await measure(`in-process (round ${round})`, async () => {
      let count = 0;
      for (const batch of batches) {
        for (const channel of CHANNELS) {
          for (const user of batch) {
            content.render(channel, { user, data: request.data });
            count++;
          }
          // The worker yields between batches (ledger and provider I/O); so does this loop.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return count;
    });
    await measure(`pool, ${IN_FLIGHT} batches in flight (round ${round})`, async () => {
      let count = 0;
      const work = batches.flatMap((batch) => CHANNELS.map((channel) => ({ batch, channel })));
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < work.length) {
            const { batch, channel } = work[next++];
            const rendered = await content.renderAll(pool, channel, batch, request.data);
            count += rendered.length;
          }
        }),
      );
      return count;
    });
  }
  await pool.close();
}

void main();
