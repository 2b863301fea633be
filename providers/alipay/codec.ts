import { ValidationError } from '../../core/errors.ts';
import { parseDecimalString, toDecimalString } from '../../core/money.ts';
import type { PaymentFacts, PaymentOutcome } from '../../core/payment-provider.ts';
import { BEIJING, formatWallClock, parseWallClock } from '../kit/time.ts';
import type { TradeQueryAnswer } from './answers.ts';

/**
 * Wire ⇄ core for Alipay (docs/protocols/alipay.md#callbacks, docs/protocols/alipay.md#amounts-and-currency, docs/protocols/alipay.md#time-zone-and-formats). Amounts are yuan strings with two
 * decimals, made from and read back into integer minor units by string arithmetic only.
 */

const BEIJING_TIME = 'yyyy-MM-dd HH:mm:ss';
/** §6: time_expire is 1 minute to 15 days ahead. */
export const MAX_EXPIRY_MS = 15 * 86_400_000;
export const SUBJECT_MAX = 256;
const AMOUNT = /^\d+(?:\.\d{1,2})?$/;

/** §6: total_amount is at most 100000000.00 (in minor units of a two-decimal currency). */
export const TOTAL_AMOUNT_MAX_MINOR = 10_000_000_000;

/** 79900 → "799.00"; refuses what Alipay cannot take ([0.01, 100000000], §6). */
export function toTotalAmount(minor: number, currency: string, path = 'amount'): string {
  const text = toDecimalString(minor, currency);
  if (minor < 1 || minor > TOTAL_AMOUNT_MAX_MINOR) throw ValidationError.field(path, 'Alipay takes 0.01 to 100000000.00');
  return text.includes('.') ? text : `${text}.00`;
}

/** "799.00" or "799.5" → 79900 / 79950; anything that is not d+(.d{1,2}) → NaN (never a float). */
export function fromTotalAmount(text: unknown, currency: string): number {
  if (typeof text !== 'string' || !AMOUNT.test(text)) return Number.NaN;
  try {
    return parseDecimalString(text, currency);
  } catch {
    return Number.NaN;
  }
}

/** yyyy-MM-dd HH:mm:ss in Beijing time, independent of the process's TZ (§6, jeepay#43). */
export function beijingTime(date: Date): string {
  return formatWallClock(date, BEIJING, BEIJING_TIME);
}

/** yyyy-MM-dd HH:mm:ss in Beijing time → the instant; null for anything else, or a time that does not exist. */
export function parseBeijingTime(text: unknown): Date | null {
  return parseWallClock(text, BEIJING, BEIJING_TIME);
}

/** §6: subject ≤ 256 characters, without / = & (Alipay's models warn against them). */
export function cleanSubject(subject: string): string {
  const cleaned = subject.replace(/[/=&]/g, ' ').replace(/\s+/g, ' ').trim();
  return [...cleaned].slice(0, SUBJECT_MAX).join('') || 'order';
}

/** Drops '' values: Alipay signs without them, the SDK would verify with `key=` (§1.9). */
export function withoutEmpty(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== ''));
}

/**
 * §3.3: WAIT_BUYER_PAY waits; TRADE_SUCCESS and TRADE_FINISHED are paid; TRADE_CLOSED is a close
 * of an unpaid trade, or a full refund when refund_fee covers the total.
 */
export function outcomeOf(tradeStatus: string, totalMinor: number, refundMinor: number): PaymentOutcome | null {
  switch (tradeStatus) {
    case 'WAIT_BUYER_PAY':
      return 'pending';
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return 'paid';
    case 'TRADE_CLOSED':
      return refundMinor > 0 && refundMinor === totalMinor ? 'refunded' : 'closed';
    default:
      return null;
  }
}

/** Facts from a verified notify (snake_case form fields). */
export function notifyFacts(params: Record<string, string>, currency: string): PaymentFacts | { error: string } {
  const amount = fromTotalAmount(params.total_amount, currency);
  const refund = params.refund_fee ? fromTotalAmount(params.refund_fee, currency) : 0;
  const outcome = outcomeOf(params.trade_status ?? '', amount, refund);
  if (!params.out_trade_no) return { error: 'out_trade_no is missing' };
  if (Number.isNaN(amount)) return { error: 'total_amount is not an amount' };
  if (!outcome) return { error: `unknown trade_status ${params.trade_status}` };
  return {
    orderNo: params.out_trade_no,
    outcome,
    amount,
    currency,
    providerTradeNo: params.trade_no || null,
    paidAt: outcome === 'paid' || outcome === 'refunded' ? parseBeijingTime(params.gmt_payment) : null,
    // §3.3: a refund (ours, or one made in Alipay's back office) notifies with refund_fee, the
    // trade's refunded total, and out_biz_no, the refund request's number.
    ...((outcome === 'paid' || outcome === 'refunded') && refund > 0 && !Number.isNaN(refund)
      ? { refundedAmount: refund, providerRefundNo: params.out_biz_no || null }
      : {}),
    ...(outcome === 'closed' ? { code: 'TRADE_CLOSED', message: 'The trade was closed before payment' } : {}),
  };
}

/** Facts from a verified alipay.trade.query answer (camelCased by the SDK, parsed by tradeQueryAnswer). */
export function queryFacts(result: TradeQueryAnswer, currency: string): PaymentFacts {
  const amount = fromTotalAmount(result.totalAmount, currency);
  let outcome = outcomeOf(result.tradeStatus, amount, 0) ?? 'pending';
  // A closed trade that had been paid was closed by a full refund (the query carries no refund_fee).
  if (outcome === 'closed' && result.sendPayDate) outcome = 'refunded';
  return {
    orderNo: result.outTradeNo,
    outcome,
    amount,
    currency,
    providerTradeNo: result.tradeNo || null,
    paidAt: outcome === 'paid' || outcome === 'refunded' ? parseBeijingTime(result.sendPayDate) : null,
  };
}
