import { ValidationError } from '../../core/errors.ts';
import { fromWholeUnits, toWholeUnits } from '../../core/money.ts';
import type { CallbackUrls, NextAction, OrderSnapshot, PaymentFacts } from '../../core/payment-provider.ts';
import { formatWallClock, parseFormStrict, parseJsonObjectStrict, parseWallClock, TAIPEI, wallClockDay } from '../kit/index.ts';
import type { NewebpayMethod } from './config.ts';

/**
 * Wire ⇄ core for NewebPay MPG (docs/protocols/newebpay.md#mpg-request, docs/protocols/newebpay.md#callbacks,
 * docs/protocols/newebpay.md#querytradeinfo). NewebPay counts whole New Taiwan dollars; paygate
 * counts TWD in cents, so NT$1,280 is 128000 here and `1280` there. Times are Taipei wall clock.
 */

/** §4.1: the MPG version M1's examples send and NewebPay still takes (2.3 only adds features we do not use). */
export const MPG_VERSION = '2.0';
/** §11.7: the versions of the back-office APIs. */
export const QUERY_VERSION = '1.3';
export const CANCEL_VERSION = '1.0';
/** §7.3: M1 says 1.1 for Close; which versions NewebPay accepts besides is UNVERIFIED. */
export const CLOSE_VERSION_UNVERIFIED = '1.1';

export const PATHS = {
  mpg: '/MPG/mpg_gateway',
  query: '/API/QueryTradeInfo',
  cancel: '/API/CreditCard/Cancel',
  close: '/API/CreditCard/Close',
} as const;

/** §4.2 MerchantOrderNo: letters, digits and `_`, at most 30. */
export const MERCHANT_ORDER_NO = /^[A-Za-z0-9_]{1,30}$/;
/**
 * §9: NewebPay takes a MerchantOrderNo once for ever (MPG03008), even after a failure, so each try
 * is a trade of its own (`payAgain: 'new-attempt'`): the order number on the first, then
 * `<orderNo>_<attempt>`. What NewebPay reports is mapped back to the order number.
 */
export function merchantOrderNo(order: Pick<OrderSnapshot, 'orderNo' | 'attempt'>): string {
  return order.attempt > 1 ? `${order.orderNo}_${order.attempt}` : order.orderNo;
}

const ATTEMPT_SUFFIX = /_([2-9]|[1-9]\d{1,8})$/;

/** The order number a MerchantOrderNo stands for (merchantOrderNo() read backwards). */
export function orderNoOf(merchantOrderNo: string): string {
  return merchantOrderNo.replace(ATTEMPT_SUFFIX, '');
}

/** The attempt a MerchantOrderNo is (1 without a suffix): NewebPay's news says which try it is about. */
export function attemptOf(merchantOrderNo: string): number {
  const m = ATTEMPT_SUFFIX.exec(merchantOrderNo);
  return m ? Number(m[1]) : 1;
}

/** §4.2 String(n) maxima. */
export const ITEM_DESC_MAX = 50;
export const URL_MAX = 200;
/** §4.2 ExpireDate: at most 180 days ahead. */
export const EXPIRE_DAYS_MAX = 180;

/**
 * §4.2 per-method amount windows in whole TWD: MPG hides a method outside its window instead of
 * refusing the form, so paygate refuses first. CVS 30-20,000 is confirmed, VACC ≤ 49,999 likely;
 * card has no published ceiling (the shop's own limit answers MPG01015).
 */
export const AMOUNT_LIMITS: Readonly<Record<NewebpayMethod, { min: number; max: number | undefined }>> = Object.freeze({
  card: { min: 1, max: undefined },
  atm: { min: 1, max: 49_999 },
  cvs: { min: 30, max: 20_000 },
  // §4.2 BARCODE: 20-40,000 (likely).
  barcode: { min: 20, max: 40_000 },
});

/** §4.2: the MPG flag that shows each method, and the PaymentType its results carry (§5.1). */
export const METHOD_FLAG: Readonly<Record<NewebpayMethod, string>> = Object.freeze({ card: 'CREDIT', atm: 'VACC', cvs: 'CVS', barcode: 'BARCODE' });

