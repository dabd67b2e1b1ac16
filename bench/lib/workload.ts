import { randomBytes } from 'node:crypto';
import { ObjectId, type Collection } from 'mongodb';
import type { Channel } from '../../common/config/config';
import { serviceConfigSchema } from '../../providers/service-configuration';
import type { DeliveryDocument } from '../../common/domain/send-types';
import type { UserDocument } from '../../common/store/users-repository';

/** The users every fan-out reaches, and the cluster the API-latency sends target (it has no users). */
export const BENCH_CLUSTER = 'bench';
export const EMPTY_CLUSTER = 'bench-empty';
/** Users that are only there to make the store large (the small-send figures of a quick run). */
export const OTHER_CLUSTER = 'bench-other';
/** Every bench user is also in the cluster of its block of 1000 (`bench-k0` holds users 0-999): smaller audiences. */
export const BLOCK_SIZE = 1000;
export const blockClusters = (users: number): string[] =>
  Array.from({ length: Math.ceil(users / BLOCK_SIZE) }, (_, block) => `bench-k${block}`);
export const CHANNELS: Channel[] = ['email', 'sms', 'push'];

/** One send as a user would post it: interpolation of a user field and a data field on every channel. */
export const SEND_BODY = {
  channels: CHANNELS,
  clusters: [BENCH_CLUSTER],
  messageTitle: 'Hello {{user.firstName}}',
  messageContent: 'Hi {{user.firstName}}, your code is {{data.code}}. See you soon!',
  data: { code: '4242' },
};

/** A one-time code to one user by id on one channel: the small send of `small-send-ms` (bench/README.md). */
export const smallSendBody = (userId: string, code: string) => ({
  channels: ['sms'] as Channel[],
  recipients: [userId],
  messageTitle: 'Your code',
  messageContent: 'Hi {{user.firstName}}, your code is {{data.code}}',
  data: { code },
});

/** The production defaults of `fanOut` and `worker` (the configuration's own): the bench measures what users get. */
export const { fanOut: DEFAULT_FAN_OUT, worker: DEFAULT_WORKER } = serviceConfigSchema.parse({
  activeChannels: CHANNELS,
});

/** Dispatch activities one send keeps in flight (send-message.ts: `dispatchWindow`, else a page and a half). */
export const DISPATCH_WINDOW =
  (DEFAULT_FAN_OUT as { dispatchWindow?: number }).dispatchWindow ??
  Math.ceil(1.5 * CHANNELS.length * Math.ceil(DEFAULT_FAN_OUT.pageSize / DEFAULT_FAN_OUT.chunkSize));

/**
 * Provider calls the worker can have in flight: every activity of a page runs at once (3 channels × pageSize /
 * chunkSize activities, capped by the worker's activity slots), each with 16 calls in flight
 * (activities/dispatch/dispatch-deliveries.ts CALLS_IN_FLIGHT). The baseline uses the same number so the ratio
 * measures overhead, not a different degree of parallelism.
 */
export const WORKER_CONCURRENCY =
  Math.min(
    DEFAULT_WORKER.maxConcurrentActivities,
    CHANNELS.length * Math.ceil(DEFAULT_FAN_OUT.pageSize / DEFAULT_FAN_OUT.chunkSize),
  ) * 16;

/**
 * Activity slots of a worker whose concurrency is halved: half of what one send can use of one worker (its
 * activity slots or the send's dispatch window, whichever is smaller), so two such workers together have what
 * one full worker uses.
 */
export const HALF_WORKER_SLOTS = Math.max(
  1,
  Math.ceil(Math.min(DEFAULT_WORKER.maxConcurrentActivities, DISPATCH_WINDOW) / 2),
);

/** A seeded user the small sends may address: its id and the number the simulator records it under. */
export interface SeededUser {
  id: string;
  phoneNumber: string;
}

const SEED_BATCH = 1000;

/**
 * Inserts users `from`..`to-1` (index = position in the store: numbers and addresses stay unique) in batches of
 * 1000, in `cluster` and in the cluster of their block of 1000. Ids are made here so the bench knows them.
 */
export async function seedUsers(
  users: Collection<UserDocument>,
  from: number,
  to: number,
  cluster = BENCH_CLUSTER,
): Promise<{ seconds: number; seeded: SeededUser[] }> {
  const started = performance.now();
  const seeded: SeededUser[] = [];
  for (let start = from; start < to; start += SEED_BATCH) {
    const batch: UserDocument[] = [];
    for (let index = start; index < Math.min(to, start + SEED_BATCH); index++) {
      const _id = new ObjectId();
      // E.164-shaped like real numbers; 7 digits after the prefix keep every index unique.
      const phoneNumber = `+1555${String(index).padStart(7, '0')}`;
      batch.push({
        _id,
        firstName: `User${index}`,
        emailAddress: `user${index}@bench.example.com`,
        phoneNumber,
        deviceToken: `bench-token-${index}`,
        clusters: cluster === BENCH_CLUSTER ? [cluster, `bench-k${Math.floor(index / BLOCK_SIZE)}`] : [cluster],
      });
      seeded.push({ id: _id.toHexString(), phoneNumber });
    }
    await users.insertMany(batch, { ordered: false });
  }
  return { seconds: (performance.now() - started) / 1000, seeded };
}

const LEDGER_BATCH = 5000;
const LEDGER_SEND_SIZE = 10_000;

/**
 * Inserts `count` ledger entries of finished sends straight into the deliveries collection (not through sends): sends
 * of 10k users × email, sms and push, every entry as `DeliveriesRepository.record` writes a sent delivery. Returns
 * seconds.
 */
export async function seedLedger(deliveries: Collection<DeliveryDocument>, count: number): Promise<number> {
  const started = performance.now();
  const now = new Date();
  const tag = randomBytes(4).toString('hex');
  let batch: DeliveryDocument[] = [];
  const pending: Promise<unknown>[] = [];
  let userId = '';
  for (let index = 0; index < count; index++) {
    const send = Math.floor(index / (LEDGER_SEND_SIZE * CHANNELS.length));
    const sendId = `send-seeded-${tag}-${send}`;
    const channel = CHANNELS[index % CHANNELS.length];
    if (index % CHANNELS.length === 0) userId = new ObjectId().toHexString();
    batch.push({
      _id: `${sendId}|${channel}|${userId}`,
      sendId,
      userId,
      channel,
      status: 'sent',
      attempts: 1,
      permanent: false,
      providerMessageId: `seeded-${index}`,
      createdAt: now,
      updatedAt: now,
      sentAt: now,
    });
    if (batch.length === LEDGER_BATCH || index === count - 1) {
      pending.push(deliveries.insertMany(batch, { ordered: false }));
      batch = [];
      // Two batches in flight: the store's writer stays busy without a backlog in the driver.
      if (pending.length >= 2) await pending.shift();
    }
  }
  await Promise.all(pending);
  return (performance.now() - started) / 1000;
}
