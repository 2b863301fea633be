import type { Knex } from 'knex';
import { dbKind, retryingTransaction, toNumber, type Db } from './db.ts';
import { decide, needsPendingRefunds, type News, type NewsSource, type Plan } from './decide.ts';
import { IllegalTransitionError } from './errors.ts';
import { newId } from './ids.ts';
import type { Logger } from './logger.ts';
import type { CoreMetrics } from './metrics.ts';
import { rowToOrder, type Order, type OrderRow } from './orders.ts';
import { eventTypeFor, recordEvent } from './outbox.ts';
import { insertRow, selectFirst, updateWhere } from './statements.ts';
import type { NextAction } from './payment-provider.ts';
import { newRefundNo, toRefundView, type RefundRow } from './refund-rows.ts';
import { ATTENTION_ON_PAID_FROM, PAYABLE_STATUSES, checkTransition, type OrderStatus } from './state-machine.ts';

/**
 * The one writer of `orders` (docs/architecture.md): status, version, attention, the buyer's
 * instructions, the deadline, the trade number, the paid time, the refunded amount, and the
 * bookkeeping columns of the jobs. Every change of state is written with its transition row and
 * its merchant event in the same transaction. Nothing else in core/, server/ or providers/ writes
 * the table (test/unit/order-writer-only.test.ts holds that).
 *
 * `applyNews` is the way in for anything learned about a payment: it locks the order, asks the
 * one decision (core/decide.ts) and carries out its plan.
 */

export interface WriterDeps {
  db: Db;
  logger: Logger;
  now: () => Date;
  hooks?: readonly TransitionHook[];
  metrics?: CoreMetrics;
}

export interface TransitionRequest {
  to: OrderStatus;
  /** Why, in words an operator understands: "provider reported paid", "merchant cancelled". */
  cause: string;
  /** api | callback:<inbox id> | reconcile | expiry | admin ... */
  source: string;
  /** Facts that travel with the move. */
  providerTradeNo?: string | null;
  paidAt?: Date | null;
  failure?: { code: string; message: string } | null;
  /** The buyer's next action, stored with the move to pending. */
  action?: NextAction | null;
  /** A new deadline (the provider's own, when it differs from the order's). */
  expiresAt?: Date | null;
  /** Added to the merchant event's `data` (the refund that caused a move, say). */
  eventData?: Record<string, unknown>;
}

export interface TransitionEvent {
  order: Order;
  from: OrderStatus;
  to: OrderStatus;
  cause: string;
  source: string;
  attentionRaised: boolean;
}

/** Runs inside the transition's own DB transaction (tests hook in here). */
export type TransitionHook = (trx: Knex.Transaction, event: TransitionEvent) => Promise<void>;

export type TransitionResult = { result: 'applied'; order: Order; from: OrderStatus } | { result: 'noop'; order: Order };

/** Lost an optimistic version race; the caller reads again and retries. */
class VersionConflict extends Error {}

/** For retryingTransaction: a version race lost is read again at once. */
const versionRace = (err: unknown): string | null => (err instanceof VersionConflict ? 'version' : null);

/**
 * Half of a surrogate pair (a character cut by a slice, or sent so by a provider): the drivers
 * store replacement characters for it, each its own way, so such a row is read back as stored.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ATTENTION_REASON_MAX = 500;

type OrderRef = { id: string } | { orderNo: string };

/** Reads the order under a row lock (MariaDB); SQLite's single writer holds the rest. */
async function lockOrder(trx: Knex.Transaction, ref: OrderRef): Promise<OrderRow | undefined> {
  // The driver's prepared statement (core/statements.ts): this is every notify's first read.
  return selectFirst<OrderRow>(trx, 'orders', 'id' in ref ? { id: ref.id } : { order_no: ref.orderNo }, { forUpdate: true });
}

/** The row after `patch`: the row read under the lock plus the patch, re-read only for text the drivers change. */
async function afterPatch(trx: Knex.Transaction, row: OrderRow, patch: Record<string, unknown>): Promise<{ row: OrderRow; order: Order }> {
  const illFormed = Object.values(patch).some((v) => typeof v === 'string' && LONE_SURROGATE.test(v));
  const next = illFormed ? ((await trx('orders').where({ id: row.id }).first()) as OrderRow) : ({ ...row, ...patch } as OrderRow);
  return { row: next, order: rowToOrder(next) };
}

