import type { ActivityDeps } from '../activity-deps';
import { closeDigest, type DigestCloseInput } from './close-digest';
import { flushDigest, type DigestFlushInput } from './flush-digest';

export type { DigestCloseInput, DigestCloseResult } from './close-digest';
export type { DigestFlushInput, DigestFlushResult } from './flush-digest';

/** The activities of the `digest` workflow (docs/digests.md): its document, and each flush's send. */
export function createDigestActivities(deps: ActivityDeps) {
  const { digests } = deps;
  return {
    /** The digest's document, created on its first run; what a new run needs of the runs before it. */
    openDigest: async (input: { digestId: string; userId: string; digestKey: string }) => {
      const digest = await digests.open(input.digestId, input.userId, input.digestKey);
      return { flushCount: digest.flushCount, lastFlushAt: digest.lastFlushAt?.getTime() ?? null };
    },
    recordDigestWaiting: (input: {
      digestId: string;
      flushAt: number;
      pendingCount?: number;
      maxEvents?: number;
      joinable?: boolean;
    }) => {
      const { digestId, flushAt, ...batch } = input;
      return digests.recordWaiting(digestId, new Date(flushAt), batch);
    },
    flushDigest: (input: DigestFlushInput) => flushDigest(deps, input),
    recordDigestClosed: (input: DigestCloseInput) => closeDigest(deps, input),
  };
}
