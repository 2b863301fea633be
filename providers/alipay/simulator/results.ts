import type { DeliveryResult } from './notifier.ts';
import type { TradeStatus } from './trades.ts';

/** What the control API (and the simulator's methods of the same names) answer. */

/** The merchant's answer to one notify delivery. */
export interface NotifyReply {
  status: number;
  body: string;
}

/** What decline / finish / expire (and their /_control routes) answer. */
export interface ControlResult {
  tradeNo: string;
  outTradeNo: string;
  tradeStatus: TradeStatus;
  /** null when no notification goes out (no notify_url, or the event's trigger is off, or nobody ever saw the trade). */
  notifyId: string | null;
  /** The first delivery of that notification (retries continue in the background); null when none went out. */
  firstNotify: NotifyReply | null;
}

/** What pay (and POST /_control/pay) answers. */
export interface PayResult extends ControlResult {
  /** Status 0 with an explanation when nothing was delivered (no notify_url, or the notify was deferred). */
  firstNotify: NotifyReply;
  /** return_url with the signed return parameters (§4); '' when the hand-off had no return_url. */
  returnUrl: string;
}

export interface PayOptions {
  /** The buyer's Alipay account (email or phone); default buyer@example.com. */
  buyer?: string;
  /** Send the notify this long after paying instead of now; pay() then answers at once (return before notify). */
  notifyDelayMs?: number;
  /** Picks the app when several have a trade with this out_trade_no. */
  appId?: string;
}

export interface RenotifyResult extends DeliveryResult {
  tradeNo: string;
  outTradeNo: string;
  notifyId: string;
}
