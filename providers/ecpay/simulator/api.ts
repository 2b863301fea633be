import { checkMacMatches, withCheckMac } from '../crypto.ts';
import { taipeiDateTime } from '../time.ts';
import { atmInfoFields, notFoundFields, queryFields, rawBody, sortedFields } from './messages.ts';
import type { Book, SimMerchant, SimOrder } from './store.ts';

/** The server-to-server endpoints (§8, §9, §10), answering in ECPay's formats. */

export interface ApiContext {
  book: Book;
  now(): Date;
  timestampToleranceSec: number;
  simulatePaidMarksPaid: boolean;
  /** §8.2: whether an unknown order's answer is signed (UNVERIFIED). */
  signNotFound: boolean;
  /** §10.2: whether DoAction answers carry a CheckMacValue (UNVERIFIED). */
  doActionMac: boolean;
}

export interface ApiAnswer {
  status: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/html; charset=utf-8';
const text = (body: string): ApiAnswer => ({ status: 200, contentType: TEXT, body });
const json = (value: unknown): ApiAnswer => ({ status: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) });

/**
 * How ECPay answers a query with a bad MAC or a stale TimeStamp is UNVERIFIED (§16). The simulator
 * answers unsigned name=value text with a made-up status, which no client can mistake for an order.
 */
export const QUERY_BAD_MAC_ANSWER_UNVERIFIED = 'TradeStatus=10200073&RtnMsg=CheckMacValue Error.';
export const QUERY_STALE_TIMESTAMP_ANSWER_UNVERIFIED = 'TradeStatus=10200911&RtnMsg=TimeStamp Error.';

/** §10.2 failure RtnCodes are UNVERIFIED; the simulator uses distinct ones per reason. */
export const DO_ACTION_CODES_UNVERIFIED = Object.freeze({
  badMac: '10200073',
  notFound: '10200047',
  notCard: '10200912',
  wrongState: '10200913',
  wrongAmount: '10200914',
  badRequest: '10200915',
});

function signedMerchant(ctx: ApiContext, form: Record<string, string>): SimMerchant | null {
  const merchant = ctx.book.merchants.get(form.MerchantID ?? '');
  return merchant && checkMacMatches(form, merchant) ? merchant : null;
}

function freshTimestamp(ctx: ApiContext, form: Record<string, string>): boolean {
  if (!/^\d{1,12}$/.test(form.TimeStamp ?? '')) return false;
  return Math.abs(ctx.now().getTime() / 1000 - Number(form.TimeStamp)) <= ctx.timestampToleranceSec;
}

const signedRaw = (fields: Record<string, string>, merchant: SimMerchant) => rawBody(withCheckMac(sortedFields(fields), merchant));

/** POST /Cashier/QueryTradeInfo/V5 (§8): MAC and TimeStamp window first, then the order, raw values, MAC last. */
export function queryTradeInfo(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  const merchant = signedMerchant(ctx, form);
  if (!merchant) return text(QUERY_BAD_MAC_ANSWER_UNVERIFIED);
  if (!freshTimestamp(ctx, form)) return text(QUERY_STALE_TIMESTAMP_ANSWER_UNVERIFIED);
  const order = ctx.book.find(merchant.merchantId, form.MerchantTradeNo ?? '');
  if (!order) {
    const fields = notFoundFields(merchant.merchantId, form.MerchantTradeNo ?? '');
    return text(ctx.signNotFound ? signedRaw(fields, merchant) : rawBody(sortedFields(fields)));
  }
  return text(signedRaw(queryFields(order, ctx.simulatePaidMarksPaid), merchant));
}

/** POST /Cashier/QueryPaymentInfo (§7): the issued account while unpaid; 10200047 otherwise. */
export function queryPaymentInfo(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  const merchant = signedMerchant(ctx, form);
  if (!merchant) return text(QUERY_BAD_MAC_ANSWER_UNVERIFIED);
  if (!freshTimestamp(ctx, form)) return text(QUERY_STALE_TIMESTAMP_ANSWER_UNVERIFIED);
  const order = ctx.book.find(merchant.merchantId, form.MerchantTradeNo ?? '');
  if (!order || !order.atm || order.status === '1') {
    return text(signedRaw({ MerchantID: merchant.merchantId, MerchantTradeNo: form.MerchantTradeNo ?? '', RtnCode: '10200047', RtnMsg: 'Cant not find the trade data.', TradeNo: '' }, merchant));
  }
  return text(signedRaw(atmInfoFields(order, true), merchant));
}

