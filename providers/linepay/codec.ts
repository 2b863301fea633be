/**
 * LINE Pay ⇄ paygate (docs/protocols/linepay.md): amounts, order ids, the Request body, and what each
 * returnCode means for an order. Pure functions; the adapter calls them, the tests pin them.
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../../core/errors.ts';
import type { OrderSnapshot, PaymentFacts } from '../../core/payment-provider.ts';

/** paygate keeps TWD in cents; LINE Pay takes whole Taiwan dollars as JSON integers. */
const MINOR_PER_TWD = 100;

/** Whole dollars for LINE Pay; an amount with cents is one LINE Pay cannot take. */
export function toLinePayAmount(minor: number, field = 'amount'): number {
  if (!Number.isSafeInteger(minor) || minor <= 0 || minor % MINOR_PER_TWD !== 0) {
    throw ValidationError.field(field, 'LINE Pay takes whole Taiwan dollars only', 'amount_not_representable');
  }
  return minor / MINOR_PER_TWD;
}

/** Cents from LINE Pay's whole dollars; null for anything but a safe whole number. */
export function fromLinePayAmount(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value * MINOR_PER_TWD : null;
}

/**
 * LINE Pay's orderId for one attempt at an order: the order number and a short random suffix. An
 * orderId it has seen is refused for good (1172), a lapsed request's included (UNVERIFIED:
 * docs/protocols/linepay.md#unverified-items), so a second create for the same order (pay again)
 * must not reuse it.
 */
export function attemptOrderId(orderNo: string): string {
  return `${orderNo}-${randomBytes(3).toString('hex')}`;
}

const ATTEMPT_SUFFIX = /-[0-9a-f]{6}$/;

/** The paygate order number inside a LINE Pay orderId (attemptOrderId), or null when it has no attempt suffix. */
export function orderNoOf(orderId: string): string | null {
  return ATTEMPT_SUFFIX.test(orderId) ? orderId.replace(ATTEMPT_SUFFIX, '') : null;
}

/** A product line as LINE Pay shows it. */
export interface LinePayProduct {
  name: string;
  quantity: number;
  price: number;
}

const NAME_CHARS = 100;

function clip(text: string): string {
  const chars = [...text.trim()];
  return chars.length > NAME_CHARS ? `${chars.slice(0, NAME_CHARS - 1).join('')}…` : chars.join('') || '-';
}

/**
 * The products of the Request's one package: the order's lines when each is whole dollars and they
 * add up to the amount (LINE Pay checks package = Σ products, amount = Σ packages), otherwise one
 * line named after the order's subject.
 */
export function products(order: OrderSnapshot): LinePayProduct[] {
  const total = toLinePayAmount(order.amount);
  const lines = order.items.map((i) => ({ name: clip(i.name), quantity: i.quantity, price: i.unitAmount / MINOR_PER_TWD }));
  const exact =
    lines.length > 0 &&
    lines.every((l) => Number.isSafeInteger(l.price) && l.price > 0 && Number.isSafeInteger(l.quantity) && l.quantity > 0) &&
    lines.reduce((sum, l) => sum + l.price * l.quantity, 0) === total;
  return exact ? lines : [{ name: clip(order.subject), quantity: 1, price: total }];
}

/** The Request API body (§4.1): one package holding the order's products. */
export function requestBody(order: OrderSnapshot, orderId: string, urls: { confirmUrl: string; cancelUrl: string }, capture: boolean): Record<string, unknown> {
  const amount = toLinePayAmount(order.amount);
  return {
    amount,
    currency: order.currency,
    orderId,
    packages: [{ id: 'pkg-1', amount, name: clip(order.subject), products: products(order) }],
    redirectUrls: { confirmUrl: urls.confirmUrl, cancelUrl: urls.cancelUrl },
    ...(capture ? {} : { options: { payment: { capture: false } } }),
  };
}

/**
 * What a returnCode means (docs/protocols/linepay.md#return-codes):
 * - `decline`: the buyer's payment failed for good (a card refused, no balance);
 * - `pending`: the buyer has not finished yet;
 * - `expired`: the 20-minute window passed;
 * - `done`: this was done already (a second Confirm): look at what the provider has;
 * - `credentials`: the account's keys or channel are refused: no retry can help;
 * - `config`: our request is wrong or the merchant cannot do it: a fault to report, not a decline;
 * - `retry`: LINE Pay could not say now (internal, busy): the outcome is unknown, ask again later.
 */
