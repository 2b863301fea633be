import { errorSummary } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import { IllegalTransitionError } from '../errors.ts';
import { loadSnapshot, rowToOrder, type OrderRow } from '../orders.ts';
import { transition } from '../transition.ts';
import { claimRows } from './lease.ts';
import { applyQueriedFacts } from './reconcile.ts';
import type { Job } from './runner.ts';

/**
 * Expiry (issue 5): a payment still waiting past its deadline is closed at the provider where it can
 * be, then marked expired. If the provider says it was paid meanwhile, that wins; a payment that
 * lands after the expiry still becomes paid, with the attention flag (DESIGN §4).
 */
export function expiryJob(
  deps: CoreDeps,
  owner: string,
  options: { graceMs?: number; batch?: number; intervalMs?: number; merchantId?: string } = {},
): Job {
  const grace = options.graceMs ?? 60_000;
  const batch = options.batch ?? 25;
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
            .whereIn('status', ['created', 'pending', 'failed'])
            .andWhere('expires_at', '<=', now.getTime() - grace),
        orderBy: 'expires_at',
        limit: batch,
        // A fault leaves the order leased for a while: the lease is the retry delay.
        leaseMs: 5 * 60_000,
        owner,
        now,
      });
      for (const row of rows) {
        const order = rowToOrder(row);
        const provider = deps.registry.find(order.provider, order.account);
        try {
          let closedAt = 'expired here; the provider cannot close payments';
          if (provider?.cancel && provider.capabilities.has('cancel')) {
            const result = await provider.cancel({ order: await loadSnapshot(deps.db, order) });
            if (result.outcome === 'not_cancellable') {
              // Most likely paid meanwhile: ask, and apply what the provider knows.
              const answer = await provider.query({ order: await loadSnapshot(deps.db, order) });
              if (answer.found) await applyQueriedFacts(deps, order, answer.facts, 'reconcile');
              await deps.db('orders').where({ id: order.id, lease_owner: row.lease_owner }).update({ lease_owner: null, lease_until: null });
              continue;
            }
            closedAt = result.outcome === 'cancelled' ? 'closed at the provider' : `expired here only: ${result.message}`;
          }
          await transition(deps, order.id, { to: 'expired', cause: `past its deadline ${order.expiresAt.toISOString()} (${closedAt})`, source: 'expiry' });
          await deps.db('orders').where({ id: order.id }).update({ lease_owner: null, lease_until: null });
        } catch (err) {
          if (err instanceof IllegalTransitionError) continue; // it moved meanwhile (paid, say)
          deps.logger.warn({ orderId: order.id, err: errorSummary(err) }, 'expiry could not close the payment; will retry');
        }
      }
      return rows.length === batch ? rows.length : 0;
    },
  };
}
