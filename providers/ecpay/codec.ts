import { ValidationError } from '../../core/errors.ts';
import { fromWholeUnits, toWholeUnits } from '../../core/money.ts';
import type { CallbackUrls, OrderItemSnapshot, OrderSnapshot, PaymentFacts } from '../../core/payment-provider.ts';
import { parseFormStrict } from '../kit/fields.ts';
import { endOfTaipeiDay, parseTaipei, taipeiDatePlusDays, taipeiDateTime, taipeiDaysBetween } from './time.ts';

/**
 * Wire ⇄ core for ECPay AIO (docs/protocols/ecpay.md#aiocheckout, docs/protocols/ecpay.md#returnurl, docs/protocols/ecpay.md#paymentinfourl, docs/protocols/ecpay.md#querytradeinfo). ECPay counts whole New
 * Taiwan dollars; paygate counts TWD in cents (exponent 2), so NT$799 is 79900 here and `799` there,
 * and an amount with cents cannot be sent at all.
 */

export const MERCHANT_TRADE_NO = /^[A-Za-z0-9]{1,20}$/;
/** §3.2 String(n) maxima. */
export const ITEM_NAME_MAX = 400;
export const TRADE_DESC_MAX = 200;
export const URL_MAX = 200;
/** §3.4: an ATM account stays payable 1-60 days after the order was made at ECPay. */
export const ATM_EXPIRE_DAYS_MIN = 1;
export const ATM_EXPIRE_DAYS_MAX = 60;

/**
 * §11.1 per-order limits in whole TWD for ordinary (non-contracted) merchants (D15, CONFIRMED).
 * Contracted merchants may have other limits — UNVERIFIED, so these are the ones enforced.
 */
export const AMOUNT_LIMITS: Readonly<Record<'card' | 'atm', { min: number; max: number }>> = Object.freeze({
  card: { min: 5, max: 199_999 },
  atm: { min: 11, max: 49_999 },
});

/** §3.2 ChoosePayment for each paygate method. */
export const CHOOSE_PAYMENT: Readonly<Record<'card' | 'atm', string>> = Object.freeze({ card: 'Credit', atm: 'ATM' });

/** §0 / §12 codes this adapter reads. */
export const RTN_PAID = '1';
export const RTN_ATM_ISSUED = '2';
export const RTN_CODE_ISSUED = '10100073';
export const TRADE_UNPAID = '0';
export const TRADE_PAID = '1';
export const TRADE_NOT_ESTABLISHED = '10200095';
export const TRADE_NOT_FOUND = '10200047';

// Characters kept out of free text: # separates items (§3.2); & and = break QueryTradeInfo's raw,
// undecoded answer (§8.2, ECPay's escaping of them is UNVERIFIED); < > " break naively rendered
// hidden inputs, and an altered value is a "CheckMacValue Error" (§3.1, §13.4).
const UNSAFE_TEXT = /[#&=<>"\u0000-\u001f\u007f]/g;

/** Removes what ECPay or a form could mangle, folds white space, and cuts to `max` UTF-16 units. */
export function cleanText(text: string, max: number): string {
  return cut(text.replace(UNSAFE_TEXT, ' ').replace(/\s+/g, ' ').trim(), max).trim();
}

/** Cuts to at most `max` UTF-16 units (.NET's string length) without splitting a character. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

/**
 * §3.2 ItemName: one `name xN` per order line, `#`-separated (ECPay shows one per line), within 400
 * characters. Lines that do not fit are summed up in a last `…+N` entry rather than cut off unseen.
 */
export function itemName(items: readonly OrderItemSnapshot[], fallback: string): string {
  const lines = items.map((item) => {
    const name = cleanText(item.name, ITEM_NAME_MAX) || cleanText(item.sku, ITEM_NAME_MAX) || 'item';
    return item.quantity === 1 ? name : `${name} x${item.quantity}`;
  });
  if (lines.length === 0) return cleanText(fallback, ITEM_NAME_MAX) || 'order';
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const rest = lines.length - i - 1;
    // Room must stay for the summary of what follows, if anything does.
    const tail = rest > 0 ? `#…+${rest}` : '';
    const next = out ? `${out}#${lines[i]}` : lines[i]!;
    if (next.length + tail.length <= ITEM_NAME_MAX) {
      out = next;
      continue;
    }
    // The line before this one was admitted with room for exactly this summary.
    if (out) return `${out}#…+${lines.length - i}`;
    // A first line too long on its own is cut, and the rest still counted.
    out = cut(lines[0]!, ITEM_NAME_MAX - tail.length).trim();
  }
  return out;
}

