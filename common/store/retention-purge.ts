import { expiringCollections, retainedUntilUnneededCollections, sendRecordCollections, type Database } from './db';
import { purgeExpired, type PurgeOptions } from './retention';

/**
 * One purge of everything past `RETENTION_DAYS` (docs/operations.md "Retention"): what a send writes as it runs, by
 * `createdAt`; then the documents that count from their `retentionFrom` (the sends and requests among them, so that a
 * send outlives its deliveries if a purge stops half-way); then the sends and requests written before they carried a
 * `retentionFrom`, by `createdAt`. Returns how many documents went, per collection.
 */
export async function purgeRetention(
  database: Database,
  retentionDays: number,
  options: Pick<PurgeOptions, 'batchSize'> = {},
): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  const add = (counts: Record<string, number>) => {
    for (const [name, count] of Object.entries(counts)) deleted[name] = (deleted[name] ?? 0) + count;
  };
  add(await purgeExpired(expiringCollections(database), retentionDays, options));
  add(
    await purgeExpired(retainedUntilUnneededCollections(database), retentionDays, {
      ...options,
      field: 'retentionFrom',
    }),
  );
  add(await purgeExpired(sendRecordCollections(database), retentionDays, { ...options, withoutRetentionFrom: true }));
  return deleted;
}
