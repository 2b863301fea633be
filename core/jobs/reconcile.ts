import { errorSummary, toNumber } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import { IllegalTransitionError } from '../errors.ts';
import { findOrder, findOrderByNo, loadSnapshot, rowToOrder, type Order, type OrderRow } from '../orders.ts';
import { recordEvent } from '../outbox.ts';
import { targetStatus } from '../facts.ts';
import type { PaymentFacts } from '../payment-provider.ts';
import type { OrderStatus } from '../state-machine.ts';
import { transition } from '../transition.ts';
import { claimRows } from './lease.ts';
import type { Job } from './runner.ts';

/**
 * Reconciliation (issue 5): orders still waiting are asked of their provider on a backoff, so a
 * callback that never came cannot leave a paid order unpaid. What the provider says is applied as a
 * transition with source `reconcile`; a provider that cannot be asked, past the cap, flags the
 * order for a person (Kill Bill's UNKNOWN) instead of a guess.
 */
export interface ReconcileOptions {
  /** Orders younger than this are left to their callbacks. */
  minAgeMs?: number;
  /** First pause between two questions; doubles each time up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Questions that could not be answered (faults) before the order is flagged. */
  maxFaults?: number;
  batch?: number;
  intervalMs?: number;
  /** Only this merchant's orders (the CLI's `reconcile --merchant`, and tests). */
  merchantId?: string;
}

const WAITING: OrderStatus[] = ['created', 'pending', 'failed'];
/** Expired orders are still asked about for this long: a transfer made just before the deadline. */
export const AFTER_EXPIRY_MS = 48 * 60 * 60_000;

async function flag(deps: CoreDeps, order: Order, reason: string): Promise<void> {
  await deps.db.transaction(async (trx) => {
    await trx('orders').where({ id: order.id }).update({ attention: true, attention_reason: reason.slice(0, 500), version: trx.raw('version + 1'), updated_at: deps.now().getTime() });
    await recordEvent(trx, (await findOrder(trx, order.id))!, 'payment.attention', deps.now(), { reason });
  });
}

/**
 * Applies what a provider's query says about one of our orders: the amount must match, a repeat
 * is a no-op, stale news is ignored. Returns whether the order moved.
 */
export async function applyQueriedFacts(deps: CoreDeps, order: Order, facts: PaymentFacts, source: 'reconcile'): Promise<boolean> {
  if (facts.outcome === 'pending') return false;
  if (facts.currency !== order.currency || facts.amount !== order.amount) {
    if (facts.outcome === 'paid' && !order.attention) {
      await flag(deps, order, `Amount mismatch found by reconciliation: provider says ${facts.outcome} for ${facts.amount} ${facts.currency}; the order is ${order.amount} ${order.currency}`);
    }
    return false;
  }
  if (facts.simulated) return false;
  const to = targetStatus(facts.outcome, order, deps.now());
  if (to === order.status) return false;
  try {
    const paidAt = facts.paidAt && !Number.isNaN(facts.paidAt.getTime()) ? facts.paidAt : null;
    const result = await transition(deps, order.id, {
      to,
      cause: `reconciliation: provider reports ${facts.outcome}`,
      source,
      providerTradeNo: facts.providerTradeNo?.slice(0, 128) ?? null,
      paidAt,
      ...(facts.outcome === 'failed' ? { failure: { code: facts.code ?? 'declined', message: facts.message ?? '' } } : {}),
    });
    return result.result === 'applied';
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    // Money moved in a way our record cannot follow (refunded while we think it waits): a person looks.
    if ((facts.outcome === 'paid' || facts.outcome === 'refunded') && !order.attention) {
      await flag(deps, order, `The provider reports ${facts.outcome} but the order is ${order.status}; check it at the provider`);
    }
    return false;
  }
}