/** Updates the locked row under its version; a lost race is retried by the caller from a fresh read. */
async function update(trx: Knex.Transaction, row: OrderRow, patch: Record<string, unknown>): Promise<void> {
  const updated = await updateWhere(trx, 'orders', patch, { id: row.id, version: row.version });
  if (updated !== 1) throw new VersionConflict();
}

/**
 * One state change of the locked row: checked against the state machine, written under the
 * version, with its transition row, its merchant event (and an attention event when paid after a
 * cancel or expiry), and the hooks. `extraPatch` rides along (the refunded amount of a refund).
 */
async function move(
  trx: Knex.Transaction,
  row: OrderRow,
  request: TransitionRequest,
  deps: Pick<WriterDeps, 'hooks' | 'metrics'> & { now: Date },
  extraPatch: Record<string, unknown> = {},
): Promise<TransitionResult> {
  const order = rowToOrder(row);
  const check = checkTransition(order.status, request.to);
  if (check === 'noop') return { result: 'noop', order };
  if (check === 'illegal') throw new IllegalTransitionError(order.status, request.to);
  const now = deps.now.getTime();
  const patch: Record<string, unknown> = { ...extraPatch, status: request.to, version: order.version + 1, updated_at: now };
  let attentionRaised = false;
  if (request.to === 'paid') {
    patch.paid_at = (request.paidAt ?? deps.now).getTime();
    if (ATTENTION_ON_PAID_FROM.includes(order.status)) {
      attentionRaised = true;
      patch.attention = 1; // not true: rowToOrder reads the column with toNumber, as the drivers return 1/0
      patch.attention_reason = `Paid after the order was ${order.status}: money moved, a person must decide (refund or fulfil)`;
    }
  }
  // Cut to the column (VARCHAR 128) here, so both engines store, and the event carries, the same text.
  if (request.providerTradeNo) patch.provider_trade_no = request.providerTradeNo.slice(0, 128);
  if (request.failure) {
    patch.failure_code = request.failure.code.slice(0, 64);
    patch.failure_message = request.failure.message.slice(0, 500);
  }
  if (request.to === 'pending' || request.to === 'paid') {
    patch.failure_code = null;
    patch.failure_message = null;
  }
  if (request.expiresAt && !Number.isNaN(request.expiresAt.getTime())) patch.expires_at = request.expiresAt.getTime();
  // The buyer's next action is only worth showing while the order can still be paid.
  if (!PAYABLE_STATUSES.includes(request.to)) patch.action_json = null;
  else if (request.action) patch.action_json = JSON.stringify(request.action);

  await update(trx, row, patch);
  await insertRow(trx, 'order_transitions', {
    order_id: order.id,
    from_status: order.status,
    to_status: request.to,
    cause: request.cause.slice(0, 500),
    source: request.source.slice(0, 64),
    created_at: now,
  });
  const { order: after } = await afterPatch(trx, row, patch);
  // The merchant's events, in this same transaction: no change without its event, no event without its change.
  const type = eventTypeFor(request.to);
  if (type) await recordEvent(trx, after, type, deps.now, { from: order.status, cause: request.cause, ...request.eventData });
  if (attentionRaised) await recordEvent(trx, after, 'payment.attention', deps.now, { reason: after.attentionReason });
  for (const hook of deps.hooks ?? []) {
    await hook(trx, { order: after, from: order.status, to: request.to, cause: request.cause, source: request.source, attentionRaised });
  }
  // Counted once the caller's transaction commits: a rolled-back move (a lost version race) never happened.
  const { metrics } = deps;
  if (metrics) trx.executionPromise?.then(() => metrics.transition(order.status, request.to)).catch(() => undefined);
  return { result: 'applied', order: after, from: order.status };
}

/** Raises the attention flag with `reason` (cut to its column) and tells the merchant. */
async function raiseAttention(trx: Knex.Transaction, row: OrderRow, reason: string, now: Date): Promise<Order> {
  const patch = { attention: 1, attention_reason: reason.slice(0, ATTENTION_REASON_MAX), version: toNumber(row.version) + 1, updated_at: now.getTime() };
  await update(trx, row, patch);
  const { order } = await afterPatch(trx, row, patch);
  await recordEvent(trx, order, 'payment.attention', now, { reason: order.attentionReason });
  return order;
}

