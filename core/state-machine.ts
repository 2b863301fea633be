/**
 * The order state machine of docs/architecture.md#the-state-machine, as data. Providers only report facts; this table decides
 * what those facts may do to an order.
 */
export const ORDER_STATUSES = [
  'created',
  'pending',
  'paid',
  'failed',
  'cancelled',
  'expired',
  'partially_refunded',
  'refunded',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ALLOWED_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = Object.freeze({
  // created: the row exists, the provider has not answered yet. A verified payment can still land
  // here (we crashed between the provider's answer and our write): money moved, so it counts.
  created: ['pending', 'paid', 'failed', 'cancelled', 'expired'],
  pending: ['paid', 'failed', 'cancelled', 'expired'],
  // failed → pending is "pay again" (seed 002's retry link); failed → paid is a late success.
  failed: ['pending', 'paid', 'cancelled', 'expired'],
  paid: ['partially_refunded', 'refunded'],
  partially_refunded: ['refunded'],
  // Money that moved after we gave up on the order still counts: paid, with an attention flag.
  cancelled: ['paid'],
  expired: ['paid'],
  refunded: [],
});

/** Moves out of these states into `paid` raise the attention flag: a person must look. */
export const ATTENTION_ON_PAID_FROM: readonly OrderStatus[] = ['cancelled', 'expired'];

export const TERMINAL_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter(
  (s) => ALLOWED_TRANSITIONS[s].length === 0,
);

/** Orders still waiting for their money: asked about by reconciliation, ended by expiry or cancel. */
export const WAITING_STATUSES: readonly OrderStatus[] = ['created', 'pending', 'failed'];

/** Orders whose money arrived (some of it may have gone back since). */
export const SETTLED_PAID_STATUSES: readonly OrderStatus[] = ['paid', 'partially_refunded', 'refunded'];

/** Statuses in which the buyer may still pay, so the provider's next action is still usable. */
export const PAYABLE_STATUSES: readonly OrderStatus[] = ['pending', 'failed'];

export function isOrderStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}

export type TransitionCheck = 'apply' | 'noop' | 'illegal';

export function checkTransition(from: OrderStatus, to: OrderStatus): TransitionCheck {
  if (from === to) return 'noop';
  return ALLOWED_TRANSITIONS[from].includes(to) ? 'apply' : 'illegal';
}
