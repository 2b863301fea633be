import type { Knex } from 'knex';
import { toNumber, type Db } from '../../../core/db.ts';
import { rowToOrder, type OrderRow } from '../../../core/orders.ts';
import type { OrderStatus } from '../../../core/state-machine.ts';

/** The dashboard's orders list: plain knex, the same on SQLite and MariaDB. Display-free. */


export interface AdminOrderFilter {
  status?: OrderStatus;
  provider?: string;
  merchantId?: string;
  /** created_at >= from (epoch ms). */
  from?: number;
  /** created_at < to (epoch ms). */
  to?: number;
  attentionOnly?: boolean;
  /** An exact order number, payment id or merchant order id: what a merchant quotes on the phone. */
  find?: string;
}

/** A position in the newest-first list: the (created_at, id) of a row. */
export interface OrderCursor {
  createdAt: number;
  id: string;
}

export interface AdminOrderSummary {
  id: string;
  orderNo: string;
  merchantId: string;
  merchantName: string | null;
  merchantOrderId: string;
  /** Null while a hosted checkout's buyer has not chosen. */
  provider: string | null;
  account: string | null;
  method: string | null;
  currency: string;
  amount: number;
  refundedAmount: number;
  status: OrderStatus;
  attention: boolean;
  attentionReason: string | null;
  createdAt: Date;
}

export interface AdminOrderPage {
  orders: AdminOrderSummary[];
  /** Orders matching the filter, all pages. */
  total: number;
  /** Cursor for the page before (newer rows), null on the first page. */
  newer: OrderCursor | null;
  /** Cursor for the page after (older rows), null on the last page. */
  older: OrderCursor | null;
}

export const MAX_PAGE_SIZE = 100;

function filtered(db: Db, filter: AdminOrderFilter): Knex.QueryBuilder {
  const q = db('orders');
  if (filter.status) q.where('orders.status', filter.status);
  if (filter.provider) q.where('orders.provider', filter.provider);
  if (filter.merchantId) q.where('orders.merchant_id', filter.merchantId);
  if (filter.from !== undefined) q.where('orders.created_at', '>=', filter.from);
  if (filter.to !== undefined) q.where('orders.created_at', '<', filter.to);
  if (filter.attentionOnly) q.where('orders.attention', true);
  const { find } = filter;
  if (find) q.where((w) => w.where('orders.order_no', find).orWhere('orders.id', find).orWhere('orders.merchant_order_id', find));
  return q;
}

type SummaryRow = OrderRow & { merchant_name: string | null };

function toSummary(row: SummaryRow): AdminOrderSummary {
  const order = rowToOrder(row);
  return {
    id: order.id,
    orderNo: order.orderNo,
    merchantId: order.merchantId,
    merchantName: row.merchant_name,
    merchantOrderId: order.merchantOrderId,
    provider: row.provider ?? null,
    account: row.provider_account ?? null,
    method: row.provider_method ?? null,
    currency: order.currency,
    amount: order.amount,
    refundedAmount: order.refundedAmount,
    status: order.status,
    attention: order.attention,
    attentionReason: order.attentionReason,
    createdAt: order.createdAt,
  };
}

const cursorOf = (o: AdminOrderSummary): OrderCursor => ({ createdAt: o.createdAt.getTime(), id: o.id });

/**
 * Newest first, keyset-paged on (created_at, id): `after` gives the rows older than a cursor,
 * `before` the rows newer than one, so pages stay put while orders arrive.
 */
export async function listAdminOrders(
  db: Db,
  filter: AdminOrderFilter,
  page: { limit: number; after?: OrderCursor; before?: OrderCursor },
): Promise<AdminOrderPage> {
  const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.trunc(page.limit)));
  const q = filtered(db, filter)
    .leftJoin('merchants', 'merchants.id', 'orders.merchant_id')
    .select('orders.*', 'merchants.name as merchant_name');
  const backwards = !page.after && page.before !== undefined;
  const at = page.after ?? page.before;
  if (at) {
    const op = backwards ? '>' : '<';
    q.where((w) => w.where('orders.created_at', op, at.createdAt).orWhere((x) => x.where('orders.created_at', at.createdAt).andWhere('orders.id', op, at.id)));
  }
  const dir = backwards ? 'asc' : 'desc';
  const rows = (await q.orderBy([{ column: 'orders.created_at', order: dir }, { column: 'orders.id', order: dir }]).limit(limit + 1)) as SummaryRow[];
  const more = rows.length > limit;
  const orders = rows.slice(0, limit).map(toSummary);
  if (backwards) orders.reverse();
  const countRow = (await filtered(db, filter).count({ n: '*' }).first()) as { n: unknown } | undefined;
  const first = orders[0];
  const last = orders[orders.length - 1];
  return {
    orders,
    total: toNumber(countRow?.n),
    newer: first && (backwards ? more : at !== undefined) ? cursorOf(first) : null,
    older: last && (backwards || more) ? cursorOf(last) : null,
  };
}

export async function listMerchantNames(db: Db, limit = 500): Promise<{ id: string; name: string }[]> {
  return (await db('merchants').select('id', 'name').orderBy([{ column: 'name' }, { column: 'id' }]).limit(limit)) as { id: string; name: string }[];
}

/** Orders that wait for a person, and orders still waiting for their payment. */
export async function countOpenWork(db: Db): Promise<{ attention: number; waiting: number }> {
  const attention = (await db('orders').where('attention', true).count({ n: '*' }).first()) as { n: unknown } | undefined;
  const waiting = (await db('orders').where('status', 'pending').count({ n: '*' }).first()) as { n: unknown } | undefined;
  return { attention: toNumber(attention?.n), waiting: toNumber(waiting?.n) };
}
