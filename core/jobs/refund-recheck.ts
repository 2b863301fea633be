import { errorSummary, storageDown } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import { findOrder, loadSnapshot } from '../orders.ts';
import { applyNews } from '../order-writer.ts';
import { settleRefund, type RefundRow } from '../refunds.ts';
import type { Job } from './runner.ts';

/**
 * Refunds whose outcome the provider never confirmed (a timeout, a fault) stay `pending` with their
 * amount reserved. This job asks again, with the same refund number, where the provider promises
 * that repeating it refunds once; elsewhere it flags the payment for a person, once.
 */
export function refundRecheckJob(deps: CoreDeps, options: { minAgeMs?: number; batch?: number; intervalMs?: number } = {}): Job {
  const minAge = options.minAgeMs ?? 2 * 60_000;
  const batch = options.batch ?? 20;
  return {
    name: 'refund-recheck',
    intervalMs: options.intervalMs ?? 60_000,
    async run() {
      const now = deps.now().getTime();
      const rows = (await deps.db('refunds').where({ status: 'pending' }).andWhere('updated_at', '<=', now - minAge).orderBy('updated_at').limit(batch)) as RefundRow[];
      for (const row of rows) {
        // The database went away mid-batch (core/db.ts): the rest waits for the next run.
        if (storageDown(deps.db)) break;
        // Optimistic claim: whoever moves updated_at first handles this refund this round.
        const mine = await deps.db('refunds').where({ id: row.id, status: 'pending', updated_at: row.updated_at }).update({ updated_at: now });
        if (mine !== 1) continue;
        const order = await findOrder(deps.db, row.order_id);
        const provider = order ? deps.registry.find(order.provider, order.account) : undefined;
        if (!order || !provider?.refund) continue;
        if (!provider.refundIdempotent) {
          // The one decision raises attention once (core/decide.ts, refund_unconfirmed).
          await applyNews(deps, { id: order.id }, { kind: 'refund_unconfirmed', refundNo: row.refund_no, amount: Number(row.amount_minor) }, 'refund_recheck');
          continue;
        }
        try {
          const result = await provider.refund({ order: await loadSnapshot(deps.db, order), refundNo: row.refund_no, amount: Number(row.amount_minor), reason: row.reason ?? undefined });
          await settleRefund(deps, row, result);
        } catch (err) {
          deps.logger.warn({ refundNo: row.refund_no, err: errorSummary(err) }, 'refund still unconfirmed');
        }
      }
      return 0;
    },
  };
}
