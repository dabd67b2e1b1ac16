import type { Collection, Document } from 'mongodb';
import type { Channel } from '../../common/config';
import { serviceConfigSchema } from '../../common/config';

/** The users every fan-out reaches, and the cluster the API-latency sends target (it has no users). */
export const BENCH_CLUSTER = 'bench';
export const EMPTY_CLUSTER = 'bench-empty';
export const CHANNELS: Channel[] = ['email', 'sms', 'push'];

/** One send as a user would post it: interpolation of a user field and a data field on every channel. */
export const SEND_BODY = {
  channels: CHANNELS,
  clusters: [BENCH_CLUSTER],
  messageTitle: 'Hello {{user.firstName}}',
  messageContent: 'Hi {{user.firstName}}, your code is {{data.code}}. See you soon!',
  data: { code: '4242' },
};

/** The production defaults of `fanOut` and `worker` (the configuration's own): the bench measures what users get. */
export const { fanOut: DEFAULT_FAN_OUT, worker: DEFAULT_WORKER } = serviceConfigSchema.parse({
  activeChannels: CHANNELS,
});

/**
 * Provider calls the worker can have in flight: every activity of a page runs at once (3 channels × pageSize /
 * chunkSize activities, capped by the worker's activity slots), each with 16 calls in flight
 * (activities/dispatch/dispatch-deliveries.ts CALLS_IN_FLIGHT). The baseline uses the same number so the ratio measures overhead,
 * not a different degree of parallelism.
 */
export const WORKER_CONCURRENCY =
  Math.min(
    DEFAULT_WORKER.maxConcurrentActivities,
    CHANNELS.length * Math.ceil(DEFAULT_FAN_OUT.pageSize / DEFAULT_FAN_OUT.chunkSize),
  ) * 16;

const SEED_BATCH = 1000;

/** Inserts users `from`..`to-1` in batches of 1000; returns the seconds it took. */
export async function seedUsers(users: Collection<Document>, from: number, to: number): Promise<number> {
  const started = performance.now();
  for (let start = from; start < to; start += SEED_BATCH) {
    const batch: Document[] = [];
    for (let index = start; index < Math.min(to, start + SEED_BATCH); index++) {
      batch.push({
        firstName: `User${index}`,
        emailAddress: `user${index}@bench.example.com`,
        // E.164-shaped like real numbers; 7 digits after the prefix keep every index unique.
        phoneNumber: `+1555${String(index).padStart(7, '0')}`,
        deviceToken: `bench-token-${index}`,
        clusters: [BENCH_CLUSTER],
      });
    }
    await users.insertMany(batch, { ordered: false });
  }
  return (performance.now() - started) / 1000;
}
