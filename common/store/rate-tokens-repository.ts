import { insertWhereFree, type Database } from './db';

/** One provider call of one channel in one second: `<channel>|<epoch second>|<n>`. */
export interface RateTokenDocument {
  _id: string;
}

/**
 * The tokens of `rateLimits` (`rate_tokens`), shared by every worker: a worker takes a call by inserting its token,
 * and the unique `_id` gives each token to exactly one worker. (An `$inc` counter would be simpler, but FerretDB
 * applies `$inc` as read-modify-write, and concurrent workers lose counts.)
 */
export class RateTokensRepository {
  constructor(private readonly database: Pick<Database, 'rateTokens'>) {}

  /** Inserts the tokens; answers how many this call took (the others were taken before). */
  async take(tokenIds: string[]): Promise<number> {
    const taken = await insertWhereFree(
      this.database.rateTokens,
      tokenIds.map((_id) => ({ _id })),
    );
    return tokenIds.length - taken.length;
  }

  /** Deletes the channel's tokens of the seconds before `oldestSecond`. */
  async dropBefore(channel: string, oldestSecond: number): Promise<void> {
    // Keys of one channel compare as strings; epoch seconds have the same number of digits until 2286.
    await this.database.rateTokens.deleteMany({ _id: { $gte: `${channel}|`, $lt: `${channel}|${oldestSecond}` } });
  }
}
