import type { Logger } from '../../../core/logger.ts';
import { postDelivery, retryOnGaps } from '../../simulator-kit/deliver.ts';
import { notifyFields, type NotifyEvent } from './messages.ts';
import { signNotify } from './sign.ts';
import type { SimTrade } from './trades.ts';
import { beijing, randomHex, type Timers } from './util.ts';
import { InFlight } from '../../simulator-kit/in-flight.ts';

export interface DeliveryResult {
  /** HTTP status of the merchant's answer; 0 when it could not be reached (or there was no notify_url). */
  status: number;
  body: string;
  /** The merchant answered `success` (§3.6). */
  ok: boolean;
}

export interface DeliveryRecord extends DeliveryResult {
  appId: string;
  outTradeNo: string;
  tradeNo: string;
  notifyId: string;
  tradeStatus: string;
  /** 1-based count of deliveries of this notify_id, retries and renotifies included. */
  attempt: number;
  kind: 'notify' | 'retry' | 'renotify';
  url: string;
  at: string;
}

/** One notification: its notify_id stays the same across retries (§3.2); notify_time and sign are made per attempt. */
export interface Notification {
  notifyId: string;
  trade: SimTrade;
  url: string;
  fields: Record<string, string>;
  /** The signed parameters of the latest attempt. */
  lastSent: Record<string, string> | null;
}

/** 36 hex digits; real ones are opaque strings of about that length. */
export const mintNotifyId = (): string => randomHex(18);

export const NO_NOTIFY_URL: DeliveryResult = Object.freeze({ status: 0, body: 'no notify_url', ok: false });

const FORM_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';
/** §3.6: the body `success` acknowledges (surrounding white space aside), whatever the HTTP status. */
const acknowledged = (_status: number, body: string): boolean => body.trim() === 'success';

/**
 * Async notifications (§3): form-encoded POST to the payment's notify_url; acknowledged only by the body `success`;
 * otherwise retried on the gaps of `gapsMs` (8 attempts in all by default, §3.6 UNVERIFIED schedule).
 */
export class Notifier {
  readonly deliveries: DeliveryRecord[] = [];
  /** Latest notification per trade (by trade_no), for renotify and tests. */
  readonly latest = new Map<string, Notification>();
  private readonly inFlight = new InFlight();

  constructor(
    private readonly gapsMs: readonly number[],
    private readonly timers: Timers,
    private readonly logger: Logger,
  ) {}

  /** Builds the notification of `event`; delivers it now (or after `delayMs`) and retries until acknowledged. */
  notify(trade: SimTrade, event: NotifyEvent, delayMs = 0): { notification: Notification | null; first: Promise<DeliveryResult> } {
    if (!trade.notifyUrl) return { notification: null, first: Promise.resolve(NO_NOTIFY_URL) };
    const notifyId = mintNotifyId();
    const notification: Notification = { notifyId, trade, url: trade.notifyUrl, fields: notifyFields(trade, event, notifyId), lastSent: null };
    this.latest.set(trade.tradeNo, notification);
    const run = async () => {
      const first = await this.deliver(notification, 'notify');
      if (!first.ok) retryOnGaps(this.timers, this.gapsMs, () => this.deliver(notification, 'retry'));
      return first;
    };
    const first = delayMs > 0 ? new Promise<DeliveryResult>((resolve) => this.timers.after(delayMs, () => run().then(resolve))) : run();
    return { notification, first };
  }

  /** One more delivery of the trade's latest notification, same notify_id, outside the retry chain. */
  renotify(notification: Notification): Promise<DeliveryResult> {
    return this.deliver(notification, 'renotify');
  }

  /** The parameters the next attempt of `notification` would carry, signed (for tests to tamper with). */
  signed(notification: Notification, now = new Date()): Record<string, string> {
    return signNotify({ notify_time: beijing(now), ...notification.fields }, notification.trade.app.alipayKeys.privateKey);
  }

  /** Resolves when no delivery is in flight (scheduled retries are not waited for). */
  async settle(): Promise<void> {
    await this.inFlight.settle();
  }

  private deliver(notification: Notification, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    return this.inFlight.track(this.send(notification, kind));
  }

  private async send(notification: Notification, kind: DeliveryRecord['kind']): Promise<DeliveryResult> {
    const params = this.signed(notification);
    notification.lastSent = params;
    // §3.1: the notify_url must not redirect; a redirect is not an acknowledgement (postDelivery does not follow it).
    const result = await postDelivery(notification.url, FORM_TYPE, new URLSearchParams(params).toString(), acknowledged);
    const attempt = this.deliveries.filter((d) => d.notifyId === notification.notifyId).length + 1;
    const { trade } = notification;
    this.deliveries.push({
      appId: trade.app.appId,
      outTradeNo: trade.outTradeNo,
      tradeNo: trade.tradeNo,
      notifyId: notification.notifyId,
      tradeStatus: params.trade_status!,
      attempt,
      kind,
      url: notification.url,
      at: new Date().toISOString(),
      ...result,
    });
    this.logger.info(
      { outTradeNo: trade.outTradeNo, notifyId: notification.notifyId, tradeStatus: params.trade_status, attempt, kind, status: result.status, ok: result.ok },
      'alipay simulator: notify delivery',
    );
    return result;
  }
}