/**
 * Money went back (core/decide.ts plan `refund`): a refund the provider made on its own gets a row
 * of its own; the refunded amount follows, the status too where it changes, and the merchant hears
 * `payment.refunded` with the refund.
 */
async function recordRefund(
  trx: Knex.Transaction,
  row: OrderRow,
  plan: Extract<Plan, { kind: 'refund' }>,
  source: string,
  deps: Pick<WriterDeps, 'hooks' | 'metrics'> & { now: Date },
  refund: RefundRow | null,
): Promise<Order> {
  const order = rowToOrder(row);
  const now = deps.now.getTime();
  let made = refund;
  if (plan.from === 'provider') {
    made = {
      id: newId('ref'),
      refund_no: newRefundNo(deps.now, 'P'),
      order_id: order.id,
      merchant_id: order.merchantId,
      amount_minor: plan.amount,
      currency: order.currency,
      status: 'succeeded',
      source: 'provider',
      provider_refund_no: plan.providerRefundNo?.slice(0, 128) ?? null,
      reason: 'made at the provider',
      failure_code: null,
      failure_message: null,
      created_at: now,
      updated_at: now,
    };
    await trx('refunds').insert(made);
  }
  const eventData = made ? { refund: toRefundView(made) } : {};
  if (plan.to) {
    const moved = await move(trx, row, { to: plan.to, cause: plan.cause, source, eventData }, deps, { refunded_minor: plan.refundedAfter });
    return moved.order;
  }
  const patch = { refunded_minor: plan.refundedAfter, version: toNumber(row.version) + 1, updated_at: now };
  await update(trx, row, patch);
  const { order: after } = await afterPatch(trx, row, patch);
  // A further partial refund does not change the status, but the merchant still hears of it.
  await recordEvent(trx, after, 'payment.refunded', deps.now, eventData);
  return after;
}

/** Carries out a plan on the locked row; returns the order as it now stands. */
async function execute(
  trx: Knex.Transaction,
  row: OrderRow,
  plan: Plan,
  source: string,
  deps: Pick<WriterDeps, 'hooks' | 'metrics'> & { now: Date },
  refund: RefundRow | null,
): Promise<Order> {
  switch (plan.kind) {
    case 'none':
    case 'refuse':
      return rowToOrder(row);
    case 'reject':
      return plan.flag ? raiseAttention(trx, row, plan.flag, deps.now) : rowToOrder(row);
    case 'flag':
      return raiseAttention(trx, row, plan.reason, deps.now);
    case 'instructions': {
      const patch = { action_json: JSON.stringify(plan.action), expires_at: plan.expiresAt.getTime(), version: toNumber(row.version) + 1, updated_at: deps.now.getTime() };
      await update(trx, row, patch);
      return (await afterPatch(trx, row, patch)).order;
    }
    case 'move': {
      const f = plan.fields;
      const moved = await move(
        trx,
        row,
        { to: plan.to, cause: plan.cause, source, providerTradeNo: f.providerTradeNo, paidAt: f.paidAt, failure: f.failure, action: f.action, expiresAt: f.expiresAt },
        deps,
        // Paid by an earlier attempt: the order's attempt becomes that one, which queries and refunds ask about.
        f.attempt ? { attempt: f.attempt } : {},
      );
      return moved.order;
    }
    case 'refund':
      return recordRefund(trx, row, plan, source, deps, refund);
  }
}

async function pendingRefundTotal(db: Db | Knex.Transaction, orderId: string): Promise<number> {
  const row = (await db('refunds').where({ order_id: orderId, status: 'pending' }).sum({ total: 'amount_minor' }).first()) as { total: unknown } | undefined;
  return toNumber(row?.total);
}

export interface NewsResult {
  plan: Plan;
  /** The order as it was when the plan was made (null: no such order). */
  before: Order | null;
  /** The order as it now stands (the same as `before` when nothing was written). */
  after: Order | null;
}

