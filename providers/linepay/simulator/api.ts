/**
 * The simulator's LINE Pay v3 API (docs/protocols/linepay.md#the-simulator): what each call does to
 * the books and answers, once the caller is authenticated (simulator/index.ts). Answers are objects;
 * index.ts writes them with bare 19-digit ids.
 */
import { randomBytes } from 'node:crypto';
import { APPROVAL_WINDOW_MS, AUTHORIZATION_HOLD_MS, captured, refunded, settleExpiry, type Merchant, type TransactionIds, type Txn } from './books.ts';

export type Api = 'request' | 'confirm' | 'capture' | 'void' | 'refund' | 'details' | 'check';

export interface Answer {
  returnCode: string;
  returnMessage: string;
  info?: unknown;
}

export const ok = (info?: unknown): Answer => ({ returnCode: '0000', returnMessage: 'Success.', ...(info === undefined ? {} : { info }) });
export const error = (returnCode: string, returnMessage: string): Answer => ({ returnCode, returnMessage });

/** What the API works on: the simulator's books, its clock and its options. */
export interface Books {
  transactions: Map<string, Txn>;
  ids: TransactionIds;
  now(): number;
  baseUrl: string;
  options: { secondConfirmCode?: string };
}

export class SimulatedApi {
  constructor(private readonly books: Books) {}

  private mine(merchant: Merchant, transactionId: string): Txn | undefined {
    const txn = this.books.transactions.get(transactionId);
    if (!txn || txn.channelId !== merchant.channelId) return undefined;
    settleExpiry(txn, this.books.now());
    return txn;
  }

  dispatch(route: { api: Api; transactionId?: string }, merchant: Merchant, body: Record<string, unknown>, params: URLSearchParams): Answer {
    switch (route.api) {
      case 'request':
        return this.request(merchant, body);
      case 'confirm':
        return this.confirm(merchant, route.transactionId!, body);
      case 'capture':
        return this.capture(merchant, route.transactionId!, body);
      case 'void':
        return this.void(merchant, route.transactionId!);
      case 'refund':
        return this.refund(merchant, route.transactionId!, body);
      case 'details':
        return this.details(merchant, params);
      case 'check':
        return this.check(merchant, route.transactionId!);
    }
  }

  /** §4 and §10.4: the sums, the currency, whole dollars, a fresh orderId. */
  private request(merchant: Merchant, body: Record<string, unknown>): Answer {
    const { amount, currency, orderId, packages, redirectUrls } = body as { amount?: unknown; currency?: unknown; orderId?: unknown; packages?: unknown; redirectUrls?: { confirmUrl?: unknown; cancelUrl?: unknown } };
    if (typeof orderId !== 'string' || orderId === '' || orderId.length > 100) return error('2101', 'Parameter error: orderId');
    if (!redirectUrls || typeof redirectUrls.confirmUrl !== 'string' || typeof redirectUrls.cancelUrl !== 'string') return error('2101', 'Parameter error: redirectUrls');
    if (currency !== 'TWD') return error('1178', 'Unsupported currency.');
    if (typeof amount !== 'number') return error('2101', 'Parameter error: amount');
    if (amount <= 0) return error('1183', 'Payment amount must be greater than 0.');
    if (!Number.isSafeInteger(amount)) return error('1124', 'Amount info error (scale).');
    if (!Array.isArray(packages) || packages.length === 0) return error('2101', 'Parameter error: packages');
    let sum = 0;
    for (const p of packages as { amount?: unknown; products?: unknown }[]) {
      if (typeof p.amount !== 'number' || !Array.isArray(p.products) || p.products.length === 0) return error('2101', 'Parameter error: packages');
      const products = (p.products as { quantity?: unknown; price?: unknown; name?: unknown }[]).reduce(
        (s, x) => (typeof x.quantity === 'number' && typeof x.price === 'number' && typeof x.name === 'string' && x.name !== '' ? s + x.quantity * x.price : Number.NaN),
        0,
      );
      if (products !== p.amount) return error('2101', 'Parameter error: package amount');
      sum += p.amount;
    }
    if (sum !== amount) return error('2101', 'Parameter error: amount');
    for (const txn of this.books.transactions.values()) {
      if (txn.channelId === merchant.channelId && txn.orderId === orderId) return error('1172', 'There is a record of transaction with the same order number.');
    }
    const now = this.books.now();
    const capture = (body.options as { payment?: { capture?: unknown } } | undefined)?.payment?.capture !== false;
    const first = ((packages as { products: { name: string }[] }[])[0]!.products[0]!.name);
    const txn: Txn = {
      transactionId: this.books.ids.next(now),
      channelId: merchant.channelId,
      orderId,
      amount,
      currency,
      productName: first,
      confirmUrl: redirectUrls.confirmUrl,
      cancelUrl: redirectUrls.cancelUrl,
      capture,
      reserveToken: randomBytes(12).toString('base64url'),
      status: 'RESERVED',
      createdAt: now,
      expiresAt: now + APPROVAL_WINDOW_MS,
      authorizationExpireDate: null,
      payInfo: [],
      transactionDate: null,
      refunds: [],
      declineCode: null,
      inFlight: false,
    };
    this.books.transactions.set(txn.transactionId, txn);
    return ok({
      paymentUrl: { web: `${this.books.baseUrl}/web/payment/wait?transactionReserveId=${txn.reserveToken}`, app: `line://pay/payment/${txn.reserveToken}` },
      transactionId: txn.transactionId,
      paymentAccessToken: String(Math.floor(Math.random() * 1e12)).padStart(12, '0'),
    });
  }

