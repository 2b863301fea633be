/**
 * A LINE Pay Online API v3 simulator (docs/protocols/linepay.md#the-simulator) that speaks the real
 * wire protocol: every call's HMAC and nonce checked, answers written with bare 19-digit transaction
 * ids above 2^53, Confirm idempotent the way LINE Pay is (a second one is an error, 1172), Check
 * Payment Status and Payment Details as the truth after a lost confirmation, refunds, capture and void.
 * Its payment page sends the browser to confirmUrl or cancelUrl as LINE Pay's does; the control API
 * plays the buyer (pay also brings the browser back, and names that URL as `nextUrl`).
 */
import http from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions } from '../../../core/payment-provider.ts';
import type { LinepayConfig } from '../config.ts';
import { signatureMatches } from '../crypto.ts';
import { parseLinePayJson, stringifyLinePayJson } from '../json.ts';
import { apiRoute, error, SimulatedApi, type Answer, type Api } from './api.ts';
import { BOOKS_KEPT, fakeMerchant, readableBooks, settleExpiry, TransactionIds, wholeTxn, type LinepayBooks, type Merchant, type Txn } from './books.ts';
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

/** Nonces remembered per channel (strict mode refuses one seen again). */
const NONCES_KEPT = 10_000;

export class LinepaySimulator implements SimulatorInstance<LinepayConfig> {
  readonly transactions = new Map<string, Txn>();
  private readonly merchants = new Map<string, Merchant>();
  private readonly accounts = new Map<string, string>();
  private readonly ids = new TransactionIds();
  private readonly nonces = new Map<string, string[]>();
  private readonly faults = new Map<Api, Fault>();
  /** Shifts the simulator's clock (control `clock`). */
  private offsetMs = 0;
  private readonly calls: SimulatedApi;
  /** Every browser delivery the control API made and what the gateway answered. */
  readonly deliveries: { orderId: string; url: string; status: number; location: string | null }[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly logger: Logger,
    private readonly options: LinepaySimulatorOptions = {},
  ) {
    this.calls = new SimulatedApi({ transactions: this.transactions, ids: this.ids, now: () => this.now(), baseUrl, options });
  }

  /** The books to start from next time: channels and keys, the newest transactions, the id counter. */
  snapshot(): LinepayBooks {
    const transactions = [...this.transactions.values()].slice(-BOOKS_KEPT).map((t) => ({ ...t, inFlight: false }));
    return { version: 1, merchants: [...this.merchants.values()], accounts: [...this.accounts.entries()], transactions, counter: this.ids.counter };
  }

  /** Starts from saved books (SimulatorOptions.books): the same keys, so the gateway's adapter keeps working, and the transactions. */
  restore(books: unknown): void {
    if (!readableBooks(books)) {
      this.logger.warn({}, 'linepay simulator: saved books not readable, starting empty');
      return;
    }
    for (const m of books.merchants) this.merchants.set(m.channelId, { channelId: m.channelId, secret: m.secret, enabled: m.enabled !== false });
    for (const [account, channelId] of books.accounts) if (this.merchants.has(channelId)) this.accounts.set(account, channelId);
    for (const t of books.transactions) if (wholeTxn(t) && this.merchants.has(t.channelId)) this.transactions.set(t.transactionId, { ...t, inFlight: false });
    this.ids.counter = Math.max(this.ids.counter, books.counter);
  }

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
    const answer = this.calls.dispatch(route, merchant, parsed, url.searchParams);
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
  const sim = new LinepaySimulator(options.baseUrl, options.logger, extra);
  if (options.books !== undefined) sim.restore(options.books);
  return sim;
}
