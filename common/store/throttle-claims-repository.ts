import type { Collection } from 'mongodb';
import type { Database } from './db';
import { isDuplicateKey } from './db';

/**
 * One delivery's hold on one of a throttle's `limit` slots (`throttle_claims`), keyed `<scope>|<slot>|<generation>`:
 * a slot is reused by inserting its next generation once the last one's window has passed.
 */
export interface ThrottleClaimDocument {
  _id: string;
  /** `<channel>|<userId>|<key>`: what the throttle counts. */
  scope: string;
  slot: number;
  generation: number;
  /** The delivery holding it (`<sendId>|<channel>|<userId>`): a retried dispatch finds its own claim. */
  delivery: string;
  claimedAt: Date;
  /**
   * When its window ends (`claimedAt` + the window): the claim counts until then, and its retention counts from then
   * (docs/operations.md "Retention"). A slot whose claims have all expired starts again at generation 0.
   */
  retentionFrom: Date;
}

/**
 * Throttle claims: at most `limit` deliveries of one scope in any window of `windowMs`, exact under concurrency on
 * MongoDB and on FerretDB (whose conditional updates are not atomic) because every claim is a keyed insert, as the
 * ledger's claims are: two dispatches that find the same slot free both insert its next generation, and the unique
 * `_id` lets one of them have it.
 */
export class ThrottleClaimsRepository {
  private readonly claims: Collection<ThrottleClaimDocument>;

  constructor(database: Pick<Database, 'throttleClaims'>) {
    this.claims = database.throttleClaims;
  }

  /** Whether the delivery may go: it holds a slot (already, or now); false when every slot is held within the window. */
  async claim(scope: string, delivery: string, limit: number, windowMs: number): Promise<boolean> {
    if (await this.claims.findOne({ scope, delivery }, { projection: { _id: 1 } })) return true;
    for (let slot = 0; slot < limit; slot++) {
      const [latest] = await this.claims.find({ scope, slot }).sort({ generation: -1 }).limit(1).toArray();
      if (latest && latest.claimedAt.getTime() + windowMs > Date.now()) continue;
      const generation = latest ? latest.generation + 1 : 0;
      const claimedAt = new Date();
      try {
        await this.claims.insertOne({
          _id: `${scope}|${slot}|${generation}`,
          scope,
          slot,
          generation,
          delivery,
          claimedAt,
          retentionFrom: new Date(claimedAt.getTime() + windowMs),
        });
        return true;
      } catch (error) {
        // Another delivery took this generation of the slot first: it holds the slot now.
        if (!isDuplicateKey(error)) throw error;
      }
    }
    return false;
  }
}