export function reconcileJob(deps: CoreDeps, owner: string, options: ReconcileOptions = {}): Job {
  const minAge = options.minAgeMs ?? 10 * 60_000;
  const base = options.baseBackoffMs ?? 60_000;
  const cap = options.maxBackoffMs ?? 60 * 60_000;
  const maxFaults = options.maxFaults ?? 12;
  const batch = options.batch ?? 25;
  return {
    name: 'reconcile',
    intervalMs: options.intervalMs ?? 30_000,
    async run() {
      const now = deps.now();
      const rows = await claimRows<OrderRow & { lease_owner: string; reconcile_attempts: number; reconcile_faults: number }>(deps.db, {
        table: 'orders',
        where: (q) =>
          q
            .where((m) => (options.merchantId ? m.where('merchant_id', options.merchantId) : m))
            .where((s) => s.whereIn('status', WAITING).orWhere((e) => e.where('status', 'expired').andWhere('expires_at', '>', now.getTime() - AFTER_EXPIRY_MS)))
            .andWhere('created_at', '<=', now.getTime() - minAge)
            .andWhere((w) => w.whereNull('next_reconcile_at').orWhere('next_reconcile_at', '<=', now.getTime())),
        orderBy: 'created_at',
        limit: batch,
        leaseMs: 5 * 60_000,
        owner,
        now,
      });
      for (const row of rows) {
        // One lease covers the batch; renew it for this row, and skip the row if another worker has it now.
        const stillMine = await deps.db('orders').where({ id: row.id, lease_owner: row.lease_owner }).update({ lease_until: deps.now().getTime() + 5 * 60_000 });
        if (stillMine !== 1) continue;
        const order = rowToOrder(row);
        const attempts = toNumber(row.reconcile_attempts) + 1;
        const next = now.getTime() + Math.min(cap, base * 2 ** Math.min(attempts - 1, 30));
        const provider = deps.registry.find(order.provider, order.account);
        let fault: string | null = null;
        if (provider) {
          try {
            const answer = await provider.query({ order: await loadSnapshot(deps.db, order) });
            if (answer.found) await applyQueriedFacts(deps, order, answer.facts, 'reconcile');
          } catch (err) {
            fault = errorSummary(err);
            deps.logger.warn({ orderId: order.id, err: fault }, 'reconciliation could not ask the provider');
          }
        } else {
          fault = `no configured account ${order.provider}/${order.account}`;
        }
        // Faults are counted apart from attempts, and an answer resets them: one blip after a day of
        // "still waiting" is not a reason to call a person.
        const faults = fault ? toNumber(row.reconcile_faults) + 1 : 0;
        await deps.db('orders')
          .where({ id: order.id, lease_owner: row.lease_owner })
          .update({ reconcile_attempts: attempts, reconcile_faults: faults, next_reconcile_at: next, lease_owner: null, lease_until: null });
        if (fault && faults >= maxFaults) {
          const fresh = (await findOrder(deps.db, order.id))!;
          if (!fresh.attention && WAITING.includes(fresh.status)) {
            await flag(deps, fresh, `Reconciliation could not learn this payment's state after ${faults} failed tries (${fault}); check it at the provider`);
          }
        }
      }
      return rows.length === batch ? rows.length : 0;
    },
  };
}

/**
 * The sweep: asks each provider that can list its transactions for a window, and applies what it
 * knows about our orders that we have not heard of (a bank's order-query windows, say).
 */
export function reconcileSweepJob(deps: CoreDeps, options: { windowMs?: number; intervalMs?: number } = {}): Job {
  const windowMs = options.windowMs ?? 24 * 60 * 60_000;
  return {
    name: 'reconcile-sweep',
    intervalMs: options.intervalMs ?? 15 * 60_000,
    async run() {
      const to = deps.now();
      const from = new Date(to.getTime() - windowMs);
      let moved = 0;
      for (const account of deps.registry.list()) {
        const provider = deps.registry.find(account.provider, account.account);
        if (!provider?.listTransactions || !provider.capabilities.has('listTransactions')) continue;
        let facts: PaymentFacts[];
        try {
          // By payment time: a late payment for an old order is what a sweep is for.
          facts = await provider.listTransactions({ from, to, by: 'paid' });
        } catch (err) {
          deps.logger.warn({ provider: account.provider, account: account.account, err: errorSummary(err) }, 'reconciliation sweep could not list transactions');
          continue;
        }
        for (const fact of facts) {
          const order = await findOrderByNo(deps.db, fact.orderNo);
          if (!order || order.provider !== provider.id || order.account !== provider.account) continue;
          if (fact.outcome === 'pending') continue;
          if (await applyQueriedFacts(deps, order, fact, 'reconcile')) moved++;
        }
      }
      deps.logger.info({ from: from.toISOString(), to: to.toISOString(), moved }, 'reconciliation sweep done');
      // A sweep is a periodic job: it never asks to run again at once.
      return 0;
    },
  };
}
