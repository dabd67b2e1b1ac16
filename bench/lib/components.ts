import { ObjectId } from 'mongodb';
import type { ServiceConfig } from '../../common/config';
import type { Database } from '../../common/db';
import { Ledger, type DeliveryOutcome } from '../../common/ledger';
import { UsersRepository } from '../../common/users-repository';
import { round } from './proc-stats';
import { BENCH_CLUSTER } from './workload';

export interface MongoFigures {
  users: number;
  deliveries: number;
  /** Median milliseconds of each query a send issues, at the collection sizes above. */
  medianMs: Record<string, number>;
  /**
   * MongoDB milliseconds per delivery for one dispatch chunk of 100 users on one channel, issued serially:
   * ledger states + user documents + 4 ledger flushes of 25, divided by 100.
   */
  msPerDelivery: number;
}

const RUNS = 3;

async function median(run: (index: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < RUNS; index++) {
    const started = performance.now();
    await run(index);
    times.push(performance.now() - started);
  }
  return round(times.sort((a, b) => a - b)[Math.floor(RUNS / 2)], 1);
}

/**
 * MongoDB's share of a delivery, measured with the product's own Ledger and UsersRepository against the bench's
 * store at its current size (after a fan-out): each query shape a send issues, timed alone. Run after a send so
 * that the deliveries collection has the size a real worker sees.
 */
export async function measureMongo(database: Database, userFields: ServiceConfig['userFields']): Promise<MongoFigures> {
  const ledger = new Ledger(database);
  const users = new UsersRepository(database, userFields);
  const sendId = 'bench-profile';
  const selector = { recipients: [], clusters: [BENCH_CLUSTER] };
  const first = await users.audiencePage(selector, null, 1000);
  const ids = first.userIds;
  const chunk = (index: number) => ids.slice(index * 100, index * 100 + 100);
  const outcomes = (index: number, channel: 'sms' | 'push'): DeliveryOutcome[] =>
    ids.slice(index * 25, index * 25 + 25).map((userId) => ({ userId, channel, status: 'sent', attempted: true }));

  const medianMs: Record<string, number> = {
    'audiencePage(1000)': await median(() => users.audiencePage(selector, first.next, 1000)),
    'users.byIds(100)': await median((index) => users.byIds(chunk(index))),
    'ledger.deliveryStates(100)': await median((index) => ledger.deliveryStates(sendId, 'sms', chunk(index))),
    'ledger.record(25 new, upserts)': await median((index) => ledger.record(sendId, outcomes(index, 'sms'))),
    'ledger.record(25 existing)': await median((index) => ledger.record(sendId, outcomes(index, 'sms'))),
    // The alternative suggested in the README: plain inserts for deliveries the dispatch knows are new.
    'deliveries.insertMany(25 new)': await median((index) =>
      database.deliveries.insertMany(
        outcomes(index, 'push').map((outcome) => ({
          _id: `${sendId}|push|${outcome.userId}`,
          sendId,
          userId: outcome.userId,
          channel: outcome.channel,
          status: outcome.status,
          attempts: 1,
          createdAt: new Date(),
          updatedAt: new Date(),
        })),
        { ordered: false },
      ),
    ),
    'users.findOne(_id)': await median((index) => database.users.findOne({ _id: new ObjectId(ids[index]) })),
  };
  const [userCount, deliveryCount] = await Promise.all([
    database.users.estimatedDocumentCount(),
    database.deliveries.estimatedDocumentCount(),
  ]);
  await database.deliveries.deleteMany({ sendId });
  const msPerDelivery =
    (medianMs['ledger.deliveryStates(100)'] +
      medianMs['users.byIds(100)'] +
      4 * medianMs['ledger.record(25 new, upserts)']) /
    100;
  return { users: userCount, deliveries: deliveryCount, medianMs, msPerDelivery: round(msPerDelivery, 2) };
}
