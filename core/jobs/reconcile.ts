import type { Knex } from 'knex';
import { errorSummary, toNumber, storageDown } from '../db.ts';
import type { CoreDeps } from '../deps.ts';
import type { Plan } from '../decide.ts';
import { applyNews, flagOrder, recordReconcileAsked, renewOrderLease } from '../order-writer.ts';
import { findOrder, findOrderByNo, loadSnapshot, rowToOrder, type Order, type OrderRow } from '../orders.ts';
import type { PaymentFacts, PaymentProvider } from '../payment-provider.ts';
import { ATTENTION_ON_PAID_FROM, WAITING_STATUSES, type OrderStatus } from '../state-machine.ts';
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

export { WAITING_STATUSES };
const WAITING = WAITING_STATUSES as OrderStatus[];
/** Expired orders are still asked about for this long: a transfer made just before the deadline. */
export const AFTER_EXPIRY_MS = 48 * 60 * 60_000;

/** Narrows an `orders` query to the orders reconciliation still asks about at `now`. */
export function whereStillWaiting(q: Knex.QueryBuilder, now: Date): Knex.QueryBuilder {
  // An order still waiting on the buyer's choice has no provider to ask; expiry ends it.
  return q.whereNotNull('provider').where((s) => s.whereIn('status', WAITING).orWhere((e) => e.where('status', 'expired').andWhere('expires_at', '>', now.getTime() - AFTER_EXPIRY_MS)));
}

/** What applying (or, dry, planning) one answer did: `attention` when the order now asks for a person. */
export type FactsChange =
  | { change: 'none' }
  | { change: 'moved'; from: OrderStatus; to: OrderStatus; attention: string | null }
  | { change: 'flagged'; reason: string }
  | { change: 'refunded'; amount: number; to: OrderStatus | null };

/** What a plan of the one decision means to reconciliation's callers (the CLI prints it). */
function changeOf(plan: Plan, before: Order): FactsChange {
  switch (plan.kind) {
    case 'move': {
      const raises = plan.to === 'paid' && ATTENTION_ON_PAID_FROM.includes(before.status) && !before.attention;
      return { change: 'moved', from: before.status, to: plan.to, attention: raises ? `Paid after the order was ${before.status}` : null };
    }
    case 'flag':
      return { change: 'flagged', reason: plan.reason };
    case 'reject':
      return plan.flag ? { change: 'flagged', reason: plan.flag } : { change: 'none' };
    case 'refund':
      return { change: 'refunded', amount: plan.amount, to: plan.to };
    default:
      return { change: 'none' };
  }
}

/**
 * Applies what a provider says about one of our orders (or with `dryRun` only says what it would
 * do), through the one decision (core/decide.ts) and its writer: the same rules as a callback.
 */
export async function reconcileFacts(deps: CoreDeps, order: Order, facts: PaymentFacts, options: { dryRun?: boolean } = {}): Promise<FactsChange> {
  const result = await applyNews(
    deps,
    { id: order.id },
    { kind: 'facts', facts, reporter: { provider: order.provider ?? '', account: order.account ?? '' } },
    'reconcile',
    { dryRun: options.dryRun },
  );
  if (!result.before) return { change: 'none' };
  return changeOf(result.plan, result.before);
}

/** Applies what a provider's query says about one of our orders. Returns whether the order moved. */
export async function applyQueriedFacts(deps: CoreDeps, order: Order, facts: PaymentFacts): Promise<boolean> {
  return (await reconcileFacts(deps, order, facts)).change === 'moved';
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
    return { asked: 'answered', facts: answer.facts, result: await reconcileFacts(deps, order, answer.facts, options) };
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
        metrics: deps.metrics,
      });
      for (const row of rows) {
        // The database went away mid-batch (core/db.ts): the rest waits for the next run.
        if (storageDown(deps.db)) break;
        // One lease covers the batch; renew it for this row, and skip the row if another worker has it now.
        if (!(await renewOrderLease(deps.db, row.id, row.lease_owner, deps.now().getTime() + 5 * 60_000))) continue;
        const order = rowToOrder(row);
        const attempts = toNumber(row.reconcile_attempts) + 1;
        const next = now.getTime() + Math.min(cap, base * 2 ** Math.min(attempts - 1, 30));
        const asked = await reconcileOrder(deps, order);
        const fault = asked.asked === 'fault' ? asked.fault : null;
        // Faults are counted apart from attempts, and an answer resets them: one blip after a day of
        // "still waiting" is not a reason to call a person.
        const faults = fault ? toNumber(row.reconcile_faults) + 1 : 0;
        await recordReconcileAsked(deps.db, order.id, row.lease_owner, { attempts, faults, next });
        if (fault && faults >= maxFaults) {
          const fresh = (await findOrder(deps.db, order.id))!;
          if (!fresh.attention && WAITING.includes(fresh.status)) {
            await flagOrder(deps, fresh.id, `Reconciliation could not learn this payment's state after ${faults} failed tries (${fault}); check it at the provider`);
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
    applied.push({ order, facts: fact, result: await reconcileFacts(deps, order, fact, { dryRun: options.dryRun }) });
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
