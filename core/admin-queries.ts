import { toNumber, type Db } from './db.ts';
import type { CoreDeps } from './deps.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { replayEvent, type EventRow } from './events.ts';
import { randomString } from './ids.ts';
import { applyQueriedFacts } from './jobs/reconcile.ts';
import { findOrder, loadSnapshot, type Order } from './orders.ts';
import type { PaymentOutcome } from './payment-provider.ts';
import { cancelPayment } from './payments.ts';
import { createRefund, type RefundView } from './refunds.ts';
import { deliverEvent, WEBHOOK_LEASE_MS, WEBHOOK_TIMEOUT_MS, type DeliveryOutcome } from './webhooks.ts';

/**
 * The operators' dashboard's actions (issue 6), as thin wrappers over the services the merchant
 * API uses, so the same rules hold: the same state machine, the same refund reservation under a
 * lock, the same replay. The services take a merchant id; an operator acts for whichever merchant
 * owns the order. Display-free: the server says what happened. (The dashboard's read-only queries
 * are in server/admin/queries/.)
 */

export async function getOrderForAdmin(db: Db, orderId: string): Promise<Order> {
  const order = await findOrder(db, orderId);
  if (!order) throw new NotFoundError('Order');
  return order;
}

/** What can still be refunded: paid minus refunds pending or succeeded (createRefund re-checks under a lock). */
export async function refundableAmount(db: Db, order: Order): Promise<number> {
  const row = (await db('refunds').where({ order_id: order.id }).whereIn('status', ['pending', 'succeeded']).sum({ total: 'amount_minor' }).first()) as { total: unknown } | undefined;
  return Math.max(0, order.amount - toNumber(row?.total));
}

export interface ReconcileNowResult {
  /** What the provider says, or null when it does not know the order. */
  reported: PaymentOutcome | null;
  moved: boolean;
  order: Order;
}

/** The reconcile job's work for one order, now: ask the provider, apply what it says. */
export async function reconcileOrderNow(deps: CoreDeps, orderId: string): Promise<ReconcileNowResult> {
  const order = await getOrderForAdmin(deps.db, orderId);
  if (!order.provider) throw new ConflictError('no_provider', 'No provider has been chosen for this order yet');
  const provider = deps.registry.find(order.provider, order.account);
  if (!provider) throw new ConflictError('provider_not_configured', `No configured account ${order.provider}/${order.account}`);
  const answer = await provider.query({ order: await loadSnapshot(deps.db, order) });
  if (!answer.found) return { reported: null, moved: false, order };
  // The core takes only 'reconcile' as this source: the move is recorded as reconciliation.
  const moved = await applyQueriedFacts(deps, order, answer.facts);
  return { reported: answer.facts.outcome, moved, order: (await findOrder(deps.db, order.id))! };
}

/** The merchant API's cancel on the merchant's behalf; `actor` goes into the recorded cause. */
export async function cancelOrderAsAdmin(deps: CoreDeps, orderId: string, actor: string, reason?: string): Promise<Order> {
  const order = await getOrderForAdmin(deps.db, orderId);
  await cancelPayment(deps, order.merchantId, order.id, `by ${actor}${reason ? `: ${reason}` : ''}`, 'admin');
  return (await findOrder(deps.db, order.id))!;
}

/** The merchant API's refund on the merchant's behalf (same reservation, same provider call). */
/** `refundNo` (refundNoFor) makes the refund once however often the confirmation arrives. */
export async function refundOrderAsAdmin(deps: CoreDeps, orderId: string, amount: number, reason: string | undefined, refundNo: string): Promise<RefundView> {
  const order = await getOrderForAdmin(deps.db, orderId);
  return createRefund(deps, order.merchantId, order.id, { amount, ...(reason ? { reason } : {}) }, { refundNo });
}

export interface ReplayResult {
  /** `queued` when a worker holds the event right now: it is due and goes out with the worker. */
  delivery: DeliveryOutcome | 'queued';
  /** The attempt this replay made, when it made one. */
  attempt: { responseStatus: number | null; error: string | null; durationMs: number } | null;
}

/**
 * Queues an event again (the merchant API's replay) and delivers it at once under a lease of our
 * own, so the operator sees the merchant's answer. A worker holding the event keeps it; the lease
 * makes sure two deliveries of one event never overlap.
 */
export async function replayEventAsAdmin(
  deps: CoreDeps,
  orderId: string,
  publicId: string,
  options: { fetchImpl?: typeof fetch; timeoutMs?: number } = {},
): Promise<ReplayResult> {
  const row = (await deps.db('events').where({ public_id: publicId, order_id: orderId }).first()) as EventRow | undefined;
  if (!row) throw new NotFoundError('Event');
  await replayEvent(deps, row.merchant_id, publicId);
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const leaseMs = Math.max(WEBHOOK_LEASE_MS, timeoutMs + 30_000);
  const now = deps.now().getTime();
  const token = `admin:${randomString(12)}`;
  const claimed = await deps.db('events')
    .where({ id: row.id, delivery_status: 'pending' })
    .andWhere((w) => w.whereNull('lease_until').orWhere('lease_until', '<', now))
    .update({ lease_owner: token, lease_until: now + leaseMs });
  if (claimed !== 1) return { delivery: 'queued', attempt: null };
  const leased = (await deps.db('events').where({ id: row.id, lease_owner: token }).first()) as EventRow;
  // The attempt this delivery makes is the one sent from now on: not the one with the highest id,
  // since ids interleave across the nodes of a Galera cluster.
  const before = (await deps.db('webhook_attempts').where({ event_id: row.id }).select('id')) as { id: unknown }[];
  const earlier = new Set(before.map((a) => toNumber(a.id)));
  const delivery = await deliverEvent(deps, leased, { timeoutMs, leaseMs, fetchImpl: options.fetchImpl });
  const made = ((await deps.db('webhook_attempts').where({ event_id: row.id }).orderBy([{ column: 'attempted_at', order: 'desc' }, { column: 'id', order: 'desc' }])) as (
    | { id: unknown; response_status: unknown; error: string | null; duration_ms: unknown }
  )[]).find((a) => !earlier.has(toNumber(a.id))) as { response_status: unknown; error: string | null; duration_ms: unknown } | undefined;
  return {
    delivery,
    attempt: made ? { responseStatus: made.response_status === null ? null : toNumber(made.response_status), error: made.error, durationMs: toNumber(made.duration_ms) } : null,
  };
}
