import { ValidationError } from '../../core/errors.ts';
import type { AtmInstructions, OrderSnapshot, PaymentFacts, PaymentOutcome } from '../../core/payment-provider.ts';
import { endOfWallClockDay, formatWallClock, parseWallClock, TAIPEI } from '../kit/time.ts';
import type { SinopacSettings } from './config.ts';

/**
 * Wire ⇄ core for SinoPac QPay (docs/protocols/sinopac.md#services, docs/protocols/sinopac.md#status-codes, docs/protocols/sinopac.md#time-zone-and-formats). Amounts: the bank's
 * `Amount` is 1/100 NTD, which is exactly paygate's TWD minor unit (NT$799 → 79900), so no
 * conversion happens, only checks. Times on the wire are Asia/Taipei (UTC+8, no daylight saving).
 */

export const SINOPAC_BANK_CODE = '807';
export const SUCCESS_DESCRIPTION = 'S0000 – 處理成功';
/** §7.1: ATM orders ≤ NT$30,000 (single source: UNVERIFIED, kept as a named limit). */
export const ATM_MAX_AMOUNT_UNVERIFIED = 3_000_000;
/** §7.1 / §10: `Amount` has at most 9 digits (NT$9,999,999.99; single source S1: UNVERIFIED). */
export const AMOUNT_MAX_UNVERIFIED = 999_999_999;
/** §7.1: PrdtName ≤ 60, counted in UTF-8 bytes to be safe (the unit is UNVERIFIED). */
export const PRDT_NAME_MAX_BYTES = 60;

/** yyyyMMdd in Taipei. */
export function taipeiDate(date: Date): string {
  return formatWallClock(date, TAIPEI, 'yyyyMMdd');
}

/** yyyyMMddHHmm in Taipei (§10). */
export function taipeiMinute(date: Date): string {
  return formatWallClock(date, TAIPEI, 'yyyyMMddHHmm');
}

/** yyyyMMddHHmm (or yyyyMMdd) in Taipei → the instant; undefined for "", garbage or a day that does not exist. */
export function parseTaipei(text: unknown): Date | undefined {
  return parseWallClock(text, TAIPEI, 'yyyyMMddHHmm') ?? parseWallClock(text, TAIPEI, 'yyyyMMdd') ?? undefined;
}

/** The last instant a virtual account with this ExpireDate takes transfers: 23:59:59.999 Taipei. */
export function endOfTaipeiDay(yyyymmdd: string): Date {
  return endOfWallClockDay(parseWallClock(yyyymmdd, TAIPEI, 'yyyyMMdd')!, TAIPEI);
}

/** §7: text fields never carry ' " or %; cut to a UTF-8 byte budget without splitting a character. */
export function cleanText(text: string, maxBytes: number): string {
  const cleaned = text.replace(/['"%]/g, '').replace(/\s+/g, ' ').trim();
  let out = '';
  let bytes = 0;
  for (const ch of cleaned) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    out += ch;
    bytes += size;
  }
  return out.trim();
}

/**
 * PrdtName is required (§7.1), and compact() drops a top-level "0": a subject or item called "0",
 * or one with nothing printable left after cleaning, would leave the field out and the bank refuse
 * the order. The first name that survives both is used, else the order number.
 */
export function prdtName(order: Pick<OrderSnapshot, 'subject' | 'items' | 'orderNo'>): string {
  for (const candidate of [order.subject, ...order.items.map((i) => i.name)]) {
    const name = cleanText(candidate.replace(/[\p{C}]/gu, ' '), PRDT_NAME_MAX_BYTES);
    if (Object.keys(compact({ name })).length === 1) return name;
  }
  return order.orderNo;
}

/** §4/§6.3: no null, empty or zero top-level field is ever sent (whether zeros are signed is UNVERIFIED). */
export function compact(message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (value === null || value === undefined || value === '' || value === 0 || value === '0') continue;
    out[key] = value;
  }
  return out;
}

export interface CreateUrls {
  returnUrl: string;
  backendUrl: string;
}

