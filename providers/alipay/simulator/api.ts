import { amountFen, markClosed, text, type SimApp, type SimRefund, type SimTrade, type TradeBook } from './trades.ts';
import { beijing, yuan } from './util.ts';

/** The four server-to-server trade methods (§5), as plain "inner" objects; gateway.ts signs and sends them. */

export type Inner = Record<string, unknown>;

/** What the methods need from the simulator: the trades, and the side effects that notify. */
export interface ApiEffects {
  book: TradeBook;
  /** Closes the trade when its time_expire has passed (with its notification), before anyone looks at it. */
  refresh(trade: SimTrade): void;
  /** An unpaid trade was closed through the API. */
  closed(trade: SimTrade): void;
  refunded(trade: SimTrade, refund: SimRefund, full: boolean): void;
}

const ok = (fields: Inner): Inner => ({ code: '10000', msg: 'Success', ...fields });
const fail = (subCode: string, subMsg: string, extra: Inner = {}): Inner => ({ code: '40004', msg: 'Business Failed', sub_code: subCode, sub_msg: subMsg, ...extra });
const invalid = (subMsg: string) => fail('ACQ.INVALID_PARAMETER', subMsg);

interface Ref {
  tradeNo?: string;
  outTradeNo?: string;
}

function readRef(biz: Inner): Ref | null {
  const tradeNo = text(biz.trade_no) || undefined;
  const outTradeNo = text(biz.out_trade_no) || undefined;
  return tradeNo || outTradeNo ? { tradeNo, outTradeNo } : null;
}

function find(fx: ApiEffects, app: SimApp, ref: Ref): SimTrade | undefined {
  const trade = fx.book.existing(app, ref);
  if (trade) fx.refresh(trade);
  return trade;
}

const options = (biz: Inner): string[] => (Array.isArray(biz.query_options) ? biz.query_options.filter((o): o is string => typeof o === 'string') : []);
const refundedUpTo = (trade: SimTrade, refund: SimRefund) => trade.refunds.slice(0, trade.refunds.indexOf(refund) + 1).reduce((s, r) => s + r.fen, 0);

/** §5.1. A trade the buyer never reached is ACQ.TRADE_NOT_EXIST, with zero amounts as commonly observed (UNVERIFIED). */
export function query(fx: ApiEffects, app: SimApp, biz: Inner): Inner {
  const ref = readRef(biz);
  if (!ref) return invalid('out_trade_no 和 trade_no 不能同时为空');
  const trade = find(fx, app, ref);
  if (!trade) {
    return fail('ACQ.TRADE_NOT_EXIST', '交易不存在', {
      ...(ref.outTradeNo ? { out_trade_no: ref.outTradeNo } : {}),
      ...(ref.tradeNo ? { trade_no: ref.tradeNo } : {}),
      buyer_pay_amount: '0.00',
      invoice_amount: '0.00',
      point_amount: '0.00',
      receipt_amount: '0.00',
    });
  }
  const paid = trade.paidAt !== null;
  const total = yuan(trade.fen);
  const paidAmount = paid ? total : '0.00';
  return ok({
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    ...(trade.buyer ? { buyer_logon_id: trade.buyer.masked } : {}),
    trade_status: trade.status,
    total_amount: total,
    buyer_pay_amount: paidAmount,
    point_amount: '0.00',
    invoice_amount: paidAmount,
    receipt_amount: paidAmount,
    ...(paid ? { send_pay_date: beijing(trade.paidAt!) } : {}),
    ...(trade.buyer ? { buyer_user_id: trade.buyer.id, buyer_user_type: 'PRIVATE' } : {}),
    subject: trade.subject,
    ...(paid && options(biz).includes('fund_bill_list') ? { fund_bill_list: [{ fund_channel: 'ALIPAYACCOUNT', amount: total, real_amount: total }] } : {}),
  });
}

/**
 * §5.2. The real gateway wants refunds of one trade ≥ 3 s apart; the simulator does not enforce that spacing, so tests
 * can refund twice in a row without sleeping.
 */
