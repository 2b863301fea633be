import type { CoreDeps } from '../deps.ts';
import type { Job } from './runner.ts';

/**
 * Deletes inbox rows that proved nothing, once they are older than the retention period: requests
 * that failed verification (forgeries, a wrong key, unreadable bodies) and unverified browser
 * returns. Verified rows (the provider's word behind every order's state) are kept for good, and
 * so is a row not finished yet or given up on after faults: it may still be a real payment.
 *
 * Deletes go in small batches by primary key, so no statement holds many locks or writes one large
 * replication event; a full batch runs again at once (JobRunner).
 */
export const CALLBACK_RETENTION_BATCH = 500;

export function callbackRetentionJob(deps: CoreDeps, options: { retentionDays: number; batch?: number; intervalMs?: number }): Job {
  const batch = options.batch ?? CALLBACK_RETENTION_BATCH;
  return {
    name: 'callback-retention',
    intervalMs: options.intervalMs ?? 10 * 60_000,
    async run() {
      const cutoff = deps.now().getTime() - options.retentionDays * 24 * 60 * 60_000;
      const ids = (
        (await deps.db('provider_callbacks')
          .where({ verified: false })
          .whereNotNull('processed_at')
          .andWhere('received_at', '<', cutoff)
          .orderBy('received_at')
          .limit(batch)
          .select('id')) as { id: number | string }[]
      ).map((r) => r.id);
      if (ids.length === 0) return 0;
      // The conditions again: a row is never deleted on the strength of a read alone.
      const deleted = await deps.db('provider_callbacks').whereIn('id', ids).where({ verified: false }).whereNotNull('processed_at').delete();
      if (deleted > 0) deps.logger.info({ deleted, olderThanDays: options.retentionDays }, 'unverified callbacks pruned');
      return deleted;
    },
  };
}
