import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { CreateRefundInput } from './api-schemas.ts';
import { dbKind, errorSummary, retryingTransaction, toNumber } from './db.ts';
import type { CoreDeps } from './deps.ts';
import { ConflictError, NotFoundError, UnprocessableError } from './errors.ts';
import { newId } from './ids.ts';
import { applyNews, touchOrder } from './order-writer.ts';
import { findMerchantOrder, findOrder, loadSnapshot, rowToOrder, type OrderRow } from './orders.ts';
import { recordEvent } from './outbox.ts';
import type { RefundResult } from './payment-provider.ts';
import { newRefundNo, refundStamp, toRefundView, type RefundRow, type RefundView } from './refund-rows.ts';

/**
 * Refunds (issue 5). The amount is reserved first, in a transaction that locks the order, so the
 * refunds of one order (pending and succeeded) can never add up to more than was paid, however
 * many requests race. Then the provider is asked, with our refund number as its idempotency key.
 */

export type { RefundRow, RefundStatus, RefundView } from './refund-rows.ts';
const toView = toRefundView;

const REFUNDABLE = ['paid', 'partially_refunded'];

/**
 * The refund number for one deliberate request, the same every time that request is sent again
 * (the dashboard's confirmation, whichever process it lands on): the same shape as newRefundNo,
 * its tail taken from a hash of `key` instead of at random.
 */
export function refundNoFor(key: string, at: Date): string {
  const digest = createHash('sha256').update(key).digest();
  const tail = [...digest.subarray(0, 8)].map((b) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[b % 36]).join('');
  return `R${refundStamp(at)}${tail}`;
}

async function lockOrder(trx: Knex.Transaction, orderId: string): Promise<OrderRow | undefined> {
  const q = trx('orders').where({ id: orderId }).first();
  return (dbKind(trx as unknown as Knex) === 'mysql' ? await q.forUpdate() : await q) as OrderRow | undefined;
}

async function reservedAmount(trx: Knex.Transaction, orderId: string): Promise<number> {
  const row = (await trx('refunds').where({ order_id: orderId }).whereIn('status', ['pending', 'succeeded']).sum({ total: 'amount_minor' }).first()) as
    | { total: unknown }
    | undefined;
  return toNumber(row?.total);
}

/**
 * With `options.refundNo` (refundNoFor) the request is made once: a second one with that number,
 * from any process, finds the first under the order's lock and is refused before the provider is
 * asked (409 refund_already_made).
 */
export async function createRefund(
  deps: CoreDeps,
  merchantId: string,
  paymentId: string,
  input: CreateRefundInput,
  options: { refundNo?: string } = {},
): Promise<RefundView> {
  const order = await findMerchantOrder(deps.db, merchantId, paymentId);
  if (!order) throw new NotFoundError('Payment');
  const provider = deps.registry.find(order.provider, order.account);
  if (!provider?.refund || !provider.capabilities.has('refund')) {
    throw new ConflictError('refund_not_supported', `${order.provider} payments cannot be refunded through paygate`);
  }
  if (provider.refundMethods && order.method !== null && !provider.refundMethods.includes(order.method)) {
    // Asking again can never help: refused before a refund row exists.
    throw new UnprocessableError('refund_unsupported', `${order.provider} cannot refund ${order.method} payments; refund the buyer outside paygate`, [
      { path: 'method', message: `refunds are possible for ${provider.refundMethods.join(', ') || 'no method'} only` },
    ]);
  }

  // 1. Reserve: the order row is locked (MariaDB) or the single writer holds (SQLite) while we add up.
  const now = deps.now();
  const refund: RefundRow = await retryingTransaction(deps.db, async (trx) => {
    const locked = await lockOrder(trx, order.id);
    const current = rowToOrder(locked!);
    if (!REFUNDABLE.includes(current.status)) {
      throw new ConflictError('not_refundable', `A ${current.status} payment cannot be refunded`);
    }
    if (options.refundNo) {
      const made = (await trx('refunds').where({ refund_no: options.refundNo }).first('refund_no', 'status')) as { refund_no: string; status: string } | undefined;
      if (made) throw new ConflictError('refund_already_made', `Refund ${made.refund_no} was already made by this request (${made.status})`);
    }
    const left = current.amount - (await reservedAmount(trx, order.id));
    if (input.amount > left) {
      throw new ConflictError('refund_exceeds_payment', `At most ${left} can still be refunded`, [
        { path: 'amount', message: `exceeds what is left to refund (${left})` },
      ]);
    }
    const row: RefundRow = {
      id: newId('ref'),
      refund_no: options.refundNo ?? newRefundNo(now),
      order_id: order.id,
      merchant_id: merchantId,
      amount_minor: input.amount,
      currency: current.currency,
      status: 'pending',
      provider_refund_no: null,
      reason: input.reason ?? null,
      failure_code: null,
      failure_message: null,
      created_at: now.getTime(),
      updated_at: now.getTime(),
    };
    await trx('refunds').insert(row);
    // On a Galera cluster the row lock above holds on this node only: two reservations on two
    // nodes would each add up alone and both commit (docs/architecture.md#galera).
    await touchOrder(trx, order.id);
    return row;
  }, { operation: 'refund_reserve', metrics: deps.metrics });

  // 2. Ask the provider. A fault leaves the refund pending (its amount stays reserved): the money
  // may or may not have moved, and only the provider can say which.
  // From here on the refund exists: whatever goes wrong, the merchant gets it back as pending (202),
  // never a 5xx that would invite a second refund under a new number. The recheck job settles it.
  let settled: RefundRow;
  try {
    const result = await provider.refund({ order: await loadSnapshot(deps.db, order), refundNo: refund.refund_no, amount: input.amount, reason: input.reason });
    settled = await settleRefund(deps, refund, result);
  } catch (err) {
    deps.logger.warn({ refundNo: refund.refund_no, err: errorSummary(err) }, 'refund outcome unknown; left pending');
    settled = refund;
  }
  if (settled.status === 'pending') await recordRefundPending(deps, settled);
  return toView(settled);
}