/**
 * §5.1: a paid CVS code names the store it was paid at (StoreType 1 7-ELEVEN, 2 FamilyMart, 3 OK,
 * 4 Hi-Life); that every code is taken at all four is UNVERIFIED, and what the buyer is told.
 */
export const CVS_STORES_UNVERIFIED: readonly string[] = Object.freeze(['7-ELEVEN', 'FamilyMart', 'Hi-Life', 'OK mart']);

/** §5.1 PaymentType values of methods whose code is issued first and paid later (§5.3). */
export const CODE_PAYMENT_TYPES: ReadonlySet<string> = new Set(['VACC', 'CVS', 'BARCODE']);

/** §6 TradeStatus. */
export const TRADE_STATUS = { unpaid: '0', paid: '1', failed: '2', cancelled: '3', refunded: '6' } as const;

const DATE_TIME = 'yyyy-MM-dd HH:mm:ss';

/** `yyyy-MM-dd HH:mm:ss` Taipei (§5.1 PayTime, §6 CreateTime) → the instant; null otherwise. */
export function parseTaipei(text: unknown): Date | null {
  return parseWallClock(text, TAIPEI, DATE_TIME);
}

// Characters kept out of ItemDesc: §4.2 asks for no line breaks or quotes and filters "special symbols".
const UNSAFE_TEXT = /['"<>\\&=#%+\u0000-\u001f\u007f]/g;

/** §4.2 ItemDesc: the order's subject (or its first item), cleaned, at most 50 characters. */
export function itemDesc(order: Pick<OrderSnapshot, 'subject' | 'items' | 'orderNo'>): string {
  const source = order.subject || order.items[0]?.name || order.orderNo;
  const text = source.replace(UNSAFE_TEXT, ' ').replace(/\s+/g, ' ').trim();
  return [...text].slice(0, ITEM_DESC_MAX).join('').trim() || order.orderNo;
}

/** paygate TWD minor units → NewebPay's whole dollars for `method`, or a ValidationError on `amount`. */
export function amt(order: Pick<OrderSnapshot, 'amount' | 'currency'>, method: NewebpayMethod): number {
  if (order.currency !== 'TWD') throw ValidationError.field('currency', 'NewebPay takes TWD only', 'unsupported_currency');
  const whole = toWholeUnits(order.amount, 'TWD', 'amount');
  const { min, max } = AMOUNT_LIMITS[method];
  if (whole < min || (max !== undefined && whole > max)) {
    throw ValidationError.field('amount', `NewebPay ${method} payments take NT$${min}${max === undefined ? ' or more' : ` to NT$${max}`}`, 'amount_out_of_range');
  }
  return whole;
}

/** NewebPay's whole dollars (a JSON number or digits) → TWD minor units; NaN for anything else. */
export function fromAmt(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,11})$/.test(text)) return Number.NaN;
  return fromWholeUnits(Number(text), 'TWD');
}

/**
 * §4.2 ExpireDate for a code paid later: the Taipei day the order's deadline falls on, within
 * today … today + 180 days; the code then takes payments until 23:59:59 that day (§10).
 */
export function expireDate(now: Date, expiresAt: Date): { ExpireDate: string; deadline: Date } {
  const today = wallClockDay(now, TAIPEI);
  const day = Math.min(today + EXPIRE_DAYS_MAX, Math.max(today, wallClockDay(expiresAt, TAIPEI)));
  const noon = new Date(day * 86_400_000 + 4 * 3_600_000);
  const ymd = formatWallClock(noon, TAIPEI, 'yyyyMMdd');
  return { ExpireDate: ymd, deadline: parseTaipei(`${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6)} 23:59:59`)! };
}

/** The CustomerURL of an account: the notify endpoint, marked so its answer can carry the browser on (§5.3). */
export function customerUrl(notifyUrl: string): string {
  return `${notifyUrl}${notifyUrl.includes('?') ? '&' : '?'}${CUSTOMER_MARK}`;
}
export const CUSTOMER_MARK = 'via=customer';

