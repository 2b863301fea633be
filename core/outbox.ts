import type { Knex } from 'knex';
import { newId } from './ids.ts';
import type { Order } from './orders.ts';
import { toPaymentView } from './payment-view.ts';
import type { OrderStatus } from './state-machine.ts';
import { insertRow } from './statements.ts';

/**
 * Merchant events (issue 5): one row in `events` written in the same transaction as the change it
 * reports, so an event exists exactly when its change does. The webhook worker delivers them.
 */
export const EVENT_TYPES = [
  'payment.pending',
  'payment.paid',
  'payment.failed',
  'payment.cancelled',
  'payment.expired',
  'payment.refunded',
  'payment.attention',
  'refund.pending',
  'refund.failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const BY_STATUS: Partial<Record<OrderStatus, EventType>> = {
  pending: 'payment.pending',
  paid: 'payment.paid',
  failed: 'payment.failed',
  cancelled: 'payment.cancelled',
  expired: 'payment.expired',
  partially_refunded: 'payment.refunded',
  refunded: 'payment.refunded',
};

export function eventTypeFor(status: OrderStatus): EventType | undefined {
  return BY_STATUS[status];
}

export interface EventPayload {
  id: string;
  type: EventType;
  createdAt: string;
  data: Record<string, unknown>;
}

/** Writes one event for `order` inside `trx`; `extra` adds to `data` (the refund, the attention reason). */
export async function recordEvent(
  trx: Knex.Transaction | Knex,
  order: Order,
  type: EventType,
  now: Date,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const publicId = newId('evt');
  const payment = toPaymentView(order, now);
  delete payment.action; // an event is a record of what happened, not a way to pay
  const payload: EventPayload = { id: publicId, type, createdAt: now.toISOString(), data: { payment, ...extra } };
  // The driver's prepared statement (core/statements.ts): every applied notify writes one.
  await insertRow(trx, 'events', {
    public_id: publicId,
    merchant_id: order.merchantId,
    order_id: order.id,
    type,
    payload_json: JSON.stringify(payload),
    created_at: now.getTime(),
    delivery_status: 'pending',
    attempts: 0,
    next_attempt_at: now.getTime(),
  });
  return publicId;
}