/** POST /CreditDetail/QueryTrade/V2 (§9): JSON, unsigned. */
export function queryCardTrade(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  const merchant = signedMerchant(ctx, form);
  if (!merchant) return json({ RtnMsg: 'CheckMacValue Error.', RtnValue: null });
  if (form.CreditCheckCode !== merchant.creditCheckCode) return json({ RtnMsg: 'CreditCheckCode Error.', RtnValue: null });
  const order = ctx.book.orders.find((o) => o.merchant === merchant && o.card?.gwsr === form.CreditRefundId);
  if (!order?.card || String(order.totalAmount) !== form.CreditAmount) return json({ RtnMsg: '查無資料 (no such authorisation)', RtnValue: null });
  const card = order.card;
  return json({
    RtnMsg: '',
    RtnValue: {
      TradeID: card.gwsr,
      amount: card.authorisedAmount,
      clsamt: card.closedAmount,
      authtime: taipeiDateTime(order.paymentDate ?? order.tradeDate),
      status: card.state,
      close_data: card.actions.filter((a) => a.action !== 'N').map((a) => ({ status: a.action, sno: card.gwsr, amount: a.amount, datetime: taipeiDateTime(a.at) })),
    },
  });
}

/**
 * POST /CreditDetail/DoAction (§10): the §10.1 state table. C closes up to the authorised amount;
 * R refunds part of a 要關帳 close or any of a 已關帳 one; E undoes a close; N abandons an authorisation.
 */
export function doAction(ctx: ApiContext, form: Record<string, string>): ApiAnswer {
  const merchant = ctx.book.merchants.get(form.MerchantID ?? '');
  const base = { MerchantID: form.MerchantID ?? '', MerchantTradeNo: form.MerchantTradeNo ?? '', TradeNo: form.TradeNo ?? '' };
  const answer = (code: string, msg: string) => {
    const fields = { ...base, RtnCode: code, RtnMsg: msg };
    return text(ctx.doActionMac && merchant ? rawBody(withCheckMac(fields, merchant)) : rawBody(fields));
  };
  if (!merchant || !checkMacMatches(form, merchant)) return answer(DO_ACTION_CODES_UNVERIFIED.badMac, 'CheckMacValue Error.');
  const order: SimOrder | undefined = ctx.book.find(merchant.merchantId, form.MerchantTradeNo ?? '');
  if (!order || order.tradeNo !== form.TradeNo) return answer(DO_ACTION_CODES_UNVERIFIED.notFound, 'Cant not find the trade data.');
  const card = order.card;
  if (!card || order.status !== '1') return answer(DO_ACTION_CODES_UNVERIFIED.notCard, 'Not an authorised card payment.');
  if (!/^[1-9][0-9]{0,8}$/.test(form.TotalAmount ?? '')) return answer(DO_ACTION_CODES_UNVERIFIED.badRequest, 'TotalAmount Error.');
  const amount = Number(form.TotalAmount);
  const wrongState = () => answer(DO_ACTION_CODES_UNVERIFIED.wrongState, `Action ${form.Action} is not allowed in state ${card.state}.`);
  const wrongAmount = (why: string) => answer(DO_ACTION_CODES_UNVERIFIED.wrongAmount, `TotalAmount Error: ${why}.`);
  switch (form.Action) {
    case 'C':
      if (card.state !== '已授權') return wrongState();
      if (amount > card.authorisedAmount) return wrongAmount('more than authorised');
      card.state = '要關帳';
      card.closedAmount = amount;
      break;
    case 'R':
      if (card.state === '要關帳') {
        if (amount >= card.closedAmount) return wrongAmount('a refund while closing must be partial (E then N gives all back)');
      } else if (card.state === '已關帳') {
        if (amount > card.closedAmount) return wrongAmount('more than is left');
      } else return wrongState();
      card.closedAmount -= amount;
      break;
    // Which TotalAmount E and N carry is UNVERIFIED (§10.1 gives none): the simulator insists on the
    // closed and the authorised amount, which is what the adapter sends.
    case 'E':
      if (card.state !== '要關帳') return wrongState();
      if (amount !== card.closedAmount) return wrongAmount('E takes the closed amount');
      card.state = '已授權';
      card.closedAmount = 0;
      break;
    case 'N':
      if (card.state !== '已授權') return wrongState();
      if (amount !== card.authorisedAmount) return wrongAmount('N takes the authorised amount');
      card.state = '已取消';
      break;
    default:
      return answer(DO_ACTION_CODES_UNVERIFIED.badRequest, 'Action Error.');
  }
  card.actions.push({ action: form.Action, amount, at: ctx.now() });
  return answer('1', '');
}

/** The daily auto-close at 20:15 (§2, §10.1): every authorisation and pending close is settled. */
export function autoClose(book: Book, now: Date): number {
  let closed = 0;
  for (const order of book.orders) {
    const card = order.card;
    if (!card || order.status !== '1') continue;
    if (card.state === '已授權') {
      card.closedAmount = card.authorisedAmount;
      card.actions.push({ action: 'C', amount: card.authorisedAmount, at: now });
    } else if (card.state !== '要關帳') continue;
    card.state = '已關帳';
    closed++;
  }
  return closed;
}
