import type { SimTrade, TradeStatus } from './trades.ts';
import { beijing, yuan } from './util.ts';

/** The simulator's view of a trade for tests and scripts (GET /_control/trades); never holds a secret. Times are Beijing. */
export interface TradeView {
  appId: string;
  outTradeNo: string;
  tradeNo: string;
  method: string;
  productCode: string;
  status: TradeStatus;
  /** False while the trade does not exist yet for query/close (handed off, buyer not there yet). */
  created: boolean;
  subject: string;
  totalAmount: string;
  /** total_amount in fen. */
  totalMinor: number;
  notifyUrl: string | null;
  returnUrl: string | null;
  passbackParams: string | null;
  expiresAt: string;
  gmtCreate: string | null;
  gmtPayment: string | null;
  gmtClose: string | null;
  buyerId: string | null;
  buyerLogonId: string | null;
  refundFee: string;
  /** refund_fee (cumulative) in fen. */
  refundedMinor: number;
  refunds: { outRequestNo: string; amount: string; at: string }[];
  cashierUrl: string;
}

const time = (d: Date | null) => (d ? beijing(d) : null);

export function tradeView(t: SimTrade, cashierUrl: string): TradeView {
  return {
    appId: t.app.appId,
    outTradeNo: t.outTradeNo,
    tradeNo: t.tradeNo,
    method: t.method,
    productCode: t.productCode,
    status: t.status,
    created: t.createdAt !== null,
    subject: t.subject,
    totalAmount: yuan(t.fen),
    totalMinor: t.fen,
    notifyUrl: t.notifyUrl,
    returnUrl: t.returnUrl,
    passbackParams: t.passbackParams,
    expiresAt: beijing(t.expiresAt),
    gmtCreate: time(t.createdAt),
    gmtPayment: time(t.paidAt),
    gmtClose: time(t.closedAt),
    buyerId: t.buyer?.id ?? null,
    buyerLogonId: t.buyer?.masked ?? null,
    refundFee: yuan(t.refundedFen),
    refundedMinor: t.refundedFen,
    refunds: t.refunds.map((r) => ({ outRequestNo: r.outRequestNo, amount: yuan(r.fen), at: beijing(r.at) })),
    cashierUrl,
  };
}