  /** §5.3, §5.4 and §10.1: Confirm takes the money once; a second Confirm is an error, never the first's answer again. */
  private confirm(merchant: Merchant, transactionId: string, body: Record<string, unknown>): Answer {
    const txn = this.mine(merchant, transactionId);
    if (!txn) return error('1150', 'Transaction record not found.');
    if (txn.inFlight) return error('1198', 'Request is being processed.');
    switch (txn.status) {
      case 'RESERVED':
        return error('1169', 'The buyer has not chosen a payment method or entered the password.');
      case 'CANCELLED':
      case 'EXPIRED':
        return error('1180', 'The payment has expired.');
      case 'FAILED':
        return error(txn.declineCode ?? '1179', 'The transaction cannot be processed.');
      case 'APPROVED':
        break;
      default:
        return error(this.books.options.secondConfirmCode ?? '1172', 'There is a record of transaction with the same order number.');
    }
    if (body.currency !== txn.currency) return error('1178', 'Unsupported currency.');
    if (body.amount !== txn.amount) return error('1153', 'The amount differs from the requested amount.');
    const now = this.books.now();
    txn.payInfo = [{ method: 'CREDIT_CARD', amount: txn.amount }];
    txn.transactionDate = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    txn.status = txn.capture ? 'CAPTURE' : 'AUTHORIZATION';
    if (!txn.capture) txn.authorizationExpireDate = now + AUTHORIZATION_HOLD_MS;
    return ok({
      transactionId: txn.transactionId,
      orderId: txn.orderId,
      payInfo: txn.payInfo,
      ...(txn.capture ? {} : { authorizationExpireDate: new Date(txn.authorizationExpireDate!).toISOString() }),
    });
  }

  private capture(merchant: Merchant, transactionId: string, body: Record<string, unknown>): Answer {
    const txn = this.mine(merchant, transactionId);
    if (!txn) return error('1150', 'Transaction record not found.');
    if (txn.status === 'EXPIRED_AUTHORIZATION') return error('1180', 'The authorization has expired.');
    if (txn.status !== 'AUTHORIZATION') return error('1155', 'Not an authorization.');
    if (typeof body.amount !== 'number' || body.amount <= 0) return error('1183', 'Payment amount must be greater than 0.');
    if (body.amount > captured(txn)) return error('1184', 'The amount exceeds the authorized amount.');
    txn.payInfo = [{ method: 'CREDIT_CARD', amount: body.amount }];
    txn.status = 'CAPTURE';
    return ok({ transactionId: txn.transactionId, orderId: txn.orderId, payInfo: txn.payInfo });
  }

  private void(merchant: Merchant, transactionId: string): Answer {
    const txn = this.mine(merchant, transactionId);
    if (!txn) return error('1150', 'Transaction record not found.');
    if (txn.status === 'VOIDED_AUTHORIZATION') return error('1165', 'Already voided.');
    if (txn.status !== 'AUTHORIZATION') return error('1155', 'Not an authorization.');
    txn.status = 'VOIDED_AUTHORIZATION';
    return ok();
  }

