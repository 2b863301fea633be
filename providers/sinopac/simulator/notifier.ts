import type { Logger } from '../../../core/logger.ts';
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

const DELIVERY_TIMEOUT_MS = 10_000;
const BODY_KEPT = 2_000;

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
    if (!first.ok) this.scheduleRetry(order, payToken, 0);
    return first;
  }

  /** One more delivery of the order's last PayToken, outside the retry chain. */
  async renotify(order: SimOrder, payToken: string): Promise<DeliveryResult> {
    if (!order.backendUrl) return NO_BACKEND_URL;
    return this.deliver(order, payToken, 'renotify');
  }

  private scheduleRetry(order: SimOrder, payToken: string, index: number): void {
    const gap = this.retryGapsMs[index];
    if (gap === undefined) return;
    this.timers.after(gap, async () => {
      const answer = await this.deliver(order, payToken, 'retry');
      if (!answer.ok) this.scheduleRetry(order, payToken, index + 1);
    });
  }

  private async deliver(order: SimOrder, payToken: string, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    const result = this.unreachable
      ? { status: 0, body: 'simulated: BackendURL unreachable', ok: false }
      : await post(order.backendUrl!, JSON.stringify({ ShopNo: order.shopNo, PayToken: payToken }));
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

async function post(url: string, body: string): Promise<DeliveryResult> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      redirect: 'manual',
    });
    const text = (await response.text()).slice(0, BODY_KEPT);
    return { status: response.status, body: text, ok: response.status === 200 && acknowledged(text) };
  } catch (err) {
    return { status: 0, body: err instanceof Error ? err.message : String(err), ok: false };
  }
}

function acknowledged(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null && (parsed as { Status?: unknown }).Status === 'S';
  } catch {
    return false;
  }
}