export interface MpgInput {
  order: OrderSnapshot;
  merchantId: string;
  urls: CallbackUrls;
  now: Date;
}

/** §4.2 TradeInfo parameters (before encryption) for a card, ATM or CVS order; the order's deadline for a code. */
export function mpgParams({ order, merchantId, urls, now }: MpgInput): { params: Record<string, string>; deadline: Date | null } {
  const method = order.method as NewebpayMethod;
  if (!Object.hasOwn(METHOD_FLAG, method)) throw ValidationError.field('method', 'NewebPay offers card, atm, cvs and barcode', 'unsupported_method');
  const reference = merchantOrderNo(order);
  if (!MERCHANT_ORDER_NO.test(reference) || orderNoOf(reference) !== order.orderNo) {
    throw ValidationError.field('orderNo', 'is not a valid MerchantOrderNo (1-30 letters, digits or _, with room for the attempt)');
  }
  const params: Record<string, string> = {
    MerchantID: merchantId,
    RespondType: 'JSON',
    TimeStamp: String(Math.floor(now.getTime() / 1000)),
    Version: MPG_VERSION,
    MerchantOrderNo: reference,
    Amt: String(amt(order, method)),
    ItemDesc: itemDesc(order),
    // §4.2: never the same URL for ReturnURL and NotifyURL (every result would come twice).
    ReturnURL: urls.returnUrl,
    NotifyURL: urls.notifyUrl,
    // §4.2: no other method flag is sent, so the buyer sees only the one chosen here.
    [METHOD_FLAG[method]]: '1',
  };
  if (method === 'card') return { params, deadline: null };
  const expiry = expireDate(now, order.expiresAt);
  params.ExpireDate = expiry.ExpireDate;
  params.CustomerURL = customerUrl(urls.notifyUrl);
  return { params, deadline: expiry.deadline };
}

/** A decrypted TradeInfo (§5) or an API answer (§6, §7): Status, Message and Result, every value as text. */
export interface NewebpayMessage {
  Status: string;
  Message: string;
  Result: Record<string, string>;
}

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * §3.3 step 4, §5: JSON `{Status, Message, Result}` (numbers may come as numbers or digits, and
 * `null`), or in String mode the same keys flat in a form-encoded string. Throws for anything else.
 */
export function parseMessage(plain: string): NewebpayMessage {
  if (plain.trimStart().startsWith('{')) {
    const outer = parseJsonObjectStrict(plain);
    const result = outer.Result ?? {};
    if (typeof result !== 'object' || Array.isArray(result) || result === null) {
      // An error answer may carry an empty array or a string as Result.
      if (Array.isArray(result) || typeof result === 'string') return { Status: text(outer.Status) ?? '', Message: text(outer.Message) ?? '', Result: {} };
      throw new Error('Result is not an object');
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(result as Record<string, unknown>)) {
      const t = text(v);
      if (t === undefined) throw new Error(`Result.${k.slice(0, 40)} is not text`);
      Object.defineProperty(fields, k, { value: t, enumerable: true, writable: true, configurable: true });
    }
    const status = text(outer.Status);
    if (!status) throw new Error('Status is missing');
    return { Status: status, Message: text(outer.Message) ?? '', Result: fields };
  }
  const { Status, Message, ...rest } = parseFormStrict(plain);
  if (!Status) throw new Error('Status is missing');
  return { Status, Message: Message ?? '', Result: rest };
}

