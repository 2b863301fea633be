/**
 * A LINE Pay Online API v3 simulator (docs/protocols/linepay.md#the-simulator) that speaks the real
 * wire protocol: every call's HMAC and nonce checked, answers written with bare 19-digit transaction
 * ids above 2^53, Confirm idempotent the way LINE Pay is (a second one is an error, 1172), Check
 * Payment Status and Payment Details as the truth after a lost confirmation, refunds, capture and void.
 * Its payment page sends the browser to confirmUrl or cancelUrl as LINE Pay's does; the control API
 * plays the buyer (pay also brings the browser back, and names that URL as `nextUrl`).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions } from '../../../core/payment-provider.ts';
import type { LinepayConfig } from '../config.ts';
import { signatureMatches } from '../crypto.ts';
import { parseLinePayJson, stringifyLinePayJson } from '../json.ts';
import { APPROVAL_WINDOW_MS, AUTHORIZATION_HOLD_MS, captured, fakeMerchant, refunded, settleExpiry, TransactionIds, type Merchant, type Txn } from './books.ts';
import { messagePage, paymentPage } from './page.ts';

export interface LinepaySimulatorOptions {
  /** What a second Confirm of a confirmed transaction answers (§5.4: 1172 assumed; 1152 and 1198 are plausible). */
  secondConfirmCode?: string;
  /** Append transactionId and orderId to the cancelUrl too (whether LINE Pay does is UNVERIFIED). */
  appendToCancelUrl?: boolean;
  /** Refuse a nonce seen before on the same channel (whether LINE Pay does is UNVERIFIED). */
  strictNonce?: boolean;
}

/** One-shot fault on an API (§10.6): a returnCode, an HTTP status, a delay, or the change made and the connection dropped. */
export interface Fault {
  returnCode?: string;
  httpStatus?: number;
  delayMs?: number;
  dropAfterCommit?: boolean;
}

type Api = 'request' | 'confirm' | 'capture' | 'void' | 'refund' | 'details' | 'check';

const NONCES_KEPT = 10_000;

interface Answer {
  returnCode: string;
  returnMessage: string;
  info?: unknown;
}

const ok = (info?: unknown): Answer => ({ returnCode: '0000', returnMessage: 'Success.', ...(info === undefined ? {} : { info }) });
const error = (returnCode: string, returnMessage: string): Answer => ({ returnCode, returnMessage });

export class LinepaySimulator implements SimulatorInstance<LinepayConfig> {
  readonly transactions = new Map<string, Txn>();
  private readonly merchants = new Map<string, Merchant>();
  private readonly accounts = new Map<string, string>();
  private readonly ids = new TransactionIds();
  private readonly nonces = new Map<string, string[]>();
  private readonly faults = new Map<Api, Fault>();
  /** Shifts the simulator's clock (control `clock`). */
  private offsetMs = 0;
  /** Every browser delivery the control API made and what the gateway answered. */
  readonly deliveries: { orderId: string; url: string; status: number; location: string | null }[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly logger: Logger,
    private readonly options: LinepaySimulatorOptions = {},
  ) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  accountConfig(account = 'default'): LinepayConfig {
    let channelId = this.accounts.get(account);
    if (!channelId) {
      const merchant = fakeMerchant(this.merchants.size + 1);
      this.merchants.set(merchant.channelId, merchant);
      this.accounts.set(account, merchant.channelId);
      channelId = merchant.channelId;
    }
    return { channelId, channelSecret: this.merchants.get(channelId)!.secret, baseUrl: this.baseUrl };
  }

  /** Queues a one-shot fault for the next call of `api`. */
  inject(api: Api, fault: Fault): void {
    this.faults.set(api, fault);
  }

  advanceClock(ms: number): void {
    this.offsetMs += ms;
  }

  async close(): Promise<void> {}

  handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.route(req, res).catch((err) => {
      this.logger.error({ err: String(err) }, 'linepay simulator error');
      if (!res.headersSent) send(res, 500, 'text/plain', 'simulator error');
    });
  };

  // ---- the control API (core/payment-provider.ts SimulatorControl) ----

  /** The buyer's latest attempt at paygate order `orderNo` (LINE Pay orderId `<orderNo>-<suffix>`). */
  byOrderNo(orderNo: string): Txn | undefined {
    let latest: Txn | undefined;
    for (const txn of this.transactions.values()) if (txn.orderId.startsWith(`${orderNo}-`) && (!latest || txn.createdAt >= latest.createdAt)) latest = txn;
    return latest;
  }

  async pay(orderNo: string): Promise<unknown> {
    return (await this.act(orderNo, 'approve', true)).body;
  }

  async decline(orderNo: string): Promise<unknown> {
    return (await this.act(orderNo, 'fail', true)).body;
  }

  async renotify(orderNo: string): Promise<unknown> {
    const txn = this.byOrderNo(orderNo);
    if (!txn) throw new Error(`linepay simulator: no order ${orderNo}`);
    const url = txn.status === 'CANCELLED' || txn.status === 'FAILED' ? this.cancelTarget(txn) : this.confirmTarget(txn);
    return { transactionId: txn.transactionId, nextUrl: url, firstNotify: await this.bring(txn, url) };
  }

  /** The buyer acts on the payment page; with `follow`, the simulator then brings the browser back as a browser would. */
  private async act(orderNo: string, action: 'approve' | 'cancel' | 'fail', follow: boolean, returnCode?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const txn = this.byOrderNo(orderNo);
    if (!txn) return { status: 404, body: { error: 'no such order' } };
    settleExpiry(txn, this.now());
    if (txn.status !== 'RESERVED') return { status: 409, body: { error: `transaction is ${txn.status}` } };
    const url = this.decide(txn, action, returnCode);
    const firstNotify = follow ? await this.bring(txn, url) : null;
    return { status: 200, body: { transactionId: txn.transactionId, orderId: txn.orderId, status: txn.status, nextUrl: url, firstNotify } };
  }

  /** Moves a reserved transaction as the buyer's button does; answers where the browser goes next. */
  private decide(txn: Txn, action: 'approve' | 'cancel' | 'fail', returnCode?: string): string {
    if (action === 'approve') {
      txn.status = 'APPROVED';
      return this.confirmTarget(txn);
    }
    txn.status = action === 'cancel' ? 'CANCELLED' : 'FAILED';
    if (action === 'fail') txn.declineCode = returnCode ?? '1142';
    return this.cancelTarget(txn);
  }

  /** confirmUrl with transactionId and orderId appended (orderId only when not there already, §5.1). */
  private confirmTarget(txn: Txn): string {
    return appendParams(txn.confirmUrl, txn);
  }

  private cancelTarget(txn: Txn): string {
    return this.options.appendToCancelUrl ? appendParams(txn.cancelUrl, txn) : txn.cancelUrl;
  }

  /** A GET of `url` as the buyer's browser makes it (redirects not followed: the answer is what counts). */
  private async bring(txn: Txn, url: string): Promise<{ status: number; location: string | null }> {
    try {
      const response = await fetch(url, { redirect: 'manual' });
      await response.arrayBuffer();
      const answer = { status: response.status, location: response.headers.get('location') };
      this.deliveries.push({ orderId: txn.orderId, url, ...answer });
      return answer;
    } catch (err) {
      this.deliveries.push({ orderId: txn.orderId, url, status: 0, location: null });
      return { status: 0, location: String(err) };
    }
  }

  // ---- HTTP ----

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const body = await readBody(req);
    const path = url.pathname;
    if (path.startsWith('/v3/')) return this.api(req, res, url, body);
    if (req.method === 'GET' && path === '/web/payment/wait') {
      const txn = this.byToken(url.searchParams.get('transactionReserveId') ?? '');
      if (!txn) return send(res, 404, 'text/html; charset=utf-8', messagePage('LINE Pay', 'No such payment.').toString());
      settleExpiry(txn, this.now());
      if (txn.status === 'EXPIRED') return send(res, 200, 'text/html; charset=utf-8', messagePage('LINE Pay', 'This payment request has expired.').toString());
      if (txn.status !== 'RESERVED') return send(res, 200, 'text/html; charset=utf-8', messagePage('LINE Pay', `This payment is ${txn.status.toLowerCase()}.`).toString());
      return send(res, 200, 'text/html; charset=utf-8', paymentPage(txn).toString());
    }
    if (req.method === 'POST' && path === '/web/payment/act') {
      const form = new URLSearchParams(body);
      const txn = this.byToken(form.get('transactionReserveId') ?? '');
      const action = form.get('action');
      if (!txn || (action !== 'approve' && action !== 'cancel' && action !== 'fail')) return send(res, 400, 'text/plain', 'bad request');
      settleExpiry(txn, this.now());
      if (txn.status !== 'RESERVED') return send(res, 409, 'text/html; charset=utf-8', messagePage('LINE Pay', `This payment is ${txn.status.toLowerCase()}.`).toString());
      res.writeHead(302, { location: this.decide(txn, action) });
      return void res.end();
    }
    if (req.method === 'POST' && path.startsWith('/_control/')) return this.control(path.slice('/_control/'.length), body, res);
    send(res, 404, 'text/plain', 'not found');
  }

  private byToken(token: string): Txn | undefined {
    for (const txn of this.transactions.values()) if (txn.reserveToken === token) return txn;
    return undefined;
  }

  private async control(action: string, body: string, res: http.ServerResponse): Promise<void> {
    let input: { orderNo?: string; transactionId?: string; returnCode?: string; redirect?: boolean; api?: Api; fault?: Fault; advanceSeconds?: number };
    try {
      input = JSON.parse(body || '{}') as typeof input;
    } catch {
      return send(res, 400, 'application/json', JSON.stringify({ error: 'body is not JSON' }));
    }
    if (action === 'fault') {
      if (!input.api || !input.fault) return send(res, 400, 'application/json', JSON.stringify({ error: 'api and fault are required' }));
      this.inject(input.api, input.fault);
      return send(res, 200, 'application/json', '{}');
    }
    if (action === 'clock') {
      this.advanceClock(Number(input.advanceSeconds ?? 0) * 1000);
      return send(res, 200, 'application/json', JSON.stringify({ now: new Date(this.now()).toISOString() }));
    }
    const txn = input.transactionId ? this.transactions.get(input.transactionId) : input.orderNo ? this.byOrderNo(input.orderNo) : undefined;
    if (!txn) return send(res, 404, 'application/json', JSON.stringify({ error: 'no such order' }));
    const orderNo = txn.orderId.replace(/-[^-]*$/, '');
    const follow = input.redirect !== false;
    switch (action) {
      case 'pay':
      case 'decline':
      case 'cancel': {
        const answer = await this.act(orderNo, action === 'pay' ? 'approve' : action === 'decline' ? 'fail' : 'cancel', follow, input.returnCode);
        return send(res, answer.status, 'application/json', JSON.stringify(answer.body));
      }
      case 'renotify':
        return send(res, 200, 'application/json', JSON.stringify(await this.renotify(orderNo)));
      case 'expire':
        if (txn.status !== 'RESERVED' && txn.status !== 'APPROVED') return send(res, 409, 'application/json', JSON.stringify({ error: `transaction is ${txn.status}` }));
        txn.status = 'EXPIRED';
        return send(res, 200, 'application/json', JSON.stringify({ transactionId: txn.transactionId, status: txn.status }));
      default:
        return send(res, 404, 'application/json', JSON.stringify({ error: 'unknown control action' }));
    }
  }

  /** The v3 API: authenticate, apply a queued fault, answer. */
  private async api(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): Promise<void> {
    const route = apiRoute(req.method ?? 'GET', url.pathname);
    if (!route) return send(res, 404, 'application/json', JSON.stringify({ returnCode: '2101', returnMessage: 'no such API' }));
    const query = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
    const merchant = this.authenticate(req, url.pathname, req.method === 'GET' ? query : body);
    if ('returnCode' in merchant) return this.answer(res, merchant);
    const fault = this.faults.get(route.api);
    if (fault) this.faults.delete(route.api);
    if (fault?.httpStatus) return send(res, fault.httpStatus, 'text/plain', 'simulated failure');
    if (fault?.returnCode) return this.answer(res, error(fault.returnCode, 'simulated error'));
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs).unref());
    let parsed: Record<string, unknown> = {};
    if (req.method === 'POST' && body !== '') {
      try {
        parsed = parseLinePayJson(body) as Record<string, unknown>;
      } catch {
        return this.answer(res, error('2102', 'Wrong JSON format.'));
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return this.answer(res, error('2102', 'Wrong JSON format.'));
    }
    const answer = this.dispatch(route, merchant, parsed, url.searchParams);
    // The change is made; the connection drops before the answer (the buyer's money moved, the caller cannot know).
    if (fault?.dropAfterCommit) return void req.socket.destroy();
    this.answer(res, answer);
  }

  private authenticate(req: http.IncomingMessage, path: string, signed: string): Merchant | Answer {
    const channelId = header(req, 'x-line-channelid');
    const nonce = header(req, 'x-line-authorization-nonce');
    const given = header(req, 'x-line-authorization');
    const merchant = channelId ? this.merchants.get(channelId) : undefined;
    if (channelId && !merchant) return error('1104', 'Merchant does not exist.');
    if (merchant && !merchant.enabled) return error('1105', 'This merchant cannot use LINE Pay.');
    // A missing header or a signature that fails: 1106 (UNVERIFIED that LINE Pay uses 1106 for a bad MAC).
    if (!merchant || !nonce || !given || !signatureMatches(merchant.secret, path, signed, nonce, given)) return error('1106', 'Header information error.');
    if (this.options.strictNonce !== false) {
      const seen = this.nonces.get(merchant.channelId) ?? [];
      if (seen.includes(nonce)) return error('1106', 'Header information error.');
      seen.push(nonce);
      if (seen.length > NONCES_KEPT) seen.shift();
      this.nonces.set(merchant.channelId, seen);
    }
    return merchant;
  }

  private answer(res: http.ServerResponse, answer: Answer): void {
    send(res, 200, 'application/json', stringifyLinePayJson(answer));
  }

  private mine(merchant: Merchant, transactionId: string): Txn | undefined {
    const txn = this.transactions.get(transactionId);
    if (!txn || txn.channelId !== merchant.channelId) return undefined;
    settleExpiry(txn, this.now());
    return txn;
  }

  private dispatch(route: { api: Api; transactionId?: string }, merchant: Merchant, body: Record<string, unknown>, params: URLSearchParams): Answer {
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
    for (const txn of this.transactions.values()) {
      if (txn.channelId === merchant.channelId && txn.orderId === orderId) return error('1172', 'There is a record of transaction with the same order number.');
    }
    const now = this.now();
    const capture = (body.options as { payment?: { capture?: unknown } } | undefined)?.payment?.capture !== false;
    const first = ((packages as { products: { name: string }[] }[])[0]!.products[0]!.name);
    const txn: Txn = {
      transactionId: this.ids.next(now),
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
    this.transactions.set(txn.transactionId, txn);
    return ok({
      paymentUrl: { web: `${this.baseUrl}/web/payment/wait?transactionReserveId=${txn.reserveToken}`, app: `line://pay/payment/${txn.reserveToken}` },
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
        return error(this.options.secondConfirmCode ?? '1172', 'There is a record of transaction with the same order number.');
    }
    if (body.currency !== txn.currency) return error('1178', 'Unsupported currency.');
    if (body.amount !== txn.amount) return error('1153', 'The amount differs from the requested amount.');
    const now = this.now();
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
    const now = this.now();
    const refund = { refundTransactionId: this.ids.next(now), amount, date: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    txn.refunds.push(refund);
    return ok({ refundTransactionId: refund.refundTransactionId, refundTransactionDate: refund.date });
  }

  /** §6.4: confirmed payments (and their refunds, as negative amounts) by transactionId and/or orderId. */
  private details(merchant: Merchant, params: URLSearchParams): Answer {
    const ids = new Set(params.getAll('transactionId'));
    const orders = new Set(params.getAll('orderId'));
    if (ids.size === 0 && orders.size === 0) return error('2101', 'Parameter error: transactionId or orderId');
    const rows = [];
    for (const txn of this.transactions.values()) {
      if (txn.channelId !== merchant.channelId || !(ids.has(txn.transactionId) || orders.has(txn.orderId))) continue;
      settleExpiry(txn, this.now());
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

function apiRoute(method: string, path: string): { api: Api; transactionId?: string } | null {
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

function appendParams(target: string, txn: Txn): string {
  const url = new URL(target);
  url.searchParams.set('transactionId', txn.transactionId);
  if (!url.searchParams.has('orderId')) url.searchParams.set('orderId', txn.orderId);
  return url.toString();
}

function header(req: http.IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 256 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createLinepaySimulator(options: SimulatorOptions, extra: LinepaySimulatorOptions = {}): LinepaySimulator {
  return new LinepaySimulator(options.baseUrl, options.logger, extra);
}
