import { errorSummary, noteStorageFault, storageDown } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import { applyNews, releaseOrderLease, renewOrderLease } from '../order-writer.ts';
import { findOrder, loadSnapshot, rowToOrder, type OrderRow } from '../orders.ts';
import { WAITING_STATUSES } from '../state-machine.ts';
import { claimRows } from './lease.ts';
import { applyQueriedFacts } from './reconcile.ts';
import type { Job } from './runner.ts';

/**
 * Expiry (issue 5): a payment still waiting past its deadline is first asked of its provider (a
 * payment made at the last minute wins), then closed at the provider where it can be, then marked
 * expired. A payment that lands after the expiry still becomes paid, flagged (docs/architecture.md#the-state-machine); the
 * reconciler keeps asking about expired orders for a while for exactly that.
 */
export function expiryJob(
  deps: CoreDeps,
  owner: string,
  options: { graceMs?: number; batch?: number; intervalMs?: number; merchantId?: string } = {},
): Job {
  const grace = options.graceMs ?? 60_000;
  const batch = options.batch ?? 25;
  const leaseMs = 5 * 60_000;
  return {
    name: 'expiry',
    intervalMs: options.intervalMs ?? 30_000,
    async run() {
      const now = deps.now();
      const rows = await claimRows<OrderRow & { lease_owner: string }>(deps.db, {
        table: 'orders',
        where: (q) =>
          q
            .where((m) => (options.merchantId ? m.where('merchant_id', options.merchantId) : m))
            .whereIn('status', WAITING_STATUSES)
            // A flagged order waits for a person, not for this job.
            .andWhere('attention', false)
            // The grace lets a payment made at the deadline reach us first; an order no one chose
            // a way to pay for has nothing at any provider to wait for, so it ends on time.
            .andWhere((d) =>
              d.where('expires_at', '<=', now.getTime() - grace).orWhere((u) => u.whereNull('provider').andWhere('expires_at', '<=', now.getTime())),
            ),
        orderBy: 'expires_at',
        limit: batch,
        // A fault leaves the order leased: the lease is the retry delay.
        leaseMs,
        owner,
        now,
        metrics: deps.metrics,
      });
      for (const row of rows) {
        // The database went away mid-batch (core/db.ts): the rest waits for the next run.
        if (storageDown(deps.db)) break;
        if (!(await renewOrderLease(deps.db, row.id, row.lease_owner, deps.now().getTime() + leaseMs))) continue;
        const order = rowToOrder(row);
        const provider = deps.registry.find(order.provider, order.account);
        try {
          // 1. Ask: paid at the last minute, or closed by the provider already?
          if (provider) {
            const answer = await provider.query({ order: await loadSnapshot(deps.db, order) });
            if (answer.found && answer.facts.outcome !== 'pending' && (await applyQueriedFacts(deps, order, answer.facts))) {
              await release(deps, row);
              continue;
            }
            const now2 = (await findOrder(deps.db, order.id))!;
            if (now2.attention || !WAITING_STATUSES.includes(now2.status)) {
              await release(deps, row);
              continue;
            }
          }
          // 2. Close where the provider can.
          let how = 'the provider cannot close payments; expired here';
          if (provider?.cancel && provider.capabilities.has('cancel')) {
            const result = await provider.cancel({ order: await loadSnapshot(deps.db, order) });
            how =
              result.outcome === 'cancelled'
                ? 'closed at the provider'
                : result.outcome === 'unsupported'
                  ? `expired here: ${result.message}`
                  : `the provider would not close it (${result.code}); expired here, a late payment is flagged`;
          }
          // 3. Expire (unless it moved meanwhile: paid, say; the decision sees the order as locked).
          await applyNews(deps, { id: order.id }, { kind: 'deadline', how }, 'expiry');
          await release(deps, row);
        } catch (err) {
          deps.logger.warn({ orderId: order.id, err: errorSummary(err) }, 'expiry could not finish; will retry when the lease runs out');
          noteStorageFault(deps.db, err);
        }
      }
      return rows.length === batch ? rows.length : 0;
    },
  };
}

async function release(deps: CoreDeps, row: { id: string; lease_owner: string }): Promise<void> {
  await releaseOrderLease(deps.db, row.id, row.lease_owner);
}