export interface ApplyNewsOptions {
  /** The label of the transition rows this writes (`callback:<inbox id>`); the news source otherwise. */
  sourceLabel?: string;
  /**
   * Runs under the order's lock before the decision; answering `false` ends the transaction with
   * nothing written (a refund another process settled first). It may return the refund row the
   * news is about.
   */
  before?: (trx: Knex.Transaction, order: Order | null) => Promise<boolean | RefundRow>;
  /**
   * Runs after the decision, before the plan is carried out, and names the source of the rows it
   * writes (a callback stored in this same transaction: its inbox row is inserted here and labels
   * them `callback:<id>`). Instead of `sourceLabel`.
   */
  label?: (trx: Knex.Transaction, plan: Plan, order: Order | null) => Promise<string>;
  /** Runs in the same transaction after the plan is carried out (a callback's inbox row is finished here). */
  inside?: (trx: Knex.Transaction, result: NewsResult) => Promise<void>;
  /** Only decide, on the order as read now: nothing is locked or written. */
  dryRun?: boolean;
  /** How many times the transaction is run in all (retryingTransaction's default otherwise). */
  attempts?: number;
}

/**
 * What `news` about an order does: the order is locked, the one decision makes a plan, and the
 * plan is written with its transition, events and refund rows in one transaction, which is tried
 * again from a fresh read when another writer won a version race.
 */
export async function applyNews(deps: WriterDeps, ref: OrderRef, news: News, source: NewsSource, options: ApplyNewsOptions = {}): Promise<NewsResult> {
  if (options.dryRun) {
    const row = (await deps.db('orders').where('id' in ref ? { id: ref.id } : { order_no: ref.orderNo }).first()) as OrderRow | undefined;
    const order = row ? rowToOrder(row) : null;
    const pendingRefunds = order && needsPendingRefunds(news) ? await pendingRefundTotal(deps.db, order.id) : 0;
    const plan = decide({ order, news, source, now: deps.now(), pendingRefunds });
    return { plan, before: order, after: order };
  }
  // Run again from a fresh read when another writer won (a version race, a deadlock, a Galera
  // certification conflict, SQLite's lock): the decision is made again on what is there then.
  return retryingTransaction(
    deps.db,
    async (trx) => {
      const row = await lockOrder(trx, ref);
      const order = row ? rowToOrder(row) : null;
      let refund: RefundRow | null = null;
      if (options.before) {
        const go = await options.before(trx, order);
        if (go === false) return { plan: { kind: 'none', outcome: 'duplicate', note: 'settled elsewhere' } as Plan, before: order, after: order };
        if (go !== true) refund = go;
      }
      const now = deps.now();
      const pendingRefunds = order && needsPendingRefunds(news) ? await pendingRefundTotal(trx, order.id) : 0;
      const plan = decide({ order, news, source, now, pendingRefunds });
      const writing = { now, hooks: deps.hooks, metrics: deps.metrics };
      const label = options.label ? await options.label(trx, plan, order) : (options.sourceLabel ?? source);
      let after = row ? await execute(trx, row, plan, label, writing, refund) : null;
      // The news says more than the move (paid, then partly refunded): decided again on the moved order.
      if (plan.kind === 'move' && plan.thenAgain && after) {
        const movedRow = (await lockOrder(trx, { id: after.id }))!;
        const next = decide({ order: after, news, source, now, pendingRefunds });
        if (next.kind === 'refund') after = await execute(trx, movedRow, next, label, writing, null);
      }
      const result: NewsResult = { plan, before: order, after };
      if (options.inside) await options.inside(trx, result);
      return result;
    },
    { operation: `news:${news.kind}`, metrics: deps.metrics, retryAlso: versionRace, attempts: options.attempts },
  );
}

/**
 * A state change asked for directly, outside the decision (tests of the state machine use it):
 * locks the order and moves it inside the caller's transaction.
 */
export async function applyTransition(
  trx: Knex.Transaction,
  orderId: string,
  request: TransitionRequest,
  options: { now: Date; hooks?: readonly TransitionHook[]; metrics?: CoreMetrics },
): Promise<TransitionResult> {
  const row = await lockOrder(trx, { id: orderId });
  if (!row) throw new Error(`order ${orderId} does not exist`);
  return move(trx, row, request, options);
}