  /** §6.3: captured payments only; no amount is the whole remainder; never more than is left. */
  private refund(merchant: Merchant, transactionId: string, body: Record<string, unknown>): Answer {
    const txn = this.mine(merchant, transactionId);
    if (!txn) return error('1150', 'Transaction record not found.');
    if (txn.status !== 'CAPTURE') return error('1155', 'This transaction cannot be refunded.');
    const left = captured(txn) - refunded(txn);
    if (left === 0) return error('1165', 'Already refunded.');
    const amount = body.refundAmount === undefined ? left : body.refundAmount;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) return error('2101', 'Parameter error: refundAmount');
    if (amount > left) return error('1164', 'The refund exceeds the refundable amount.');
    const now = this.books.now();
    const refund = { refundTransactionId: this.books.ids.next(now), amount, date: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    txn.refunds.push(refund);
    return ok({ refundTransactionId: refund.refundTransactionId, refundTransactionDate: refund.date });
  }

  /** §6.4: confirmed payments (and their refunds, as negative amounts) by transactionId and/or orderId. */
  private details(merchant: Merchant, params: URLSearchParams): Answer {
    const ids = new Set(params.getAll('transactionId'));
    const orders = new Set(params.getAll('orderId'));
    if (ids.size === 0 && orders.size === 0) return error('2101', 'Parameter error: transactionId or orderId');
    const rows = [];
    for (const txn of this.books.transactions.values()) {
      if (txn.channelId !== merchant.channelId || !(ids.has(txn.transactionId) || orders.has(txn.orderId))) continue;
      settleExpiry(txn, this.books.now());
      if (!['CAPTURE', 'AUTHORIZATION', 'VOIDED_AUTHORIZATION', 'EXPIRED_AUTHORIZATION'].includes(txn.status)) continue;
      const back = refunded(txn);
      rows.push({
        transactionId: txn.transactionId,
        transactionDate: txn.transactionDate,
        transactionType: 'PAYMENT',
        payStatus: txn.status,
        productName: txn.productName,
        merchantName: 'paygate simulator shop',
        currency: txn.currency,
        ...(txn.authorizationExpireDate ? { authorizationExpireDate: new Date(txn.authorizationExpireDate).toISOString() } : {}),
        payInfo: txn.payInfo,
        ...(txn.refunds.length > 0
          ? {
              refundList: txn.refunds.map((r) => ({
                refundTransactionId: r.refundTransactionId,
                transactionType: back === captured(txn) ? 'PAYMENT_REFUND' : 'PARTIAL_REFUND',
                refundAmount: -r.amount,
                refundTransactionDate: r.date,
              })),
            }
          : {}),
        orderId: txn.orderId,
      });
    }
    if (rows.length === 0) return error('1150', 'Transaction record not found.');
    if (rows.length > 100) return error('1177', 'More than 100 transactions.');
    return ok(rows);
  }

  /** §6.5: where the buyer's request stands. */
  private check(merchant: Merchant, transactionId: string): Answer {
    const txn = this.mine(merchant, transactionId);
    if (!txn) return error('1150', 'Transaction record not found.');
    switch (txn.status) {
      case 'RESERVED':
        return error('0000', 'reserved transaction.');
      case 'APPROVED':
        return error('0110', 'Confirm is available.');
      case 'CANCELLED':
      case 'EXPIRED':
        return error('0121', 'Cancelled by the buyer or timed out.');
      case 'FAILED':
        return error('0122', 'Payment failed.');
      default:
        return error('0123', 'Payment completed.');
    }
  }
}

export function apiRoute(method: string, path: string): { api: Api; transactionId?: string } | null {
  if (method === 'POST' && path === '/v3/payments/request') return { api: 'request' };
  if (method === 'GET' && path === '/v3/payments') return { api: 'details' };
  let m = /^\/v3\/payments\/(\d{1,19})\/(confirm|refund)$/.exec(path);
  if (method === 'POST' && m) return { api: m[2] as 'confirm' | 'refund', transactionId: m[1] };
  m = /^\/v3\/payments\/authorizations\/(\d{1,19})\/(capture|void)$/.exec(path);
  if (method === 'POST' && m) return { api: m[2] as 'capture' | 'void', transactionId: m[1] };
  m = /^\/v3\/payments\/requests\/(\d{1,19})\/check$/.exec(path);
  if (method === 'GET' && m) return { api: 'check', transactionId: m[1] };
  return null;
}
