import type { Knex } from 'knex';
import { dbKind, type Db } from './db.ts';
import { IllegalTransitionError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { CoreMetrics } from './metrics.ts';
import { eventTypeFor, recordEvent } from './outbox.ts';
import type { NextAction } from './payment-provider.ts';
import { rowToOrder, type Order, type OrderRow } from './orders.ts';
import { ATTENTION_ON_PAID_FROM, PAYABLE_STATUSES, checkTransition, type OrderStatus } from './state-machine.ts';

export interface TransitionRequest {
  to: OrderStatus;
  /** Why, in words an operator understands: "provider reported paid", "merchant cancelled". */
  cause: string;
  /** api | callback:<inbox id> | reconcile | expiry */
  source: string;
  /** Facts that travel with the move. */
  providerTradeNo?: string | null;
  paidAt?: Date | null;
  failure?: { code: string; message: string } | null;
  /** The buyer's next action, stored with the move to pending. */
  action?: NextAction;
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

/** Runs inside the transition's own DB transaction (the merchant-event outbox hooks in here). */
export type TransitionHook = (trx: Knex.Transaction, event: TransitionEvent) => Promise<void>;

export type TransitionResult =
  | { result: 'applied'; order: Order; from: OrderStatus }
  | { result: 'noop'; order: Order };

function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
}

/**
 * Half of a surrogate pair (a character cut by a slice, or sent so by a provider): the drivers
 * store replacement characters for it, each its own way, so such a row is read back as stored.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Lost an optimistic version race; the caller reads again and retries. */
class VersionConflict extends Error {}

/**
 * Applies one state change inside the caller's transaction: locks the order row (MySQL) or relies
 * on SQLite's single writer, checks the move against the state machine, updates the order with a
 * version check and writes the transition row. A repeat of the current state is a no-op; an illegal
 * move throws IllegalTransitionError and writes nothing.
 */
export async function applyTransition(
  trx: Knex.Transaction,
  orderId: string,
  request: TransitionRequest,
  options: { now: Date; hooks?: readonly TransitionHook[]; metrics?: CoreMetrics },
): Promise<TransitionResult> {
  let query = trx('orders').where({ id: orderId }).first();
  if (dbKind(trx as unknown as Db) === 'mysql') query = query.forUpdate();
  const row = (await query) as OrderRow | undefined;
  if (!row) throw new Error(`order ${orderId} does not exist`);
  const order = rowToOrder(row);
  const check = checkTransition(order.status, request.to);
  if (check === 'noop') return { result: 'noop', order };
  if (check === 'illegal') throw new IllegalTransitionError(order.status, request.to);

  const now = options.now.getTime();
  const patch: Record<string, unknown> = {
    status: request.to,
    version: order.version + 1,
    updated_at: now,
  };
  let attentionRaised = false;
  if (request.to === 'paid') {
    patch.paid_at = (request.paidAt ?? options.now).getTime();
    if (ATTENTION_ON_PAID_FROM.includes(order.status)) {
      attentionRaised = true;
      patch.attention = 1; // not true: rowToOrder reads the column with toNumber, as the drivers return 1/0
      patch.attention_reason = `Paid after the order was ${order.status}: money moved, a person must decide (refund or fulfil)`;
    }
  }
  // Cut to the column (VARCHAR 128) here, so both engines store, and the event carries, the same text.
  if (request.providerTradeNo) patch.provider_trade_no = request.providerTradeNo.slice(0, 128);
  if (request.failure !== undefined) {
    patch.failure_code = request.failure?.code.slice(0, 64) ?? null;
    patch.failure_message = request.failure?.message.slice(0, 500) ?? null;
  }
  if (request.to === 'pending' || request.to === 'paid') {
    patch.failure_code = null;
    patch.failure_message = null;
  }
  // The buyer's next action is only worth showing while the order can still be paid.
  if (!PAYABLE_STATUSES.includes(request.to)) patch.action_json = null;
  else if (request.action) patch.action_json = JSON.stringify(request.action);

  const updated = await trx('orders').where({ id: orderId, version: order.version }).update(patch);
  if (updated !== 1) throw new VersionConflict();
  await trx('order_transitions').insert({
    order_id: orderId,
    from_status: order.status,
    to_status: request.to,
    cause: request.cause.slice(0, 500),
    source: request.source.slice(0, 64),
    created_at: now,
  });
  // The row as it now stands is the row read under the lock plus the patch (no triggers, nothing
  // else writes it meanwhile: the version check above and the row lock / single writer): no need
  // to select it again. test/unit/transition.test.ts compares it with a fresh read on both databases.
  const illFormed = Object.values(patch).some((v) => typeof v === 'string' && LONE_SURROGATE.test(v));
  const after = illFormed
    ? rowToOrder((await trx('orders').where({ id: orderId }).first()) as OrderRow)
    : rowToOrder({ ...row, ...patch } as OrderRow);
  // The merchant's events, in this same transaction: no change without its event, no event without its change.
  const type = eventTypeFor(request.to);
  if (type) await recordEvent(trx, after, type, options.now, { from: order.status, cause: request.cause, ...request.eventData });
  if (attentionRaised) await recordEvent(trx, after, 'payment.attention', options.now, { reason: after.attentionReason });
  for (const hook of options.hooks ?? []) {
    await hook(trx, { order: after, from: order.status, to: request.to, cause: request.cause, source: request.source, attentionRaised });
  }
  // Counted once the caller's transaction commits: a rolled-back move (a lost version race) never happened.
  const { metrics } = options;
  if (metrics) trx.executionPromise?.then(() => metrics.transition(order.status, request.to)).catch(() => undefined);
  return { result: 'applied', order: after, from: order.status };
}

/**
 * `applyTransition` in a transaction of its own, retried when another writer won the version race.
 * An illegal move is logged and rethrown, never applied.
 */
export async function transition(
  deps: { db: Db; logger: Logger; now: () => Date; hooks?: readonly TransitionHook[]; metrics?: CoreMetrics },
  orderId: string,
  request: TransitionRequest,
  extra?: (trx: Knex.Transaction, result: TransitionResult) => Promise<void>,
): Promise<TransitionResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.transaction(async (trx) => {
        const result = await applyTransition(trx, orderId, request, { now: deps.now(), hooks: deps.hooks, metrics: deps.metrics });
        if (extra) await extra(trx, result);
        return result;
      });
    } catch (err) {
      if (err instanceof VersionConflict && attempt < 5) continue;
      // Another process holds SQLite's write lock past busy_timeout, or our read snapshot went stale.
      if (isSqliteBusy(err) && attempt < 5) {
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
        continue;
      }
      if (err instanceof IllegalTransitionError) {
        deps.logger.warn({ orderId, from: err.from, to: err.to, cause: request.cause, source: request.source }, 'illegal transition refused');
      }
      throw err;
    }
  }
}