/** paygate TWD minor units → ECPay's whole dollars for `method`, or a ValidationError on `amount`. */
export function totalAmount(order: Pick<OrderSnapshot, 'amount' | 'currency'>, method: 'card' | 'atm'): number {
  if (order.currency !== 'TWD') throw ValidationError.field('currency', 'ECPay takes TWD only', 'unsupported_currency');
  const whole = toWholeUnits(order.amount, 'TWD', 'amount');
  const { min, max } = AMOUNT_LIMITS[method];
  if (whole < min || whole > max) {
    throw ValidationError.field('amount', `ECPay ${method === 'card' ? 'card' : 'ATM'} payments take NT$${min} to NT$${max}`, 'amount_out_of_range');
  }
  return whole;
}

/** ECPay's whole-dollar text (TradeAmt, amount…) → TWD minor units; NaN for anything else. */
export function fromTradeAmt(text: unknown): number {
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,11})$/.test(text)) return Number.NaN;
  return fromWholeUnits(Number(text), 'TWD');
}

/**
 * §3.4 ExpireDate (days): the account stays open until the end of the Taipei day that many days
 * after the order reaches ECPay, so the smallest count whose day covers the order's own deadline,
 * within 1-60.
 */
export function atmExpireDays(now: Date, expiresAt: Date): number {
  return Math.min(ATM_EXPIRE_DAYS_MAX, Math.max(ATM_EXPIRE_DAYS_MIN, taipeiDaysBetween(now, expiresAt)));
}

export interface CheckoutInput {
  order: OrderSnapshot;
  merchantId: string;
  urls: CallbackUrls;
  now: Date;
}

/** §3 AioCheckOut/V5 fields for a card or ATM order, without CheckMacValue. */
export function checkoutFields({ order, merchantId, urls, now }: CheckoutInput): Record<string, string> {
  if (order.method !== 'card' && order.method !== 'atm') throw ValidationError.field('method', 'ECPay offers card and atm', 'unsupported_method');
  if (!MERCHANT_TRADE_NO.test(order.orderNo)) throw ValidationError.field('orderNo', 'is not a valid MerchantTradeNo (1-20 letters or digits)');
  const amount = totalAmount(order, order.method);
  const fields: Record<string, string> = {
    MerchantID: merchantId,
    MerchantTradeNo: order.orderNo,
    MerchantTradeDate: taipeiDateTime(now),
    PaymentType: 'aio',
    TotalAmount: String(amount),
    TradeDesc: cleanText(order.subject, TRADE_DESC_MAX) || order.orderNo,
    ItemName: itemName(order.items, order.subject),
    // Both server notices come to the one notify endpoint and are told apart by RtnCode (§3.4, S5).
    ReturnURL: urls.notifyUrl,
    ChoosePayment: CHOOSE_PAYMENT[order.method],
    EncryptType: '1',
    // gwsr, the card's authorisation serial, is what §9 needs to find a card's state for refunds.
    NeedExtraPaidInfo: 'Y',
  };
  if (order.method === 'card') {
    fields.OrderResultURL = urls.returnUrl;
  } else {
    fields.ExpireDate = String(atmExpireDays(now, order.expiresAt));
    fields.PaymentInfoURL = urls.notifyUrl;
    fields.ClientRedirectURL = urls.returnUrl;
  }
  return fields;
}

/** The last instant an ATM account issued on `now` with `days` takes transfers (§7 ExpireDate). */
export function atmDeadline(now: Date, days: number): Date {
  return endOfTaipeiDay(taipeiDatePlusDays(now, days))!;
}

/**
 * Defined, not assigned: a field named `__proto__` must be a field (which then breaks the MAC), not
 * a change of the object's prototype that silently drops it.
 */