/** §7.1 OrderCreate. PayType A (ATM virtual account) or C (card). */
export function orderCreateMessage(order: OrderSnapshot, settings: SinopacSettings, urls: CreateUrls): Record<string, unknown> {
  if (order.currency !== 'TWD') throw ValidationError.field('currency', 'SinoPac takes TWD only', 'unsupported_currency');
  if (!Number.isSafeInteger(order.amount) || order.amount <= 0 || String(order.amount).length > 9) {
    throw ValidationError.field('amount', 'SinoPac takes 1 to 999,999,999 (1/100 NTD)');
  }
  const name = prdtName(order);
  const base = {
    ShopNo: settings.ShopNo,
    OrderNo: order.orderNo,
    Amount: order.amount,
    CurrencyID: 'TWD',
    PrdtName: name,
    ReturnURL: urls.returnUrl,
    BackendURL: urls.backendUrl,
  };
  for (const [field, value] of Object.entries({ OrderNo: base.OrderNo, ReturnURL: base.ReturnURL, BackendURL: base.BackendURL })) {
    if (/['"%]/.test(value) || value.length > (field === 'OrderNo' ? 50 : 255)) {
      throw ValidationError.field(field, 'cannot be sent to SinoPac (too long or contains \' " %)');
    }
  }
  if (order.method === 'atm') {
    if (order.amount > ATM_MAX_AMOUNT_UNVERIFIED) {
      throw ValidationError.field('amount', 'SinoPac ATM payments are limited to NT$30,000', 'amount_too_large');
    }
    return { ...compact(base), PayType: 'A', ATMParam: { ExpireDate: taipeiDate(order.expiresAt) } };
  }
  if (order.method === 'card') {
    return {
      ...compact(base),
      PayType: 'C',
      // The card link never outlives the order (ExpMinutes range 1-30 is UNVERIFIED).
      CardParam: { AutoBilling: settings.autoBilling, ExpMinutes: Math.max(1, Math.min(settings.cardExpMinutes, Math.floor((order.expiresAt.getTime() - Date.now()) / 60_000))) },
    };
  }
  throw ValidationError.field('method', 'SinoPac offers atm and card', 'unsupported_method');
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** A bank amount (a number in OrderCreate/OrderQuery, a string in TSResultContent) as minor units. */
export function bankAmount(value: unknown): number {
  const text = str(value);
  if (!/^\d{1,12}$/.test(text)) return Number.NaN;
  return Number(text);
}

/** "E0123 – text" → code E0123 and the message; anything else is kept whole. */
export function splitDescription(description: unknown): { code: string; message: string } {
  const text = str(description);
  const m = /^([A-Z]\d{4,5})\s*[–-]?\s*(.*)$/.exec(text);
  return m ? { code: m[1]!, message: m[2] ?? '' } : { code: 'F', message: text };
}

export function atmInstructions(response: Obj, order: OrderSnapshot, deadline: Date): AtmInstructions {
  const atm = obj(response.ATMParam);
  const account = str(atm.AtmPayNo);
  if (!account) throw new Error('OrderCreate answered without ATMParam.AtmPayNo');
  const webAtm = str(atm.WebAtmURL);
  return {
    bankCode: SINOPAC_BANK_CODE,
    account,
    amount: order.amount,
    deadline: deadline.toISOString(),
    ...(webAtm ? { webAtmUrl: webAtm } : {}),
  };
}

/** §7.2: the facts of an OrderPayQuery answer (TSResultContent); only this ever proves a payment. */
export function payQueryFacts(response: Obj): PaymentFacts {
  const ts = obj(response.TSResultContent);
  const apType = str(ts.APType);
  // PayOut is confirmed; CaptureOut (a captured card) is accepted as well (UNVERIFIED, one source).
  const paid = str(ts.Status) === 'S' && (apType === 'PayOut' || apType === 'CaptureOut');
  const { code, message } = splitDescription(ts.Description);
  return {
    orderNo: str(ts.OrderNo),
    outcome: paid ? 'paid' : str(ts.Status) === 'F' ? 'failed' : 'pending',
    amount: bankAmount(ts.Amount),
    currency: 'TWD',
    providerTradeNo: str(ts.TSNo) || null,
    paidAt: paid ? (parseTaipei(ts.PayDate) ?? parseTaipei(response.Date) ?? null) : null,
    ...(paid ? {} : { code: code === 'F' ? 'declined' : code, message: message || 'The bank reported the payment as failed' }),
  };
}

/**
 * §9.2 PayStatus: 1 + PayType + state. x400 paid (1A400 confirmed), x300 card authorised (counted as
 * paid: money is held; UNVERIFIED), x200 waiting, x250 overdue (UNVERIFIED, by analogy).
 */
export function payStatusOutcome(payStatus: string): PaymentOutcome {
  const state = payStatus.slice(2);
  if (state === '400' || state === '300') return 'paid';
  if (state === '250') return 'closed';
  return 'pending';
}

/** §7.3: one OrderList row as facts. */
export function orderQueryFacts(item: Obj): PaymentFacts {
  let outcome = payStatusOutcome(str(item.PayStatus));
  const amount = bankAmount(item.Amount);
  const refunded = bankAmount(item.RefundAmount);
  if (outcome === 'paid' && str(item.RefundFlag) === 'Y' && refunded === amount) outcome = 'refunded';
  return {
    orderNo: str(item.OrderNo),
    outcome,
    amount,
    currency: 'TWD',
    providerTradeNo: str(item.TSNo) || null,
    paidAt: outcome === 'paid' || outcome === 'refunded' ? (parseTaipei(item.PayDate) ?? null) : null,
    // §7.3: RefundAmount is what has gone back in all (a refund made at the bank counts too).
    ...((outcome === 'paid' || outcome === 'refunded') && str(item.RefundFlag) === 'Y' && refunded > 0 ? { refundedAmount: refunded } : {}),
  };
}
