import type { Knex } from 'knex';
import { toNumber, type Db } from './db.ts';
import type { NextAction, OrderItemSnapshot, OrderSnapshot } from './payment-provider.ts';
import { isOrderStatus, type OrderStatus } from './state-machine.ts';

export interface Order {
  id: string;
  merchantId: string;
  merchantOrderId: string;
  orderNo: string;
  subject: string;
  currency: string;
  amount: number;
  /** Money given back so far (succeeded refunds), minor units. */
  refundedAmount: number;
  status: OrderStatus;
  /** NULL until the buyer picks one on a hosted checkout. */
  provider: string | null;
  account: string | null;
  method: string | null;
  providerTradeNo: string | null;
  /** On a hosted checkout: the accounts and methods the buyer may pick from. */
  choices: { provider: string; account: string; method: string }[] | null;
  action: NextAction | null;
  failure: { code: string; message: string } | null;
  returnUrl: string | null;
  paidAt: Date | null;
  expiresAt: Date;
  attention: boolean;
  attentionReason: string | null;
  /** Taken by a provider simulator: no money moved, whatever its status says. */
  simulated: boolean;
  /** The merchant's key-value notes (`metadata`), returned and carried in events as given. */
  metadata: Record<string, string>;
  /** Which try at the provider this is (1 first); counted up by pay-again (core/checkout.ts#startAgain). */
  attempt: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderRow {
  id: string;
  merchant_id: string;
  merchant_order_id: string;
  order_no: string;
  subject: string;
  currency: string;
  amount_minor: number | string;
  refunded_minor?: number | string;
  status: string;
  provider: string | null;
  provider_account: string | null;
  provider_method: string | null;
  provider_trade_no: string | null;
  choices_json?: string | null;
  action_json: string | null;
  failure_code: string | null;
  failure_message: string | null;
  return_url: string | null;
  paid_at: number | string | null;
  expires_at: number | string;
  attention: number | boolean;
  attention_reason: string | null;
  simulated?: number | boolean;
  metadata_json?: string | null;
  attempt?: number | string;
  version: number;
  created_at: number | string;
  updated_at: number | string;
}

const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(toNumber(v)));

export function rowToOrder(row: OrderRow): Order {
  if (!isOrderStatus(row.status)) throw new Error(`order ${row.id} has unknown status ${row.status}`);
  return {
    id: row.id,
    merchantId: row.merchant_id,
    merchantOrderId: row.merchant_order_id,
    orderNo: row.order_no,
    subject: row.subject,
    currency: row.currency,
    amount: toNumber(row.amount_minor),
    refundedAmount: toNumber(row.refunded_minor ?? 0),
    status: row.status,
    provider: row.provider,
    account: row.provider_account,
    method: row.provider_method,
    providerTradeNo: row.provider_trade_no,
    choices: row.choices_json ? JSON.parse(row.choices_json) : null,
    action: row.action_json ? (JSON.parse(row.action_json) as NextAction) : null,
    failure: row.failure_code ? { code: row.failure_code, message: row.failure_message ?? '' } : null,
    returnUrl: row.return_url,
    paidAt: dateOrNull(row.paid_at),
    expiresAt: new Date(toNumber(row.expires_at)),
    attention: Boolean(toNumber(row.attention)),
    attentionReason: row.attention_reason,
    simulated: row.simulated === true || toNumber(row.simulated) === 1,
    metadata: row.metadata_json ? (JSON.parse(row.metadata_json) as Record<string, string>) : {},
    attempt: row.attempt === undefined || row.attempt === null ? 1 : toNumber(row.attempt),
    version: toNumber(row.version),
    createdAt: new Date(toNumber(row.created_at)),
    updatedAt: new Date(toNumber(row.updated_at)),
  };
}

export interface OrderItemRow {
  line_no: number;
  sku: string;
  name: string;
  unit_price_minor: number | string;
  quantity: number;
  amount_minor: number | string;
}

export async function findOrder(db: Db | Knex.Transaction, id: string): Promise<Order | undefined> {
  const row = (await db('orders').where({ id }).first()) as OrderRow | undefined;
  return row ? rowToOrder(row) : undefined;
}

export async function findOrderByNo(db: Db | Knex.Transaction, orderNo: string): Promise<Order | undefined> {
  const row = (await db('orders').where({ order_no: orderNo }).first()) as OrderRow | undefined;
  return row ? rowToOrder(row) : undefined;
}

export async function findMerchantOrder(db: Db, merchantId: string, id: string): Promise<Order | undefined> {
  const row = (await db('orders').where({ id, merchant_id: merchantId }).first()) as OrderRow | undefined;
  return row ? rowToOrder(row) : undefined;
}

export async function loadItems(db: Db | Knex.Transaction, orderId: string): Promise<OrderItemSnapshot[]> {
  const rows = (await db('order_items').where({ order_id: orderId }).orderBy('line_no')) as OrderItemRow[];
  return rows.map((r) => ({
    sku: r.sku,
    name: r.name,
    unitAmount: toNumber(r.unit_price_minor),
    quantity: toNumber(r.quantity),
    amount: toNumber(r.amount_minor),
  }));
}

export function toSnapshot(order: Order, items: readonly OrderItemSnapshot[]): OrderSnapshot {
  if (order.method === null) throw new Error(`order ${order.id} has no payment method yet`);
  return {
    id: order.id,
    orderNo: order.orderNo,
    subject: order.subject,
    currency: order.currency,
    amount: order.amount,
    method: order.method,
    items,
    providerTradeNo: order.providerTradeNo,
    status: order.status,
    attempt: order.attempt,
    createdAt: order.createdAt,
    expiresAt: order.expiresAt,
    returnUrl: order.returnUrl,
  };
}

export async function loadSnapshot(db: Db, order: Order): Promise<OrderSnapshot> {
  return toSnapshot(order, await loadItems(db, order.id));
}
