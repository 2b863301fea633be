import type { Logger } from '../../../core/logger.ts';
import { parseJsonObjectStrict } from '../../kit/fields.ts';
import { postDelivery, retryOnGaps } from '../../simulator-kit/deliver.ts';
import type { SimOrder } from './bank.ts';
import type { Timers } from './util.ts';

export interface DeliveryResult {
  /** HTTP status of the merchant's answer; 0 when it could not be reached. */
  status: number;
  body: string;
  /** The merchant acknowledged: HTTP 200 with JSON Status "S" (§8.1). */
  ok: boolean;
}

export interface DeliveryRecord extends DeliveryResult {
  shopNo: string;
  orderNo: string;
  payToken: string;
  /** 1-based count of deliveries of this PayToken, retries and renotifies included. */
  attempt: number;
  kind: 'notify' | 'retry' | 'renotify';
  at: string;
}

/** BackendURL is optional in OrderCreate (S1); such an order is never notified. */
export const NO_BACKEND_URL: DeliveryResult = Object.freeze({ status: 0, body: 'no BackendURL', ok: false });

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * BackendURL notifications (§8.1): POST JSON {ShopNo, PayToken}; only HTTP 200 with {"Status":"S"}
 * counts as received; otherwise retried on the gaps of `retryGapsMs` (UNVERIFIED: 10 min × 5 attempts).
 */
export class Notifier {
  readonly deliveries: DeliveryRecord[] = [];
  /** Simulates a network partition towards the merchant: deliveries fail (status 0), retries keep their schedule. */
  unreachable = false;

  constructor(
    private readonly retryGapsMs: readonly number[],
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {}

  /** Delivers now and, unless acknowledged, schedules the retries. */
  async notify(order: SimOrder, payToken: string): Promise<DeliveryResult> {
    if (!order.backendUrl) return NO_BACKEND_URL;
    const first = await this.deliver(order, payToken, 'notify');
    if (!first.ok) retryOnGaps(this.timers, this.retryGapsMs, () => this.deliver(order, payToken, 'retry'));
    return first;
  }

  /** One more delivery of the order's last PayToken, outside the retry chain. */
  async renotify(order: SimOrder, payToken: string): Promise<DeliveryResult> {
    if (!order.backendUrl) return NO_BACKEND_URL;
    return this.deliver(order, payToken, 'renotify');
  }

  private async deliver(order: SimOrder, payToken: string, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    const result = this.unreachable
      ? { status: 0, body: 'simulated: BackendURL unreachable', ok: false }
      : await postDelivery(order.backendUrl!, JSON_TYPE, JSON.stringify({ ShopNo: order.shopNo, PayToken: payToken }), acknowledged);
    const attempt = this.deliveries.filter((d) => d.payToken === payToken).length + 1;
    this.deliveries.push({
      shopNo: order.shopNo,
      orderNo: order.orderNo,
      payToken,
      attempt,
      kind,
      at: new Date().toISOString(),
      ...result,
    });
    this.logger.info(
      { shopNo: order.shopNo, orderNo: order.orderNo, attempt, kind, status: result.status, ok: result.ok },
      'sinopac simulator: BackendURL delivery',
    );
    return result;
  }
}

/** §8.1: only HTTP 200 with JSON Status "S" is an acknowledgement. */
function acknowledged(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    return parseJsonObjectStrict(body).Status === 'S';
  } catch {
    return false;
  }
}
