import type { Logger } from '../../../core/logger.ts';
import { postDelivery, retryOnGaps, type Delivered } from '../../simulator-kit/deliver.ts';
import { InFlight } from '../../simulator-kit/in-flight.ts';
import type { Timers } from '../../simulator-kit/timers.ts';
import type { SimTrade } from './store.ts';

export type DeliveryResult = Delivered;

export interface DeliveryRecord extends DeliveryResult {
  merchantId: string;
  merchantOrderNo: string;
  tradeNo: string;
  notificationId: number;
  messageStatus: string;
  /** 1-based count of deliveries of this notification, re-sends and renotifies included. */
  attempt: number;
  kind: 'notify' | 'resend' | 'renotify';
  url: string;
  at: string;
}

export interface Notification {
  id: number;
  trade: SimTrade;
  url: string;
  /** The outer form (§5), the same bytes on every attempt. */
  fields: Record<string, string>;
  acknowledged: boolean;
}

/**
 * §5.1 NotifyURL: the outer form POSTed, acknowledged by HTTP 200 alone (the body is not read);
 * otherwise re-sent on the gaps of `gapsMs` (3 retries), then given up ("failure e-mail sent").
 */
export class Notifier {
  readonly deliveries: DeliveryRecord[] = [];
  /** The latest notification per trade (by TradeNo), for renotify and tests. */
  readonly latest = new Map<string, Notification>();
  /** Notifications whose retries ran out unacknowledged: NewebPay e-mails the shop instead. */
  readonly givenUp: Notification[] = [];
  private readonly inFlight = new InFlight();
  private seq = 0;

  constructor(
    private readonly gapsMs: readonly number[],
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {}

  /** Sends a new notification now; resolves with its first delivery, retries follow in the background. */
  notify(trade: SimTrade, fields: Record<string, string>): Promise<DeliveryResult> {
    if (!trade.urls.notify) return Promise.resolve({ status: 0, body: 'no NotifyURL', ok: false });
    const notification: Notification = { id: ++this.seq, trade, url: trade.urls.notify, fields, acknowledged: false };
    this.latest.set(trade.tradeNo, notification);
    return this.deliver(notification, 'notify').then((answer) => {
      if (!answer.ok) {
        let left = this.gapsMs.length;
        retryOnGaps(this.timers, this.gapsMs, async () => {
          if (notification.acknowledged) return { ok: true };
          const again = await this.deliver(notification, 'resend');
          if (!again.ok && --left === 0) {
            this.givenUp.push(notification);
            this.logger.warn({ merchantOrderNo: trade.merchantOrderNo }, 'newebpay simulator: notify retries ran out (NewebPay e-mails the shop)');
          }
          return again;
        });
      }
      return answer;
    });
  }

  renotify(notification: Notification): Promise<DeliveryResult> {
    return this.deliver(notification, 'renotify');
  }

  async settle(): Promise<void> {
    await this.inFlight.settle();
  }

  private deliver(notification: Notification, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    return this.inFlight.track(this.send(notification, kind));
  }

  private async send(notification: Notification, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    const result = await postDelivery(notification.url, 'application/x-www-form-urlencoded', new URLSearchParams(notification.fields).toString(), (status) => status === 200);
    if (result.ok) notification.acknowledged = true;
    const { trade } = notification;
    const attempt = this.deliveries.filter((d) => d.notificationId === notification.id).length + 1;
    this.deliveries.push({
      merchantId: trade.merchant.merchantId,
      merchantOrderNo: trade.merchantOrderNo,
      tradeNo: trade.tradeNo,
      notificationId: notification.id,
      messageStatus: notification.fields.Status ?? '',
      attempt,
      kind,
      url: notification.url,
      at: new Date().toISOString(),
      ...result,
    });
    this.logger.info({ merchantOrderNo: trade.merchantOrderNo, attempt, kind, status: result.status, ok: result.ok }, 'newebpay simulator: notify delivery');
    return result;
  }
}
