import { mapWithConcurrency } from '../../toolkit/concurrency';
import { insertWhereFree, POINT_LOOKUPS_IN_FLIGHT, type Database } from '../db';
import type { DispatchClaimDocument } from '../../domain/send-types';

/**
 * Inserts each claim into `dispatch_claims` where its key is free, and tells, claim by claim, whether the caller holds
 * it: inserted now, or inserted before and found to be the caller's by `isOurs` (an activity retry of the same round
 * or fate), read by a point lookup on `_id`. Two callers that both read an entry cannot both take it, on FerretDB too,
 * where an update is not atomic.
 */
export async function takeClaims(
  dispatchClaims: Database['dispatchClaims'],
  claims: DispatchClaimDocument[],
  isOurs: (held: DispatchClaimDocument | null) => boolean,
) {
  const taken = new Set(await insertWhereFree(dispatchClaims, claims));
  return mapWithConcurrency(
    claims.map((claim, index) => ({ claim, index })),
    POINT_LOOKUPS_IN_FLIGHT,
    async ({ claim, index }) => !taken.has(index) || isOurs(await dispatchClaims.findOne({ _id: claim._id })),
  );
}
