import { signNotify } from './sign.ts';
import type { SimRefund, SimTrade, TradeStatus } from './trades.ts';
import { beijing, beijingMs, buyerIdFor, maskLogon, yuan } from './util.ts';

/** What Alipay sends the merchant: trade_status_sync notifies (§3.2) and the signed return redirect (§4). */

/** What happened to a trade that Alipay reports (§3.4). */
export type NotifyEvent =
  | { kind: 'paid' }
  | { kind: 'closed' }
  | { kind: 'finished' }
  | { kind: 'refund'; refund: SimRefund; full: boolean };

/** The §3.2 fields of a trade_status_sync for `event`, without notify_time / sign_type / sign. */
export function notifyFields(trade: SimTrade, event: NotifyEvent, notifyId: string): Record<string, string> {
  const paid = trade.paidAt !== null;
  const status = event.kind === 'paid' ? 'TRADE_SUCCESS' : event.kind === 'closed' ? 'TRADE_CLOSED' : event.kind === 'finished' ? 'TRADE_FINISHED' : event.full ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
  const total = yuan(trade.fen);
  const fields: Record<string, string> = {
    notify_type: 'trade_status_sync',
    notify_id: notifyId,
    app_id: trade.app.appId,
    auth_app_id: trade.app.appId,
    charset: 'utf-8',
    version: '1.0',
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    buyer_id: trade.buyer?.id ?? '',
    buyer_logon_id: trade.buyer?.masked ?? '',
    seller_id: trade.app.sellerId,
    seller_email: trade.app.sellerEmail,
    trade_status: status,
    total_amount: total,
    subject: trade.subject,
    body: trade.body ?? '',
    gmt_create: beijing(trade.createdAt ?? trade.handedOffAt),
    passback_params: trade.passbackParams ?? '',
  };
  if (paid) {
    Object.assign(fields, {
      receipt_amount: total,
      invoice_amount: total,
      buyer_pay_amount: total,
      point_amount: '0.00',
      gmt_payment: beijing(trade.paidAt!),
      fund_bill_list: JSON.stringify([{ amount: total, fundChannel: 'ALIPAYACCOUNT' }]),
    });
  }
  if (event.kind === 'refund') {
    fields.out_biz_no = event.refund.outRequestNo;
    // Cumulative up to and including this refund (§3.2).
    const upTo = trade.refunds.indexOf(event.refund) + 1;
    fields.refund_fee = yuan(trade.refunds.slice(0, upTo).reduce((sum, r) => sum + r.fen, 0));
    fields.gmt_refund = beijingMs(event.refund.at);
  }
  if (status === 'TRADE_CLOSED' && trade.closedAt) fields.gmt_close = beijing(trade.closedAt);
  return fields;
}

/**
 * The notify fields Alipay would send if `trade` were now in `status` — payment, buyer and close details filled in as
 * needed — for tests that forge or tamper with notifies. Nothing is sent or recorded.
 */
export function hypotheticalFields(trade: SimTrade, status: TradeStatus, notifyId: string, buyer: string): Record<string, string> {
  const now = new Date();
  const copy: SimTrade = { ...trade, createdAt: trade.createdAt ?? now, status };
  if (status !== 'WAIT_BUYER_PAY' && status !== 'TRADE_CLOSED' && !copy.paidAt) {
    copy.paidAt = now;
    copy.buyer = { id: buyerIdFor(buyer), logon: buyer, masked: maskLogon(buyer) };
  }
  if (status === 'TRADE_CLOSED') copy.closedAt ??= now;
  const event: NotifyEvent = status === 'TRADE_CLOSED' ? { kind: 'closed' } : status === 'TRADE_FINISHED' ? { kind: 'finished' } : { kind: 'paid' };
  const fields = notifyFields(copy, event, notifyId);
  fields.trade_status = status;
  return fields;
}

/** return_url with the §4 parameters, signed like a notify (§2.2); null when the hand-off had no return_url. */
export function signedReturnUrl(trade: SimTrade, now: Date): string | null {
  if (!trade.returnUrl) return null;
  const params = signNotify(
    {
      charset: 'utf-8',
      out_trade_no: trade.outTradeNo,
      // The WAP value is presumed by analogy with the documented page one (§4, UNVERIFIED).
      method: `${trade.method}.return`,
      total_amount: yuan(trade.fen),
      trade_no: trade.tradeNo,
      auth_app_id: trade.app.appId,
      version: '1.0',
      app_id: trade.app.appId,
      seller_id: trade.app.sellerId,
      timestamp: beijing(now),
    },
    trade.app.alipayKeys.privateKey,
  );
  return `${trade.returnUrl}${trade.returnUrl.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
}
