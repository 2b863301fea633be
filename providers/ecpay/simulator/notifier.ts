import type { Logger } from '../../../core/logger.ts';
import { postDelivery, retryOnGaps, type Delivered } from '../../simulator-kit/deliver.ts';
import type { Timers } from '../../simulator-kit/timers.ts';
import { withCheckMac } from '../crypto.ts';
import { sortedFields } from './messages.ts';
import type { SimOrder } from './store.ts';
import { InFlight } from '../../simulator-kit/in-flight.ts';

export type DeliveryResult = Delivered;

export interface DeliveryRecord extends DeliveryResult {
  merchantId: string;
  merchantTradeNo: string;
  tradeNo: string;
  /** Which URL of the order: ReturnURL (payment result) or PaymentInfoURL (account issued). */
  target: 'ReturnURL' | 'PaymentInfoURL';
  notificationId: number;
  rtnCode: string;
  rtnMsg: string;
  simulatePaid: string;
  /** 1-based count of deliveries of this notification, re-sends and renotifies included. */
  attempt: number;
  kind: 'notify' | 'resend' | 'renotify';
  url: string;
  at: string;
}

/** One notice: its first delivery's fields, and what its re-sends carry (§5.1: `RtnMsg=paid` after a success). */
export interface Notification {
  id: number;
  order: SimOrder;
  target: DeliveryRecord['target'];
  url: string;
  first: Record<string, string>;
  resend: Record<string, string>;
  acknowledged: boolean;
  /** The signed fields of the latest attempt. */
  lastSent: Record<string, string> | null;
}

export interface NotifierOptions {
  /** §5.1 re-send gaps (4 re-sends after the first delivery). */
  gapsMs: readonly number[];
  /** §5.1: exactly `1|OK` acknowledges; 'trim' also takes surrounding white space (§16 UNVERIFIED). */
  ackMatch: 'exact' | 'trim';
  /** §4.4: real field order is not guaranteed; shuffled deliveries test that the merchant sorts. */
  shuffle: boolean;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';
export const NO_URL: DeliveryResult = Object.freeze({ status: 0, body: 'no URL for this notice', ok: false });

/**
 * Server-to-server notices (§5, §7): a form POST signed with the merchant's keys, acknowledged only by
 * HTTP 200 and `1|OK`, otherwise re-sent on the gaps of `gapsMs` until one is acknowledged.
 */
export class Notifier {
  readonly deliveries: DeliveryRecord[] = [];
  /** The latest notice per order (by TradeNo), for renotify and tests. */
  readonly latest = new Map<string, Notification>();
  /** While true, deliveries do not reach the merchant (recorded with status 0); re-sends keep going. */
  unreachable = false;
  private readonly inFlight = new InFlight();
  private seq = 0;

  constructor(
    private readonly options: NotifierOptions,
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {}

  /** Sends a new notice now; resolves with its first delivery, re-sends (when `retried`) follow in the background. */
  notify(order: SimOrder, target: Notification['target'], url: string, first: Record<string, string>, resend: Record<string, string> = first, retried = true): Promise<DeliveryResult> {
    if (!url) return Promise.resolve(NO_URL);
    const notification: Notification = { id: ++this.seq, order, target, url, first, resend, acknowledged: false, lastSent: null };
    this.latest.set(order.tradeNo, notification);
    return this.deliver(notification, 'notify').then((answer) => {
      if (!answer.ok && retried) {
        retryOnGaps(this.timers, this.options.gapsMs, async () =>
          // ECPay stops at the first `1|OK`, even one that answered a renotify meanwhile.
          notification.acknowledged ? { ok: true } : this.deliver(notification, 'resend'),
        );
      }
      return answer;
    });
  }

  /** One more delivery of the order's latest notice, as a re-send, outside the schedule. */
  renotify(notification: Notification): Promise<DeliveryResult> {
    return this.deliver(notification, 'renotify');
  }

  /** The signed fields an attempt of `notification` carries. */
  signed(notification: Notification, kind: DeliveryRecord['kind']): Record<string, string> {
    const fields = kind === 'notify' ? notification.first : notification.resend;
    const ordered = this.options.shuffle ? shuffled(fields) : sortedFields(fields);
    return withCheckMac(ordered, notification.order.merchant);
  }

  /** Resolves when no delivery is in flight (scheduled re-sends are not waited for). */
  async settle(): Promise<void> {
    await this.inFlight.settle();
  }

  private deliver(notification: Notification, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    return this.inFlight.track(this.send(notification, kind));
  }

  private async send(notification: Notification, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    const params = this.signed(notification, kind);
    notification.lastSent = params;
    const exact = this.options.ackMatch === 'exact';
    const result = this.unreachable
      ? { status: 0, body: 'merchant unreachable (simulated partition)', ok: false }
      : await postDelivery(notification.url, FORM_TYPE, new URLSearchParams(params).toString(), (status, body) => status === 200 && (exact ? body === '1|OK' : body.trim() === '1|OK'));
    if (result.ok) notification.acknowledged = true;
    const { order } = notification;
    const attempt = this.deliveries.filter((d) => d.notificationId === notification.id).length + 1;
    this.deliveries.push({
      merchantId: order.merchant.merchantId,
      merchantTradeNo: order.merchantTradeNo,
      tradeNo: order.tradeNo,
      target: notification.target,
      notificationId: notification.id,
      rtnCode: params.RtnCode ?? '',
      rtnMsg: params.RtnMsg ?? '',
      simulatePaid: params.SimulatePaid ?? '',
      attempt,
      kind,
      url: notification.url,
      at: new Date().toISOString(),
      ...result,
    });
    this.logger.info(
      { merchantTradeNo: order.merchantTradeNo, target: notification.target, rtnCode: params.RtnCode, attempt, kind, status: result.status, ok: result.ok },
      'ecpay simulator: notice delivery',
    );
    return result;
  }
}

function shuffled(fields: Record<string, string>): Record<string, string> {
  const entries = Object.entries(fields);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries);
}
