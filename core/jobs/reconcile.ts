import type { Knex } from 'knex';
import { errorSummary, toNumber } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import { IllegalTransitionError } from '../errors.ts';
import { findOrder, findOrderByNo, loadSnapshot, rowToOrder, type Order, type OrderRow } from '../orders.ts';
import { recordEvent } from '../outbox.ts';
import { targetStatus } from '../facts.ts';
import type { PaymentFacts, PaymentProvider } from '../payment-provider.ts';
import { ATTENTION_ON_PAID_FROM, checkTransition, type OrderStatus } from '../state-machine.ts';
import { transition, type TransitionRequest } from '../transition.ts';
import { claimRows } from './lease.ts';
import type { Job } from './runner.ts';

/**
 * Reconciliation (issue 5): orders still waiting are asked of their provider on a backoff, so a
 * callback that never came cannot leave a paid order unpaid. What the provider says is applied as a
 * transition with source `reconcile`; a provider that cannot be asked, past the cap, flags the
 * order for a person (Kill Bill's UNKNOWN) instead of a guess.
 *
 * The pieces (one order asked and applied, one account swept) are exported so the CLI's
 * `reconcile` command runs the same code over a window, or only reports what it would change.
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
  /** Only this merchant's orders (tests). */
  merchantId?: string;
}

export const WAITING_STATUSES: readonly OrderStatus[] = ['created', 'pending', 'failed'];
const WAITING = WAITING_STATUSES as OrderStatus[];
/** Expired orders are still asked about for this long: a transfer made just before the deadline. */
export const AFTER_EXPIRY_MS = 48 * 60 * 60_000;

/** Narrows an `orders` query to the orders reconciliation still asks about at `now`. */
export function whereStillWaiting(q: Knex.QueryBuilder, now: Date): Knex.QueryBuilder {
  // An order still waiting on the buyer's choice has no provider to ask; expiry ends it.
  return q.whereNotNull('provider').where((s) => s.whereIn('status', WAITING).orWhere((e) => e.where('status', 'expired').andWhere('expires_at', '>', now.getTime() - AFTER_EXPIRY_MS)));
}

async function flag(deps: CoreDeps, order: Order, reason: string): Promise<void> {
  await deps.db.transaction(async (trx) => {
    await trx('orders').where({ id: order.id }).update({ attention: true, attention_reason: reason.slice(0, 500), version: trx.raw('version + 1'), updated_at: deps.now().getTime() });
    await recordEvent(trx, (await findOrder(trx, order.id))!, 'payment.attention', deps.now(), { reason });
  });
}

/**
 * What a provider's answer would do to one of our orders, decided without writing: nothing, raise
 * the attention flag (a wrong amount), or a transition. `legal` predicts the state machine's verdict
 * on the order as read; the transition itself decides on the row it locks.
 */
export type QueriedPlan =
  | { kind: 'none' }
  | { kind: 'flag'; reason: string }
  | { kind: 'move'; to: OrderStatus; legal: boolean; request: TransitionRequest; flagIfIllegal: string | null };

export function planQueriedFacts(order: Order, facts: PaymentFacts, now: Date, source: 'reconcile'): QueriedPlan {
  if (facts.outcome === 'pending') return { kind: 'none' };
  if (facts.currency !== order.currency || facts.amount !== order.amount) {
    if (facts.outcome === 'paid' && !order.attention) {
      return { kind: 'flag', reason: `Amount mismatch found by reconciliation: provider says ${facts.outcome} for ${facts.amount} ${facts.currency}; the order is ${order.amount} ${order.currency}` };
    }
    return { kind: 'none' };
  }
  if (facts.simulated) return { kind: 'none' };
  const to = targetStatus(facts.outcome, order, now);
  if (to === order.status) return { kind: 'none' };
  const paidAt = facts.paidAt && !Number.isNaN(facts.paidAt.getTime()) ? facts.paidAt : null;
  return {
    kind: 'move',
    to,
    legal: checkTransition(order.status, to) === 'apply',
    request: {
      to,
      cause: `reconciliation: provider reports ${facts.outcome}`,
      source,
      providerTradeNo: facts.providerTradeNo?.slice(0, 128) ?? null,
      paidAt,
      ...(facts.outcome === 'failed' ? { failure: { code: facts.code ?? 'declined', message: facts.message ?? '' } } : {}),
    },
    // Money moved in a way our record cannot follow (refunded while we think it waits): a person looks.
    flagIfIllegal:
      (facts.outcome === 'paid' || facts.outcome === 'refunded') && !order.attention
        ? `The provider reports ${facts.outcome} but the order is ${order.status}; check it at the provider`
        : null,
  };
}

/** What applying (or, dry, planning) one answer did: `attention` when the order now asks for a person. */
export type FactsChange =
  | { change: 'none' }
  | { change: 'moved'; from: OrderStatus; to: OrderStatus; attention: string | null }
  | { change: 'flagged'; reason: string };

/**
 * Applies what a provider says about one of our orders (or with `dryRun` only says what it would
 * do): the amount must match, a repeat is a no-op, stale news is ignored.
 */