export function refund(fx: ApiEffects, app: SimApp, biz: Inner): Inner {
  const ref = readRef(biz);
  if (!ref) return invalid('out_trade_no 和 trade_no 不能同时为空');
  const fen = amountFen(biz.refund_amount);
  if (fen === null) return invalid('退款金额格式错误 (refund_amount: 0.01 … 100000000, ≤2 decimals)');
  const outRequestNo = text(biz.out_request_no) || undefined;
  if (outRequestNo !== undefined && outRequestNo.length > 64) return invalid('out_request_no 长度不能超过 64');
  const refundReason = text(biz.refund_reason) || null;
  const trade = find(fx, app, ref);
  if (!trade) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
  // Without out_request_no Alipay uses the out_trade_no as the request number (§5.2).
  const requestNo = outRequestNo ?? trade.outTradeNo;
  const base = { trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo, ...(trade.buyer ? { buyer_logon_id: trade.buyer.masked, buyer_user_id: trade.buyer.id } : {}) };
  const prior = trade.refunds.find((r) => r.outRequestNo === requestNo);
  if (prior) {
    if (prior.fen !== fen) return fail('ACQ.DISCORDANT_REPEAT_REQUEST', '请求信息不一致 (same out_request_no, different refund_amount)');
    // A retry of a refund that went through: success, but no money moved this time.
    return ok({ ...base, fund_change: 'N', refund_fee: yuan(refundedUpTo(trade, prior)), gmt_refund_pay: beijing(prior.at) });
  }
  if (trade.status === 'WAIT_BUYER_PAY' || trade.status === 'TRADE_CLOSED') return fail('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  if (trade.status === 'TRADE_FINISHED') return fail('ACQ.TRADE_HAS_FINISHED', '交易已完结');
  if (outRequestNo === undefined && fen !== trade.fen) {
    return fail('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限', { out_trade_no: trade.outTradeNo, refund_fee: '0.00', send_back_fee: '0.00' });
  }
  if (fen > trade.fen - trade.refundedFen) return fail('ACQ.REASON_TRADE_REFUND_FEE_ERR', '退款金额无效');
  const record: SimRefund = { outRequestNo: requestNo, fen, reason: refundReason, at: new Date() };
  trade.refunds.push(record);
  trade.refundedFen += fen;
  const full = trade.refundedFen === trade.fen;
  if (full) markClosed(trade, record.at);
  fx.refunded(trade, record, full);
  return ok({ ...base, fund_change: 'Y', refund_fee: yuan(trade.refundedFen), gmt_refund_pay: beijing(record.at), send_back_fee: yuan(fen) });
}

/** §5.3: only a WAIT_BUYER_PAY trade closes. */
export function close(fx: ApiEffects, app: SimApp, biz: Inner): Inner {
  const ref = readRef(biz);
  if (!ref) return invalid('out_trade_no 和 trade_no 不能同时为空');
  const trade = find(fx, app, ref);
  if (!trade) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
  if (trade.status !== 'WAIT_BUYER_PAY') return fail('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  markClosed(trade, new Date());
  fx.closed(trade);
  return ok({ trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo });
}

/** §5.4: an unknown out_request_no is a success without refund_status ("not received"). */
export function refundQuery(fx: ApiEffects, app: SimApp, biz: Inner): Inner {
  const ref = readRef(biz);
  if (!ref) return invalid('out_trade_no 和 trade_no 不能同时为空');
  const outRequestNo = text(biz.out_request_no) || undefined;
  if (!outRequestNo) return invalid('out_request_no 不能为空');
  const trade = find(fx, app, ref);
  if (!trade) return fail('ACQ.TRADE_NOT_EXIST', '交易不存在');
  const base = { trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo, out_request_no: outRequestNo };
  const found = trade.refunds.find((r) => r.outRequestNo === outRequestNo);
  if (!found) return ok(base);
  return ok({
    ...base,
    total_amount: yuan(trade.fen),
    refund_amount: yuan(found.fen),
    refund_status: 'REFUND_SUCCESS',
    ...(found.reason ? { refund_reason: found.reason } : {}),
    ...(options(biz).includes('gmt_refund_pay') ? { gmt_refund_pay: beijing(found.at) } : {}),
  });
}

export const API_METHODS = {
  'alipay.trade.query': query,
  'alipay.trade.refund': refund,
  'alipay.trade.close': close,
  'alipay.trade.fastpay.refund.query': refundQuery,
} as const;

export type ApiMethod = keyof typeof API_METHODS;
export const isApiMethod = (method: string): method is ApiMethod => Object.hasOwn(API_METHODS, method);
