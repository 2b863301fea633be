import type { Order } from './orders.ts';
import type { NextAction, OrderItemSnapshot } from './payment-provider.ts';
import { PAYABLE_STATUSES } from './state-machine.ts';

/** The payment object of the merchant API (docs/architecture.md#the-payment-object). */
export interface PaymentView {
  id: string;
  orderNo: string;
  merchantOrderId: string;
  status: string;
  amount: number;
  refundedAmount: number;
  currency: string;
  /** null while a hosted checkout waits for the buyer's choice. */
  provider: string | null;
  account: string | null;
  method: string | null;
  subject: string;
  items?: OrderItemSnapshot[];
  providerTradeNo: string | null;
  paidAt: string | null;
  attention: string | null;
  /** True for a payment taken by a provider simulator (the demo, tests): no money moved. */
  simulated: boolean;
  /** The merchant's own notes, as given at create (`{}` when none). */
  metadata: Record<string, string>;
  failure: { code: string; message: string } | null;
  returnUrl: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  action?: NextAction;
  /** The buyer's signed page: the hosted checkout, ATM instructions, or the result (added by the server). */
  checkoutUrl?: string;
}

/** The action is shown only while the buyer can still use it. */
export function actionUsable(order: Order, now: Date): boolean {
  return order.action !== null && PAYABLE_STATUSES.includes(order.status) && order.expiresAt.getTime() > now.getTime();
}

export function toPaymentView(order: Order, now: Date, items?: OrderItemSnapshot[]): PaymentView {
  const view: PaymentView = {
    id: order.id,
    orderNo: order.orderNo,
    merchantOrderId: order.merchantOrderId,
    status: order.status,
    amount: order.amount,
    refundedAmount: order.refundedAmount,
    currency: order.currency,
    provider: order.provider,
    account: order.account,
    method: order.method,
    subject: order.subject,
    providerTradeNo: order.providerTradeNo,
    paidAt: order.paidAt?.toISOString() ?? null,
    attention: order.attention ? (order.attentionReason ?? 'attention needed') : null,
    simulated: order.simulated,
    metadata: order.metadata,
    failure: order.failure,
    returnUrl: order.returnUrl,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
    expiresAt: order.expiresAt.toISOString(),
  };
  if (items) view.items = items;
  if (actionUsable(order, now)) view.action = order.action!;
  return view;
}