export type CodeClass = 'ok' | 'decline' | 'pending' | 'expired' | 'done' | 'credentials' | 'config' | 'retry';

const DECLINES = new Set(['1101', '1102', '1110', '1141', '1142', '1154', '1170', '1179']);
const CONFIG = new Set(['1124', '1150', '1153', '1155', '1159', '1163', '1164', '1165', '1172', '1177', '1178', '1183', '1184', '1999', '2101', '2102', '2103', '2104', '2105', '2106']);

export function classify(code: string, api: 'request' | 'confirm' | 'capture' | 'refund' | 'void' | 'details' | 'check'): CodeClass {
  if (code === '0000') return 'ok';
  if (code === '1104' || code === '1105' || code === '1106') return 'credentials';
  if (api === 'confirm' || api === 'capture') {
    // A second Confirm does not repeat the first's answer (§5.4): these mean "maybe done already".
    if (code === '1172' || code === '1152' || code === '1198') return 'done';
    if (code === '1169' || code === '1145') return 'pending';
    if (code === '1180') return 'expired';
  }
  if (DECLINES.has(code) || /^12[89]\d$/.test(code)) return code === '1280' ? 'retry' : 'decline';
  if (code === '1198' || code === '1199' || code === '9000' || code === '1900' || code === '1902' || code === '1145') return 'retry';
  if (CONFIG.has(code)) return 'config';
  return 'retry';
}

/** Check Payment Status (§6.5): what the buyer's request is waiting for. */
export type CheckState = 'reserved' | 'approved' | 'lapsed' | 'failed' | 'completed' | 'unknown';

export function checkState(code: string): CheckState {
  switch (code) {
    case '0000':
      return 'reserved';
    case '0110':
      return 'approved';
    case '0121':
      return 'lapsed';
    case '0122':
      return 'failed';
    case '0123':
      return 'completed';
    case '1150':
    case '1159':
      return 'unknown';
    default:
      return code.startsWith('0') ? 'reserved' : 'unknown';
  }
}

/** One row of Payment Details (§6.4), as the adapter reads it. */
export interface DetailsRow {
  transactionId: string;
  orderId: string;
  transactionDate?: string;
  transactionType?: string;
  payStatus?: string;
  currency?: string;
  payInfo?: { method?: string; amount: number }[];
  refundList?: { refundTransactionId: string; refundAmount: number; refundTransactionDate?: string }[];
}

/** Facts from a payment's Details row; null when the row is not a payment this order can take. */
export function detailsFacts(row: DetailsRow, order: Pick<OrderSnapshot, 'orderNo' | 'currency'>): PaymentFacts | null {
  if (orderNoOf(row.orderId) !== order.orderNo) return null;
  const paid = (row.payInfo ?? []).reduce((sum, p) => sum + p.amount, 0);
  // Refund amounts appear negative in answers seen: their size is what went back (§6.4).
  const refunded = (row.refundList ?? []).reduce((sum, r) => sum + Math.abs(r.refundAmount), 0);
  const amount = fromLinePayAmount(paid);
  const refundedMinor = fromLinePayAmount(refunded);
  if (amount === null || refundedMinor === null) return null;
  const base = {
    orderNo: order.orderNo,
    amount,
    currency: row.currency ?? order.currency,
    providerTradeNo: row.transactionId,
    paidAt: row.transactionDate ? new Date(row.transactionDate) : null,
  };
  switch (row.payStatus) {
    case 'CAPTURE': {
      if (refundedMinor > 0) {
        const last = row.refundList!.at(-1)!;
        const all = refundedMinor >= amount;
        return { ...base, outcome: all ? 'refunded' : 'paid', refundedAmount: refundedMinor, providerRefundNo: last.refundTransactionId };
      }
      return { ...base, outcome: 'paid' };
    }
    case 'AUTHORIZATION':
      // Authorised, not captured: no money has moved yet.
      return { ...base, outcome: 'pending', paidAt: null };
    case 'VOIDED_AUTHORIZATION':
    case 'EXPIRED_AUTHORIZATION':
      return { ...base, outcome: 'closed', paidAt: null, code: row.payStatus, message: 'the authorisation was voided or lapsed' };
    default:
      return null;
  }
}