/** §5.3 / §6: an issued code as the buyer's instructions; null when the fields do not make one. */
export function codeAction(paymentType: string, fields: { bankCode?: string; codeNo?: string; barcodes?: string[] }, amount: number, deadline: Date): NextAction | null {
  if (paymentType === 'VACC' && fields.bankCode && /^\d{3}$/.test(fields.bankCode) && fields.codeNo) {
    return { type: 'instructions', atm: { bankCode: fields.bankCode, account: fields.codeNo, amount, deadline: deadline.toISOString() } };
  }
  if (paymentType === 'CVS' && fields.codeNo && /^[0-9A-Za-z]{1,32}$/.test(fields.codeNo)) {
    return { type: 'instructions', cvs: { code: fields.codeNo, stores: [...CVS_STORES_UNVERIFIED], amount, deadline: deadline.toISOString() } };
  }
  // §5.3 BARCODE: three barcodes printed in order (Barcode_1..3), scanned at the counter.
  if (paymentType === 'BARCODE' && fields.barcodes?.length === 3 && fields.barcodes.every((b) => /^[0-9A-Z\-. $/+%]{1,40}$/.test(b))) {
    return { type: 'instructions', cvs: { barcodes: [...fields.barcodes], stores: [...CVS_STORES_UNVERIFIED], amount, deadline: deadline.toISOString() } };
  }
  return null;
}

/** §5.3 ExpireDate (`yyyy-MM-dd`) and ExpireTime (`HH:mm:ss`, or `HHmmss`; 23:59:59 when absent). */
function codeDeadline(result: Readonly<Record<string, string>>): Date | null {
  const time = result.ExpireTime || '23:59:59';
  const hms = /^\d{6}$/.test(time) ? `${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4)}` : time;
  return parseTaipei(`${result.ExpireDate ?? ''} ${hms}`);
}

/** What a verified Notify, Return or CustomerURL message proves (§5.1-§5.3, §9). */
export function callbackFacts(message: NewebpayMessage): PaymentFacts | { error: string } {
  const r = message.Result;
  const orderNo = r.MerchantOrderNo;
  if (!orderNo) return { error: 'MerchantOrderNo is missing' };
  const amount = fromAmt(r.Amt);
  if (Number.isNaN(amount)) return { error: `Amt ${JSON.stringify(r.Amt ?? null).slice(0, 20)} is not a whole amount` };
  const base = { orderNo: orderNoOf(orderNo), attempt: attemptOf(orderNo), amount, currency: 'TWD', providerTradeNo: r.TradeNo || null };
  if (message.Status !== 'SUCCESS') {
    if (!/^[A-Z0-9]{1,16}$/.test(message.Status)) return { error: `Status ${JSON.stringify(message.Status).slice(0, 30)} is not a code` };
    return { ...base, outcome: 'failed', code: message.Status, message: message.Message.slice(0, 200) || describeCode(message.Status) };
  }
  const paymentType = r.PaymentType ?? '';
  // §5.3: a code issued (CustomerURL) carries its deadline and no PayTime; the payment comes later.
  if (CODE_PAYMENT_TYPES.has(paymentType) && r.ExpireDate && !r.PayTime) {
    const deadline = codeDeadline(r);
    const barcodes = [r.Barcode_1, r.Barcode_2, r.Barcode_3].filter((b): b is string => !!b);
    const action = deadline ? codeAction(paymentType, { bankCode: r.BankCode, codeNo: r.CodeNo, barcodes }, amount, deadline) : null;
    if (!deadline || !action) return { error: `a ${paymentType} code message without a usable code or ExpireDate` };
    return { ...base, outcome: 'pending', action, expiresAt: deadline };
  }
  const paidAt = parseTaipei(r.PayTime);
  if (!paidAt) return { error: 'PayTime is missing or not yyyy-MM-dd HH:mm:ss' };
  return { ...base, outcome: 'paid', paidAt };
}

/** §6 PayInfo: `(bank)account` for VACC, the code itself for CVS. */
function payInfoAction(r: Readonly<Record<string, string>>, amount: number): { action: NextAction; expiresAt: Date } | null {
  const deadline = parseTaipei(r.ExpireDate);
  if (!deadline) return null;
  const atm = /^\((\d{3})\)([0-9A-Za-z]{1,32})$/.exec(r.PayInfo ?? '');
  // §6 PayInfo: `(bank)account` for VACC, the code for CVS, the three barcodes joined by commas for BARCODE.
  const fields = r.PaymentType === 'VACC' ? { bankCode: atm?.[1], codeNo: atm?.[2] } : r.PaymentType === 'BARCODE' ? { barcodes: (r.PayInfo ?? '').split(',') } : { codeNo: r.PayInfo };
  const action = codeAction(r.PaymentType ?? '', fields, amount, deadline);
  return action ? { action, expiresAt: deadline } : null;
}