export async function reconcileFacts(
  deps: CoreDeps,
  order: Order,
  facts: PaymentFacts,
  source: 'reconcile',
  options: { dryRun?: boolean } = {},
): Promise<FactsChange> {
  const plan = planQueriedFacts(order, facts, deps.now(), source);
  if (plan.kind === 'none') return { change: 'none' };
  if (plan.kind === 'flag') {
    if (!options.dryRun) await flag(deps, order, plan.reason);
    return { change: 'flagged', reason: plan.reason };
  }
  if (options.dryRun) {
    if (plan.legal) {
      const raises = plan.to === 'paid' && ATTENTION_ON_PAID_FROM.includes(order.status) && !order.attention;
      return { change: 'moved', from: order.status, to: plan.to, attention: raises ? `Paid after the order was ${order.status}` : null };
    }
    return plan.flagIfIllegal ? { change: 'flagged', reason: plan.flagIfIllegal } : { change: 'none' };
  }
  try {
    const result = await transition(deps, order.id, plan.request);
    if (result.result !== 'applied') return { change: 'none' };
    const raised = result.order.attention && !order.attention ? result.order.attentionReason ?? 'attention' : null;
    return { change: 'moved', from: result.from, to: result.order.status, attention: raised };
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    if (!plan.flagIfIllegal) return { change: 'none' };
    await flag(deps, order, plan.flagIfIllegal);
    return { change: 'flagged', reason: plan.flagIfIllegal };
  }
}

/**
 * Applies what a provider's query says about one of our orders: the amount must match, a repeat
 * is a no-op, stale news is ignored. Returns whether the order moved.
 */
export async function applyQueriedFacts(deps: CoreDeps, order: Order, facts: PaymentFacts, source: 'reconcile'): Promise<boolean> {
  return (await reconcileFacts(deps, order, facts, source)).change === 'moved';
}

export type OrderReconcileResult =
  | { asked: 'fault'; fault: string }
  | { asked: 'not_found' }
  | { asked: 'answered'; facts: PaymentFacts; result: FactsChange };

/**
 * Asks the order's provider about it and applies the answer (with `dryRun`, reports what it would
 * change). A provider that cannot be asked, or an answer that cannot be applied, is a fault.
 */
export async function reconcileOrder(deps: CoreDeps, order: Order, options: { dryRun?: boolean } = {}): Promise<OrderReconcileResult> {
  const provider = deps.registry.find(order.provider, order.account);
  if (!provider) return { asked: 'fault', fault: `no configured account ${order.provider}/${order.account}` };
  try {
    const answer = await provider.query({ order: await loadSnapshot(deps.db, order) });
    if (!answer.found) return { asked: 'not_found' };
    return { asked: 'answered', facts: answer.facts, result: await reconcileFacts(deps, order, answer.facts, 'reconcile', options) };
  } catch (err) {
    const fault = errorSummary(err);
    deps.logger.warn({ orderId: order.id, err: fault }, 'reconciliation could not ask the provider');
    return { asked: 'fault', fault };
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
          whereStillWaiting(q.where((m) => (options.merchantId ? m.where('merchant_id', options.merchantId) : m)), now)
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
        const asked = await reconcileOrder(deps, order);
        const fault = asked.asked === 'fault' ? asked.fault : null;
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

/** One transaction a sweep listed that concerns one of our orders, and what it did (or would do). */
export interface SweptFact {
  order: Order;
  facts: PaymentFacts;
  result: FactsChange;
}

export type SweepResult = { fault: string } | { listed: number; applied: SweptFact[] };

/**
 * Sweeps one account that can list its transactions: asks for the window by payment time and
 * applies what it knows about our orders (with `dryRun`, reports it). `accept` narrows the orders
 * considered. A provider that cannot list is a fault, logged and returned.
 */
export async function sweepAccount(
  deps: CoreDeps,
  provider: PaymentProvider,
  window: { from: Date; to: Date },
  options: { dryRun?: boolean; accept?: (order: Order) => boolean } = {},
): Promise<SweepResult> {
  let facts: PaymentFacts[];
  try {
    // By payment time: a late payment for an old order is what a sweep is for.
    facts = await provider.listTransactions!({ from: window.from, to: window.to, by: 'paid' });
  } catch (err) {
    const fault = errorSummary(err);
    deps.logger.warn({ provider: provider.id, account: provider.account, err: fault }, 'reconciliation sweep could not list transactions');
    return { fault };
  }
  const applied: SweptFact[] = [];
  for (const fact of facts) {
    const order = await findOrderByNo(deps.db, fact.orderNo);
    if (!order || order.provider !== provider.id || order.account !== provider.account) continue;
    if (fact.outcome === 'pending') continue;
    if (options.accept && !options.accept(order)) continue;
    applied.push({ order, facts: fact, result: await reconcileFacts(deps, order, fact, 'reconcile', { dryRun: options.dryRun }) });
  }
  return { listed: facts.length, applied };
}

/** The accounts a sweep asks: those whose provider declares `listTransactions`. */
export function sweepableProviders(deps: CoreDeps): PaymentProvider[] {
  const out: PaymentProvider[] = [];
  for (const account of deps.registry.list()) {
    const provider = deps.registry.find(account.provider, account.account);
    if (provider?.listTransactions && provider.capabilities.has('listTransactions')) out.push(provider);
  }
  return out;
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
      for (const provider of sweepableProviders(deps)) {
        const swept = await sweepAccount(deps, provider, { from, to });
        if ('fault' in swept) continue;
        moved += swept.applied.filter((a) => a.result.change === 'moved').length;
      }
      deps.logger.info({ from: from.toISOString(), to: to.toISOString(), moved }, 'reconciliation sweep done');
      // A sweep is a periodic job: it never asks to run again at once.
      return 0;
    },
  };
}