/**
 * `refund.pending` (docs/webhooks.md): the provider has not settled the refund on the spot, so the
 * merchant hears of it now and of its end later (`payment.refunded` or `refund.failed`). Written
 * after the provider's answer, so it is best effort: the refund row and its later event are the record.
 */
async function recordRefundPending(deps: CoreDeps, refund: RefundRow): Promise<void> {
  try {
    await retryingTransaction(deps.db, async (trx) => {
      // Locked: a settle committing meanwhile either comes first (and this writes nothing) or waits
      // for this event, so refund.pending never follows the refund's final event.
      const read = trx('refunds').where({ id: refund.id }).first();
      const current = (dbKind(trx as unknown as Knex) === 'mysql' ? await read.forUpdate() : await read) as RefundRow | undefined;
      const order = await findOrder(trx, refund.order_id);
      // Settled meanwhile (a notification, the recheck job): its own event tells the story.
      if (!current || current.status !== 'pending' || !order) return;
      // Written while still pending (on Galera the lock above is this node's only: a settle on
      // another node then conflicts with this write at commit instead of passing it).
      if ((await trx('refunds').where({ id: refund.id, status: 'pending' }).update({ updated_at: Math.max(deps.now().getTime(), toNumber(current.updated_at) + 1) })) !== 1) return;
      await recordEvent(trx, order, 'refund.pending', deps.now(), { refund: toView(current) });
    }, { operation: 'refund_pending_event', metrics: deps.metrics });
  } catch (err) {
    deps.logger.warn({ refundNo: refund.refund_no, err: errorSummary(err) }, 'could not record refund.pending');
  }
}

/**
 * Records the provider's answer. A failure only marks the refund; a success goes through the one
 * decision (core/decide.ts) and its writer: the refund row, the order's refunded amount and status,
 * and the merchant's event in one transaction, under the order's lock (locks in one order
 * everywhere: the order, then its refunds, so refunds of one order never deadlock on MariaDB).
 */
export async function settleRefund(deps: CoreDeps, refund: RefundRow, result: RefundResult): Promise<RefundRow> {
  const now = deps.now();
  if (result.outcome === 'pending') return refund;
  if (result.outcome === 'failed') {
    const patch = { status: 'failed' as const, failure_code: result.code.slice(0, 64), failure_message: result.message.slice(0, 500), updated_at: now.getTime() };
    const failed = { ...refund, ...patch };
    // The refund and its `refund.failed` event together, written by whoever moves it out of pending.
    await retryingTransaction(deps.db, async (trx) => {
      if ((await trx('refunds').where({ id: refund.id, status: 'pending' }).update(patch)) !== 1) return;
      const order = await findOrder(trx, refund.order_id);
      if (order) await recordEvent(trx, order, 'refund.failed', now, { refund: toView(failed) });
    }, { operation: 'refund_failed', metrics: deps.metrics });
    return failed;
  }
  const patch = { status: 'succeeded' as const, provider_refund_no: result.providerRefundNo?.slice(0, 128) ?? null, updated_at: now.getTime() };
  const settled = { ...refund, ...patch };
  await applyNews(
    deps,
    { id: refund.order_id },
    { kind: 'refund_succeeded', refundNo: refund.refund_no, amount: toNumber(refund.amount_minor), providerRefundNo: patch.provider_refund_no },
    'api',
    {
      // Whoever moves the row out of pending settles it; anyone else writes nothing.
      before: async (trx) => ((await trx('refunds').where({ id: refund.id, status: 'pending' }).update(patch)) === 1 ? settled : false),
    },
  );
  return settled;
}

export async function listRefunds(deps: CoreDeps, merchantId: string, paymentId: string): Promise<RefundView[]> {
  const order = await findMerchantOrder(deps.db, merchantId, paymentId);
  if (!order) throw new NotFoundError('Payment');
  const rows = (await deps.db('refunds').where({ order_id: order.id, merchant_id: merchantId }).orderBy([{ column: 'created_at' }, { column: 'id' }])) as RefundRow[];
  return rows.map(toView);
}