/** `applyTransition` in a transaction of its own, retried when another writer won the version race. */
export async function transition(
  deps: WriterDeps,
  orderId: string,
  request: TransitionRequest,
  extra?: (trx: Knex.Transaction, result: TransitionResult) => Promise<void>,
): Promise<TransitionResult> {
  try {
    return await retryingTransaction(
      deps.db,
      async (trx) => {
        const result = await applyTransition(trx, orderId, request, { now: deps.now(), hooks: deps.hooks, metrics: deps.metrics });
        if (extra) await extra(trx, result);
        return result;
      },
      { operation: 'transition', metrics: deps.metrics, retryAlso: versionRace },
    );
  } catch (err) {
    if (err instanceof IllegalTransitionError) {
      deps.logger.warn({ orderId, from: err.from, to: err.to, cause: request.cause, source: request.source }, 'illegal transition refused');
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Orders coming into being, and the bookkeeping of the jobs that work on them.

/** A new order (status `created`) with its items, in the caller's transaction. */
export async function insertOrder(trx: Knex.Transaction, row: Record<string, unknown>, items: Record<string, unknown>[]): Promise<void> {
  await trx('orders').insert(row);
  await trx('order_items').insert(items);
}

/**
 * Writes the order row (its version) inside a transaction that changes what belongs to the order
 * without moving it (a refund's reservation). On a Galera cluster row locks are local to a node, so
 * two such transactions on two nodes both writing this row is what makes the second lose
 * certification and run again on what the first committed (docs/architecture.md#galera).
 */
export async function touchOrder(trx: Knex.Transaction, orderId: string): Promise<void> {
  await trx('orders').where({ id: orderId }).update({ version: trx.raw('version + 1') });
}

/** Removes an order the provider never started (nothing reached the buyer), with its items. */
export async function withdrawOrder(db: Db, orderId: string): Promise<void> {
  await retryingTransaction(
    db,
    async (trx) => {
      await trx('order_items').where({ order_id: orderId }).delete();
      await trx('orders').where({ id: orderId, status: 'created' }).delete();
    },
    { operation: 'withdraw_order' },
  );
}

/** A hosted checkout's choice, written once under the order's version. Returns whether it was this call that wrote it. */
export async function bindChoice(db: Db, order: Order, choice: { provider: string; account: string; method: string }, now: Date): Promise<boolean> {
  const taken = await db('orders')
    .where({ id: order.id, status: 'created', version: order.version })
    .whereNull('provider')
    .update({ provider: choice.provider, provider_account: choice.account, provider_method: choice.method, version: order.version + 1, updated_at: now.getTime() });
  return taken === 1;
}

/** A hosted checkout's choice undone (its provider could not start it): the buyer may choose again. */
export async function unbindChoice(db: Db, orderId: string, provider: string, now: Date): Promise<void> {
  await db('orders')
    .where({ id: orderId, status: 'created', provider })
    .update({ provider: null, provider_account: null, provider_method: null, version: db.raw('version + 1'), updated_at: now.getTime() });
}

/**
 * Pay again (core/checkout.ts#startAgain): counts the failed order's attempt up, once, under its
 * version. Returns whether it was this call that did (a double click finds it done).
 */
export async function countAttempt(db: Db, order: Order, now: Date): Promise<boolean> {
  const taken = await db('orders')
    .where({ id: order.id, status: 'failed', attempt: order.attempt, version: order.version })
    .update({ attempt: order.attempt + 1, version: order.version + 1, updated_at: now.getTime() });
  return taken === 1;
}

/** Holds a leased order a while longer; false when another worker has it now. */
export async function renewOrderLease(db: Db, orderId: string, owner: string, until: number): Promise<boolean> {
  return (await db('orders').where({ id: orderId, lease_owner: owner }).update({ lease_until: until })) === 1;
}

export async function releaseOrderLease(db: Db, orderId: string, owner: string): Promise<void> {
  await db('orders').where({ id: orderId, lease_owner: owner }).update({ lease_owner: null, lease_until: null });
}

/** Reconciliation asked about the order: when to ask next, and the tally of faults. Releases the lease. */
export async function recordReconcileAsked(db: Db, orderId: string, owner: string, tally: { attempts: number; faults: number; next: number }): Promise<void> {
  await db('orders')
    .where({ id: orderId, lease_owner: owner })
    .update({ reconcile_attempts: tally.attempts, reconcile_faults: tally.faults, next_reconcile_at: tally.next, lease_owner: null, lease_until: null });
}

/** Raises attention on an order outside any news (reconciliation could not learn its state). */
export async function flagOrder(deps: WriterDeps, orderId: string, reason: string): Promise<void> {
  await retryingTransaction(
    deps.db,
    async (trx) => {
      const row = await lockOrder(trx, { id: orderId });
      if (row) await raiseAttention(trx, row, reason, deps.now());
    },
    { operation: 'flag_order', metrics: deps.metrics, retryAlso: versionRace },
  );
}
