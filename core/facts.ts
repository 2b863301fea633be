import type { Order } from './orders.ts';
import type { PaymentOutcome } from './payment-provider.ts';
import type { OrderStatus } from './state-machine.ts';

/**
 * Where a provider's outcome takes an order. A trade the provider closed is `cancelled`, unless the
 * order's own deadline has passed: then the provider closed it for timing out, and the merchant
 * hears `expired`.
 */
export function targetStatus(outcome: PaymentOutcome, order: Order, now: Date): OrderStatus {
  switch (outcome) {
    case 'pending':
      return 'pending';
    case 'paid':
      return 'paid';
    case 'failed':
      return 'failed';
    case 'refunded':
      return 'refunded';
    case 'closed':
      return order.expiresAt.getTime() <= now.getTime() ? 'expired' : 'cancelled';
  }
}