function setField(fields: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A form body (notify, browser POST) as fields: URL-decoded, empty values kept (§4.4). A field
 * named twice cannot be checked against one MAC: null (the kit's rule, providers/kit/fields.ts; the
 * adapter uses parseFormStrict itself, whose error names the field).
 */
export function parseForm(text: string): Record<string, string> | null {
  try {
    return parseFormStrict(text);
  } catch (err) {
    if (err instanceof ValidationError) return null;
    throw err;
  }
}

/**
 * §8.2: QueryTradeInfo (and DoAction) answers are `name=value&…` with raw values: split on `&` and
 * at the first `=`, never URL-decoded (a literal `+` must stay a `+` for the MAC). Null when a piece
 * has no `=` or a name repeats.
 */
export function parseRaw(text: string): Record<string, string> | null {
  const fields: Record<string, string> = {};
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') return null;
  for (const piece of body.split('&')) {
    const at = piece.indexOf('=');
    if (at <= 0) return null;
    const name = piece.slice(0, at);
    if (Object.hasOwn(fields, name)) return null;
    setField(fields, name, piece.slice(at + 1));
  }
  return fields;
}

/** What a verified ReturnURL, PaymentInfoURL or browser POST proves (§5, §6, §7). */
export function callbackFacts(fields: Readonly<Record<string, string>>): PaymentFacts | { error: string } {
  const orderNo = fields.MerchantTradeNo;
  if (!orderNo) return { error: 'MerchantTradeNo is missing' };
  const amount = fromTradeAmt(fields.TradeAmt);
  if (Number.isNaN(amount)) return { error: `TradeAmt ${JSON.stringify(fields.TradeAmt ?? null)} is not a whole amount` };
  const base = { orderNo, amount, currency: 'TWD', providerTradeNo: fields.TradeNo || null };
  const rtnCode = fields.RtnCode ?? '';
  switch (rtnCode) {
    case RTN_PAID:
      return {
        ...base,
        outcome: 'paid',
        paidAt: parseTaipei(fields.PaymentDate),
        // §5.2: a back-office "模擬付款" moves no money; core records it and pays nothing.
        ...(fields.SimulatePaid === '1' ? { simulated: true } : {}),
      };
    case RTN_ATM_ISSUED: {
      // §7: ExpireDate is a Taipei date with no time; that the account takes transfers to the end of
      // that day (23:59:59.999 Taipei) is UNVERIFIED, and the reading that never expires an order early.
      const deadline = /^\d{4}\/\d{2}\/\d{2}$/.test(fields.ExpireDate ?? '') ? endOfTaipeiDay(fields.ExpireDate!) : parseTaipei(fields.ExpireDate);
      if (!fields.BankCode || !fields.vAccount || !deadline) return { error: 'an ATM notice without BankCode, vAccount or a valid ExpireDate' };
      return {
        ...base,
        outcome: 'pending',
        action: { type: 'instructions', atm: { bankCode: fields.BankCode, account: fields.vAccount, amount, deadline: deadline.toISOString() } },
        expiresAt: deadline,
      };
    }
    case RTN_CODE_ISSUED:
      // A store code (CVS/BARCODE): not a method this adapter offers, so there is nothing to show.
      return { ...base, outcome: 'pending' };
    default:
      if (!/^\d{1,10}$/.test(rtnCode)) return { error: `RtnCode ${JSON.stringify(rtnCode)} is not a code` };
      return { ...base, outcome: 'failed', code: rtnCode, message: (fields.RtnMsg ?? '').slice(0, 200) || 'ECPay reported the payment as failed' };
  }
}

/** §8.2 TradeStatus → facts; undefined for 10200047 (no such order). Throws on a status it cannot read. */
export function queryFacts(fields: Readonly<Record<string, string>>, orderNo: string): PaymentFacts | undefined {
  const status = fields.TradeStatus ?? '';
  if (status === TRADE_NOT_FOUND) return undefined;
  const amount = fromTradeAmt(fields.TradeAmt);
  const base = { orderNo: fields.MerchantTradeNo || orderNo, amount, currency: 'TWD', providerTradeNo: fields.TradeNo || null };
  switch (status) {
    case TRADE_UNPAID:
      return { ...base, outcome: 'pending' };
    case TRADE_PAID:
      return { ...base, outcome: 'paid', paidAt: parseTaipei(fields.PaymentDate) };
    case TRADE_NOT_ESTABLISHED:
      return { ...base, outcome: 'failed', code: status, message: 'The order was not established: no payment was made' };
    default:
      throw new Error(`QueryTradeInfo answered an unknown TradeStatus ${JSON.stringify(status).slice(0, 20)}`);
  }
}
