import { storageDown } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import { claimDueEvents, deliverEvent, skipUnaddressedEvents, WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT_MS } from '../webhooks.ts';
import type { Job } from './runner.ts';

/** Deliveries in flight at once per worker: one slow endpoint must not hold up everyone else's. */
const CONCURRENCY = 8;
/** Events of merchants without a webhook URL skipped per run, in one statement (skipUnaddressedEvents). */
const SKIP_BATCH = 500;

/**
 * Delivers due merchant events (core/webhooks.ts). Any number of workers can run it side by side:
 * each event is claimed under a lease, and a worker killed mid-delivery leaves its events to the
 * next one once the lease runs out.
 */
export function webhookDeliveryJob(
  deps: CoreDeps,
  owner: string,
  options: { batch?: number; intervalMs?: number; timeoutMs?: number; fetchImpl?: typeof fetch } = {},
): Job {
  const batch = options.batch ?? 50;
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  // The lease must outlast one delivery with room to write its outcome.
  const leaseMs = Math.max(WEBHOOK_LEASE_MS, timeoutMs + 30_000);
  // Unset: the address-checked transport of core/webhook-target.ts.
  const fetchImpl = options.fetchImpl;
  return {
    name: 'webhook-delivery',
    intervalMs: options.intervalMs ?? 5_000,
    async run() {
      // Events no one is waiting for first, in bulk; a full bulk means more may be due: run again.
      const skipped = await skipUnaddressedEvents(deps, SKIP_BATCH);
      const rows = await claimDueEvents(deps, owner, batch, leaseMs);
      let next = 0;
      const lane = async (): Promise<void> => {
        // A database that went away mid-batch: the rest of the batch waits for its leases to run out.
        while (next < rows.length && !storageDown(deps.db)) {
          const row = rows[next++]!;
          await deliverEvent(deps, row, { timeoutMs, leaseMs, fetchImpl });
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rows.length) }, lane));
      return rows.length + (skipped === SKIP_BATCH ? skipped : 0);
    },
  };
}
