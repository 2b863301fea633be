import { processInboxRow } from '../callbacks.ts';
import { errorSummary, noteStorageFault, storageDown } from '../db.ts';
import { PROCESSING_LEASE_MS, type CallbackRow } from '../inbox.ts';
import type { CoreDeps } from '../deps.ts';
import { claimRows } from './lease.ts';
import type { Job } from './runner.ts';

/**
 * How often the job looks for due rows. Callbacks acknowledged on store are handed to it when the
 * job runner is another process (core/deps.ts storedCallbacks), so this is how long such a payment
 * waits at most before its token is exchanged. The look is one indexed claim.
 */
export const INBOX_HANDOFF_POLL_MS = 250;

/**
 * Finishes notify rows that were stored but never processed: a crash after the ack, a provider that
 * could not be reached for a token exchange, a database that went away mid-way; and the rows handed
 * to it at once (callbacks acknowledged on store, when it runs in another process).
 */
export function inboxRetryJob(deps: CoreDeps, owner: string, options: { batch?: number; intervalMs?: number } = {}): Job {
  const batch = options.batch ?? 50;
  return {
    name: 'inbox-retry',
    intervalMs: options.intervalMs ?? INBOX_HANDOFF_POLL_MS,
    async run() {
      const now = deps.now();
      const rows = await claimRows<CallbackRow>(deps.db, {
        table: 'provider_callbacks',
        where: (q) => q.whereNull('processed_at').andWhere('kind', 'notify').andWhere('next_attempt_at', '<=', now.getTime()),
        orderBy: 'id',
        limit: batch,
        leaseMs: PROCESSING_LEASE_MS,
        owner,
        now,
        metrics: deps.metrics,
      });
      for (const row of rows) {
        // The database went away mid-batch (core/db.ts): the rest waits for the next run.
        if (storageDown(deps.db)) break;
        const provider = deps.registry.find(row.provider, row.account);
        if (!provider) {
          deps.logger.warn({ callbackId: row.id, provider: row.provider, account: row.account }, 'inbox row for an account that is no longer configured');
          continue; // stays leased until the lease runs out; picked up again if the account comes back
        }
        try {
          // The claim gave this worker the row's lease; processing keeps it.
          await processInboxRow(deps, provider, row, { lease: row.lease_owner ?? undefined });
        } catch (err) {
          deps.logger.warn({ callbackId: row.id, err: errorSummary(err) }, 'inbox retry failed');
          noteStorageFault(deps.db, err);
        }
      }
      return rows.length === batch ? rows.length : 0;
    },
  };
}
