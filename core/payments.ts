import type { ListPaymentsQuery } from './api-schemas.ts';
import { toNumber } from './db.ts';
import type { CoreDeps } from './deps.ts';
import { decide } from './decide.ts';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { findMerchantOrder, loadItems, loadSnapshot, rowToOrder, type Order, type OrderRow } from './orders.ts';
export { actionUsable, toPaymentView, type PaymentView } from './payment-view.ts';
import { toPaymentView, type PaymentView } from './payment-view.ts';
import { applyNews } from './order-writer.ts';

export async function getPayment(deps: CoreDeps, merchantId: string, id: string): Promise<PaymentView> {
  const order = await findMerchantOrder(deps.db, merchantId, id);
  // Another merchant's order is indistinguishable from one that does not exist.
  if (!order) throw new NotFoundError('Payment');
  return toPaymentView(order, deps.now(), await loadItems(deps.db, order.id));
}

interface Cursor {
  c: number;
  i: string;
}

function encodeCursor(order: Order): string {
  return Buffer.from(JSON.stringify({ c: order.createdAt.getTime(), i: order.id } satisfies Cursor)).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (Number.isSafeInteger(value.c) && typeof value.i === 'string' && /^pay_[A-Za-z0-9]{1,40}$/.test(value.i)) return value;
  } catch {
    // fall through
  }
  throw ValidationError.field('cursor', 'is not a cursor this API returned');
}

/** Newest first, keyset-paged on (created_at, id) so pages stay stable while orders arrive. */
export async function listPayments(
  deps: CoreDeps,
  merchantId: string,
  query: ListPaymentsQuery,
): Promise<{ data: PaymentView[]; nextCursor: string | null }> {
  const limit = query.limit ?? 20;
  const q = deps.db('orders').where({ merchant_id: merchantId });
  if (query.status) q.andWhere({ status: query.status });
  if (query.provider) q.andWhere({ provider: query.provider });
  if (query.from) q.andWhere('created_at', '>=', Date.parse(query.from));
  if (query.to) q.andWhere('created_at', '<', Date.parse(query.to));
  if (query.cursor) {
    const { c, i } = decodeCursor(query.cursor);
    q.andWhere((w) => w.where('created_at', '<', c).orWhere((x) => x.where('created_at', '=', c).andWhere('id', '<', i)));
  }
  const rows = (await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit + 1)) as OrderRow[];
  const orders = rows.slice(0, limit).map(rowToOrder);
  const now = deps.now();
  return {
    data: orders.map((o) => toPaymentView(o, now)),
    nextCursor: rows.length > limit ? encodeCursor(orders[orders.length - 1]!) : null,
  };
}

/**
 * Cancels an unpaid order: at the provider first when it can close the payment, then here. A
 * provider that cannot close it may still take the money; that payment then lands as paid with an
 * attention flag (docs/architecture.md#the-state-machine).
 */
export async function cancelPayment(deps: CoreDeps, merchantId: string, id: string, reason?: string, source: 'api' | 'admin' = 'api'): Promise<PaymentView> {
  const order = await findMerchantOrder(deps.db, merchantId, id);
  if (!order) throw new NotFoundError('Payment');
  // Asked of the one decision first, on the order as read: nothing is sent to a provider for an
  // order that cannot be cancelled.
  const first = decide({ order, news: { kind: 'cancel', how: '', reason }, source, now: deps.now(), pendingRefunds: 0 });
  if (first.kind === 'refuse') throw new ConflictError(first.code, first.reason);
  if (first.kind === 'none') return toPaymentView(order, deps.now(), await loadItems(deps.db, id));
  const provider = deps.registry.find(order.provider, order.account);
  let atProvider = 'the provider cannot close payments; cancelled here only';
  if (provider?.cancel && provider.capabilities.has('cancel')) {
    const result = await provider.cancel({ order: await loadSnapshot(deps.db, order) });
    if (result.outcome === 'not_cancellable') {
      throw new ConflictError('not_cancellable', `${order.provider} refused to close the payment: ${result.code} ${result.message}`);
    }
    atProvider = result.outcome === 'cancelled' ? 'closed at the provider' : `cancelled here only: ${result.message}`;
  }
  const done = await applyNews(deps, { id }, { kind: 'cancel', how: atProvider, reason }, source);
  if (done.plan.kind === 'refuse') {
    throw new ConflictError('not_cancellable', `The payment became ${done.before?.status} meanwhile and cannot be cancelled`);
  }
  return toPaymentView(done.after!, deps.now(), await loadItems(deps.db, id));
}

export async function countOrders(deps: CoreDeps): Promise<number> {
  const row = (await deps.db('orders').count({ n: '*' }).first()) as { n: unknown } | undefined;
  return toNumber(row?.n);
}