/** §6 QueryTradeInfo Result → facts (§9 mapping). Throws on a TradeStatus it cannot read. */
export function queryFacts(r: Readonly<Record<string, string>>): PaymentFacts {
  const amount = fromAmt(r.Amt);
  if (Number.isNaN(amount)) throw new Error('Amt is not a whole amount');
  const base = { orderNo: orderNoOf(r.MerchantOrderNo ?? ''), attempt: attemptOf(r.MerchantOrderNo ?? ''), amount, currency: 'TWD', providerTradeNo: r.TradeNo || null };
  const card = !CODE_PAYMENT_TYPES.has(r.PaymentType ?? '') && r.PaymentType !== 'WEBATM';
  // §6 BackBalance: what can still be given back; for a card it starts at Amt.
  const balance = card && r.BackBalance !== undefined && r.BackBalance !== '' ? fromAmt(r.BackBalance) : Number.NaN;
  const refunded = Number.isNaN(balance) ? 0 : Math.max(0, amount - balance);
  switch (r.TradeStatus) {
    case TRADE_STATUS.unpaid: {
      const code = payInfoAction(r, amount);
      return { ...base, outcome: 'pending', ...(code ?? {}) };
    }
    case TRADE_STATUS.paid:
      return { ...base, outcome: 'paid', paidAt: parseTaipei(r.PayTime), ...(refunded > 0 ? { refundedAmount: refunded } : {}) };
    case TRADE_STATUS.failed:
      return { ...base, outcome: 'failed', code: 'TradeStatus_2', message: (r.RespondMsg ?? '').slice(0, 200) || 'NewebPay reports the payment as failed' };
    case TRADE_STATUS.cancelled:
      // §6: a card's authorisation voided gives all of it back; any other trade cancelled never paid.
      return card ? { ...base, outcome: 'refunded', paidAt: parseTaipei(r.PayTime), refundedAmount: amount } : { ...base, outcome: 'closed', code: 'TradeStatus_3', message: 'NewebPay cancelled the trade' };
    case TRADE_STATUS.refunded:
      return { ...base, outcome: 'refunded', paidAt: parseTaipei(r.PayTime), refundedAmount: refunded > 0 ? refunded : amount };
    default:
      throw new Error(`QueryTradeInfo answered an unknown TradeStatus ${JSON.stringify(r.TradeStatus ?? null).slice(0, 20)}`);
  }
}

/**
 * §8: what a Status other than SUCCESS asks of us. `declined`: the buyer's payment failed;
 * `config`: our request or the shop's setup is wrong (no retry); `credentials`: NewebPay could not
 * read or check what we signed; `retry`: send again later; `not_found`; `state`: the trade is not
 * in a state for this (query, then decide); `business`: refused for good; `locked`: NewebPay locked
 * the API for hours (back off, alert); `pending`: accepted, done later by a bank batch.
 */
export type CodeTreatment = 'declined' | 'config' | 'credentials' | 'retry' | 'not_found' | 'state' | 'business' | 'locked' | 'pending';

