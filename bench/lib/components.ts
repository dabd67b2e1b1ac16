import { ObjectId } from 'mongodb';
import type { ServiceConfig } from '../../common/config/config';
import type { Database } from '../../common/store/db';
import { DeliveriesRepository, type DeliveryOutcome } from '../../common/store/deliveries-repository';
import { UsersRepository } from '../../common/store/users-repository';
import { round } from './proc-stats';
import { BENCH_CLUSTER } from './workload';

export interface MongoFigures {
  users: number;
  deliveries: number;
  /** Median milliseconds of each query a send issues, at the collection sizes above. */
  medianMs: Record<string, number>;
  /**
   * MongoDB milliseconds per delivery for one dispatch chunk of 100 users on one channel, issued serially:
   * the batch claim + its deliveries' claims + user documents + its outcomes inserted, divided by 100.
   */
  msPerDelivery: number;
}

const RUNS = 3;

async function median(run: (index: number) => Promise<unknown>, runs = RUNS): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < runs; index++) {
    const started = performance.now();
    await run(index);
    times.push(performance.now() - started);
  }
  return round(times.sort((a, b) => a - b)[Math.floor(runs / 2)], 1);
}

/**
 * MongoDB's share of a delivery, measured with the product's own DeliveriesRepository and UsersRepository against the
 * bench's store at its current size (after a fan-out): each query shape a send issues, timed alone. Run after a send so
 * that the deliveries collection has the size a real worker sees.
 */
export async function measureMongo(database: Database, userFields: ServiceConfig['userFields']): Promise<MongoFigures> {
  const ledger = new DeliveriesRepository(database);
  const users = new UsersRepository(database, userFields);
  const sendId = 'bench-profile';
  const selector = { recipients: [], clusters: [BENCH_CLUSTER] };
  const streamAll = async () => {
    const ids: string[] = [];
    for await (const member of users.streamAudience(selector, { after: null })) ids.push(member.userId);
    return ids;
  };
  const ids = await streamAll();
  const chunk = (index: number, size = 100) => ids.slice(index * size, index * size + size);
  const outcomes = (index: number, channel: 'sms' | 'push', size: number): DeliveryOutcome[] =>
    chunk(index, size).map((userId) => ({ userId, channel, status: 'sent', attempted: true }));

  const medianMs: Record<string, number> = {
    // Once: a scan of the whole users collection on FerretDB (20 s at 100k on a busy machine).
    [`users.streamAudience (all ${ids.length})`]: await median(() => streamAll(), 1),
    'users.byIds(100)': await median((index) => users.byIds(chunk(index))),
    'ledger.claimDispatch(100)': await median((index) => ledger.claimDispatch(sendId, 'sms', chunk(index))),
    'ledger.claimDeliveries(100)': await median((index) =>
      ledger.claimDeliveries(sendId, 'sms', `bench-batch-${index}`, chunk(index)),
    ),
    'ledger.deliveryStates(100)': await median((index) => ledger.deliveryStates(sendId, 'sms', chunk(index))),
    'ledger.record(100 new)': await median((index) => ledger.record(sendId, outcomes(index, 'sms', 100))),
    'ledger.record(25 existing)': await median((index) => ledger.record(sendId, outcomes(index, 'sms', 25))),
    'users.findOne(_id)': await median((index) => database.users.findOne({ _id: new ObjectId(ids[index]) })),
  };
  const [userCount, deliveryCount] = await Promise.all([
    database.users.estimatedDocumentCount(),
    database.deliveries.estimatedDocumentCount(),
  ]);
  await Promise.all([database.deliveries.deleteMany({ sendId }), database.dispatchClaims.deleteMany({ sendId })]);
  // The store's serial cost of one delivery in a first-run batch of 100: claims, users, one insert.
  const msPerDelivery =
    (medianMs['ledger.claimDispatch(100)'] +
      medianMs['ledger.claimDeliveries(100)'] +
      medianMs['users.byIds(100)'] +
      medianMs['ledger.record(100 new)']) /
    100;
  return { users: userCount, deliveries: deliveryCount, medianMs, msPerDelivery: round(msPerDelivery, 2) };
}