const range = (prefix: string, from: number, to: number, width: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(width, '0')}`);

const TREATMENTS: ReadonlyMap<string, { treatment: CodeTreatment; text: string }> = (() => {
  const table = new Map<string, { treatment: CodeTreatment; text: string }>();
  const put = (codes: string[], treatment: CodeTreatment, text: string) => codes.forEach((c) => table.set(c, { treatment, text }));
  put(['MPG01002', 'MPG01005', ...range('MPG0', 1008, 1018, 4), ...range('MPG0', 1023, 1030, 4)], 'config', 'a field is empty or malformed');
  put(['MPG02001'], 'config', 'CheckValue is wrong');
  put(['MPG02002', 'MPG02003'], 'config', 'the payment method is not enabled for this shop');
  put(['MPG02004'], 'retry', 'the payment page expired (TimeStamp older than 120 s); start again');
  put(['MPG02005'], 'config', 'the page was not reached by a browser form post');
  put(['MPG02006'], 'retry', 'the acquirer had a system error');
  put(range('MPG020', 7, 10, 2), 'config', 'ATM 2.0 rules');
  put(['MPG03001', 'MPG03005', 'MPG03006'], 'credentials', 'NewebPay could not decrypt the request');
  put(['MPG03002', 'MPG03003', 'MPG03004'], 'config', 'the address is refused or rate-limited, or the shop is suspended');
  put(['MPG03007'], 'config', 'unknown MerchantID');
  put(['MPG03008'], 'config', 'MerchantOrderNo was already used');
  put(['MPG03009'], 'declined', 'the payment was declined or could not be verified');
  put(['MPG03010', 'MPG03011'], 'declined', 'the wallet payment failed');
  put(['MPG05001', 'MPG05002', 'MPG05003', 'MPG05004', 'MPG05005'], 'declined', 'the card was refused');
  put(['MPG05006', 'MPG05007', 'MPG05008', 'MPG05009'], 'config', 'logistics parameters or limits');
  put(['ACC10005', 'MEM40008', 'MEM40012', 'MEM40013'], 'config', 'the shop is suspended or a required field is missing');
  put(['MEM40014', 'TRA40014'], 'retry', 'TimeStamp is out of NewebPay\'s window');
  put(['NOR1001', 'TRA10015', '9000'], 'retry', 'connection problem at NewebPay');
  put(['TRA10001', 'TRA10003', 'TRA10009', 'TRA10012', 'TRA10013', 'TRA10018', 'TRA10032', 'TRA10033', 'TRA10037', 'TRA10038', 'TRA10041'], 'config', 'shop data or a field format is wrong');
  put(['TRA10008', 'TRA10054'], 'credentials', 'NewebPay could not decrypt PostData_ or check CheckValue');
  put(['TRA10021', 'TRA20002'], 'not_found', 'no such trade (or not a card trade)');
  put(['TRA10026', 'TRA10027', 'TRA10035', 'TRA10047', 'TRA10048', 'TRA10049', 'TRA20011'], 'state', 'the trade is not in a state that allows this');
  put(['TRA10045', 'TRA10046', 'TRA20027'], 'state', 'a refund is in progress or failed');
  put(['TRA10028', 'TRA10036', 'TRA10039', 'TRA10077', 'TRA20028', 'TRA10050'], 'business', 'the amount is more than can be captured, refunded or voided');
  put(['TRA10029'], 'business', 'the capture window has passed');
  put(['TRA10030'], 'retry', 'the capture or refund could not be recorded');
  put(['TRA10031', 'TRA10058', 'TRA10070', 'TRA10675', 'TRA10678'], 'business', 'this card type allows only full amounts (or no capture)');
  put(['TRA10051', 'TRA10094', 'TRA10095'], 'state', 'the void failed or the closing time has passed');
  put(['TRA10071'], 'locked', 'QueryTradeInfo is locked for 4 hours after too many unknown-order lookups');
  put(['TRA10702'], 'locked', 'Close is locked for 1 hour after too many calls');
  put(['TRA11002'], 'locked', 'locked for 4 hours after too many failures');
  put(['TRA20001'], 'pending', 'the void was accepted and runs in the bank\'s batch');
  put(['TRA20004'], 'config', 'duplicate order number');
  return table;
})();

/** §8: how to treat `code`; an unknown code is a fault to look at, never a silent success. */
export function treatmentOf(code: string): CodeTreatment {
  return TREATMENTS.get(code)?.treatment ?? (code.startsWith('MPG05') || code.startsWith('MPG03') ? 'declined' : 'config');
}

/** §8: the meaning of `code` in our words, for messages and logs. */
export function describeCode(code: string): string {
  return TREATMENTS.get(code)?.text ?? `NewebPay code ${code.slice(0, 16)}`;
}
