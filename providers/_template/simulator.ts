/**
 * The provider's side, written from the template (providers/_template, docs/providers.md#the-simulator):
 * a real provider puts here a fake that speaks its real wire protocol with its real crypto, keeps
 * its own books (one merchant with its own keys per account id), serves a page a person can pay
 * on, sends notifies on the provider's own retry schedule (scaled by `timeScale`), and answers the
 * control API (pay, decline, renotify: SimulatorControl in core/payment-provider.ts) the
 * conformance suite drives. A bigger simulator is a folder, simulator/ (providers/ecpay/simulator).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Logger } from '../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions } from '../../core/payment-provider.ts';
import { html } from '../kit/index.ts';
import type { FakePayConfig } from './config.ts';
import { signed, verify } from './crypto.ts';

export type TradeStatus = 'WAITING' | 'PAID' | 'FAILED' | 'CLOSED' | 'REFUNDED';

export interface Trade {
  /** The merchant (account) the trade belongs to: its secret signs the trade's messages. */
  merchantId: string;
  tradeNo: string;
  orderNo: string;
  amount: number;
  currency: string;
  notifyUrl: string;
  returnUrl: string;
  status: TradeStatus;
  refunded: number;
  refunds: Map<string, { refundId: string; amount: number }>;
  paidAt: string | null;
  /** Further payments of the same order (pay-twice), each under its own trade number. */
  secondPayments: number;
  notifyCount: number;
  lastNotify: Record<string, string> | null;
}

/** Seconds between notify attempts at timeScale 1 (FakePay's own schedule). */
export const RETRY_SCHEDULE_S = [0, 10, 60, 300];

/** The merchant id of the `default` account; other accounts get FAKE-MERCHANT-02, -03... */
export const SIM_MERCHANT = 'FAKE-MERCHANT-01';
/** Clearly fake, generated per simulator: nothing here is a real credential. */
function fakeSecret(): string {
  return `fake-secret-${randomBytes(12).toString('hex')}`;
}

/**
 * The provider side of FakePay: keeps its own trades, serves a pay page a person can click, and
 * sends signed notifies with retries until the gateway answers "OK".
 */
export class FakePaySimulator implements SimulatorInstance<FakePayConfig> {
  readonly trades = new Map<string, Trade>();
  /** The `default` account's secret (tests sign forgeries with it). */
  readonly secret = fakeSecret();
  /** merchant id → secret: one merchant per account, each with its own secret. */
  private readonly merchants = new Map<string, string>([[SIM_MERCHANT, this.secret]]);
  /** account id → merchant id. */
  private readonly accounts = new Map<string, string>([['default', SIM_MERCHANT]]);
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Every notify attempt and what the gateway answered, for assertions. */
  readonly deliveries: { orderNo: string; status: number; body: string }[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly logger: Logger,
    private readonly timeScale: number,
    private readonly ackAfter: 'stored' | 'applied' = 'applied',
  ) {}

  /** One merchant per account id, with its own secret (a second account must not verify the first's messages). */
  accountConfig(account = 'default'): FakePayConfig {
    let merchantId = this.accounts.get(account);
    if (!merchantId) {
      merchantId = `FAKE-MERCHANT-${String(this.merchants.size + 1).padStart(2, '0')}`;
      this.merchants.set(merchantId, fakeSecret());
      this.accounts.set(account, merchantId);
    }
    return { merchantId, secret: this.merchants.get(merchantId)!, baseUrl: this.baseUrl, ackAfter: this.ackAfter };
  }

  private secretOf(trade: Trade): string {
    return this.merchants.get(trade.merchantId)!;
  }

  handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.route(req, res).catch((err) => {
      this.logger.error({ err: String(err) }, 'fakepay simulator error');
      send(res, 500, 'text/plain', 'simulator error');
    });
  };

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** The control API in process (core/payment-provider.ts SimulatorControl); HTTP goes through route(). */
  async pay(orderNo: string): Promise<unknown> {
    return this.settle(orderNo, 'pay', true);
  }

  async decline(orderNo: string): Promise<unknown> {
    return this.settle(orderNo, 'decline', true);
  }

  async renotify(orderNo: string): Promise<unknown> {
    const trade = this.byOrderNo(orderNo);
    if (!trade) throw new Error(`fakepay simulator: no order ${orderNo}`);
    return this.deliver(trade, trade.lastNotify ?? this.notifyFields(trade));
  }

  /** The buyer pays or is declined; `notify: false` plays a notify that never arrives. */
  private async settle(orderNo: string, action: 'pay' | 'decline', notify: boolean): Promise<{ status: number; body: Record<string, unknown> }> {
    const trade = this.byOrderNo(orderNo);
    if (!trade) return { status: 404, body: { error: 'no such order' } };
    if (trade.status !== 'WAITING' && trade.status !== 'FAILED') return { status: 409, body: { error: `trade is ${trade.status}` } };
    trade.status = action === 'pay' ? 'PAID' : 'FAILED';
    trade.paidAt = action === 'pay' ? new Date().toISOString() : null;
    const first = notify ? await this.notify(trade, 0) : null;
    return { status: 200, body: { tradeNo: trade.tradeNo, status: trade.status, firstNotify: first } };
  }

  byOrderNo(orderNo: string): Trade | undefined {
    for (const trade of this.trades.values()) if (trade.orderNo === orderNo) return trade;
    return undefined;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const body = await readBody(req);
    const path = url.pathname;
    if (req.method === 'POST' && path.startsWith('/api/')) return this.api(path.slice(5), body, res);
    if (req.method === 'GET' && path.startsWith('/pay/')) return this.payPage(decodeURIComponent(path.slice(5)), res);
    if (req.method === 'POST' && path.startsWith('/_control/')) {
      const input = JSON.parse(body || '{}') as { orderNo?: string; notify?: boolean; amount?: number };
      const trade = input.orderNo ? this.byOrderNo(input.orderNo) : undefined;
      if (!trade) return send(res, 404, 'application/json', JSON.stringify({ error: 'no such order' }));
      const action = path.slice('/_control/'.length);
      if (action === 'pay' || action === 'decline') {
        // notify: false plays a notify that never arrives (reconciliation must find the payment).
        const answer = await this.settle(trade.orderNo, action, input.notify !== false);
        return send(res, answer.status, 'application/json', JSON.stringify(answer.body));
      }
      if (action === 'refund') {
        // A refund made in FakePay's own back office: paygate did not ask for it.
        const amount = Number(input.amount);
        if ((trade.status !== 'PAID' && trade.status !== 'REFUNDED') || !Number.isSafeInteger(amount) || amount <= 0 || trade.refunded + amount > trade.amount) {
          return send(res, 409, 'application/json', JSON.stringify({ error: `cannot refund ${input.amount} of a ${trade.status} trade` }));
        }
        const refundId = `FRB${randomBytes(4).toString('hex').toUpperCase()}`;
        trade.refunds.set(refundId, { refundId, amount });
        trade.refunded += amount;
        if (trade.refunded === trade.amount) trade.status = 'REFUNDED';
        const fields = signed({ ...this.tradeFields(trade), refund_id: refundId, notify_id: `N${trade.tradeNo}${refundId}` }, this.secretOf(trade));
        const first = input.notify === false ? null : await this.deliver(trade, fields);
        return send(res, 200, 'application/json', JSON.stringify({ refundId, refunded: trade.refunded, status: trade.status, firstNotify: first }));
      }
      if (action === 'pay-twice') {
        // The buyer pays the same order a second time (another trade number): real money twice.
        if (trade.status !== 'PAID') return send(res, 409, 'application/json', JSON.stringify({ error: `trade is ${trade.status}` }));
        trade.secondPayments += 1;
        const second = `${trade.tradeNo}B${trade.secondPayments}`;
        const fields = signed({ ...this.tradeFields(trade), trade_no: second, refunded_amount: '0', notify_id: `N${second}` }, this.secretOf(trade));
        const first = await this.deliver(trade, fields);
        return send(res, 200, 'application/json', JSON.stringify({ tradeNo: second, firstNotify: first }));
      }
      if (action === 'renotify') return send(res, 200, 'application/json', JSON.stringify(await this.renotify(trade.orderNo)));
    }
    send(res, 404, 'text/plain', 'not found');
  }

  private api(name: string, body: string, res: http.ServerResponse): void {
    const fields = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
    // An unknown merchant is answered under the default secret: the caller's check then fails, as it should.
    const merchantId = fields.merchant_id ?? '';
    const secret = this.merchants.get(merchantId);
    const reply = (out: Record<string, string>) => send(res, 200, 'application/x-www-form-urlencoded', new URLSearchParams(signed(out, secret ?? this.secret)).toString());
    if (!secret || !verify(fields, secret)) return reply({ result: 'ERROR', code: 'BAD_SIGN' });
    // A merchant sees only its own trades.
    const found = fields.order_no ? this.byOrderNo(fields.order_no) : undefined;
    const trade = found?.merchantId === merchantId ? found : undefined;
    switch (name) {
      case 'create': {
        if (trade) return reply({ result: 'ERROR', code: 'DUPLICATE_ORDER' });
        const amount = Number(fields.amount);
        if (!Number.isSafeInteger(amount) || amount <= 0) return reply({ result: 'ERROR', code: 'BAD_AMOUNT' });
        if (fields.amount === '666') return reply({ result: 'DECLINED', code: 'RISK', message: 'declined by risk control' });
        const created: Trade = {
          merchantId,
          tradeNo: `FT${Date.now()}${randomBytes(3).toString('hex').toUpperCase()}`,
          orderNo: fields.order_no!,
          amount,
          currency: fields.currency!,
          notifyUrl: fields.notify_url!,
          returnUrl: fields.return_url!,
          status: 'WAITING',
          refunded: 0,
          refunds: new Map(),
          paidAt: null,
          secondPayments: 0,
          notifyCount: 0,
          lastNotify: null,
        };
        this.trades.set(created.tradeNo, created);
        return reply({ result: 'OK', trade_no: created.tradeNo, pay_url: `${this.baseUrl}/pay/${created.tradeNo}` });
      }
      case 'query':
        if (!trade) return reply({ result: 'NOT_FOUND' });
        return reply({ result: 'OK', ...this.tradeFields(trade) });
      case 'refund': {
        if (!trade) return reply({ result: 'ERROR', code: 'NOT_FOUND' });
        const known = trade.refunds.get(fields.refund_no ?? '');
        if (known) return reply({ result: 'OK', refund_id: known.refundId });
        const amount = Number(fields.amount);
        if (trade.status !== 'PAID' && trade.status !== 'REFUNDED') return reply({ result: 'ERROR', code: 'NOT_PAID' });
        if (!Number.isSafeInteger(amount) || amount <= 0 || trade.refunded + amount > trade.amount) {
          return reply({ result: 'ERROR', code: 'REFUND_EXCEEDS' });
        }
        const refundId = `FR${randomBytes(4).toString('hex').toUpperCase()}`;
        trade.refunds.set(fields.refund_no!, { refundId, amount });
        trade.refunded += amount;
        if (trade.refunded === trade.amount) trade.status = 'REFUNDED';
        return reply({ result: 'OK', refund_id: refundId });
      }
      case 'list': {
        // Payments made in [from, to), each under its own trade number: a second payment is listed too.
        const from = Date.parse(fields.from ?? '');
        const to = Date.parse(fields.to ?? '');
        const items: Record<string, string>[] = [];
        for (const t of this.trades.values()) {
          if (t.merchantId !== merchantId) continue;
          if (!t.paidAt || Date.parse(t.paidAt) < from || Date.parse(t.paidAt) >= to) continue;
          items.push(this.tradeFields(t));
          for (let n = 1; n <= t.secondPayments; n++) items.push({ ...this.tradeFields(t), status: 'PAID', trade_no: `${t.tradeNo}B${n}`, refunded_amount: '' });
        }
        return reply({ result: 'OK', items: JSON.stringify(items) });
      }
      case 'close':
        if (!trade) return reply({ result: 'ERROR', code: 'NOT_FOUND' });
        if (trade.status === 'PAID' || trade.status === 'REFUNDED') return reply({ result: 'ERROR', code: 'ALREADY_PAID' });
        trade.status = 'CLOSED';
        return reply({ result: 'OK' });
      default:
        return send(res, 404, 'text/plain', 'unknown api');
    }
  }

  private payPage(tradeNo: string, res: http.ServerResponse): void {
    const trade = this.trades.get(tradeNo);
    if (!trade) return send(res, 404, 'text/plain', 'unknown trade');
    // Escaped by default (providers/kit: core/html.ts): the order number came from the gateway.
    const page = html`<!doctype html><title>FakePay</title><h1>FakePay</h1><p>Order ${trade.orderNo}: ${trade.amount} ${trade.currency} (${trade.status})</p>`;
    send(res, 200, 'text/html; charset=utf-8', page.toString());
  }

  tradeFields(trade: Trade): Record<string, string> {
    return {
      merchant_id: trade.merchantId,
      order_no: trade.orderNo,
      trade_no: trade.tradeNo,
      amount: String(trade.amount),
      currency: trade.currency,
      status: trade.status,
      paid_at: trade.paidAt ?? '',
      // What has gone back in all (refunds through the API and in the back office); empty when none.
      refunded_amount: trade.refunded > 0 ? String(trade.refunded) : '',
    };
  }

  private notifyFields(trade: Trade): Record<string, string> {
    return signed({ ...this.tradeFields(trade), notify_id: `N${trade.tradeNo}${trade.status}` }, this.secretOf(trade));
  }

  /** Sends the notify now and schedules retries until the gateway says OK. */
  private async notify(trade: Trade, attempt: number): Promise<{ status: number; body: string }> {
    const fields = attempt === 0 ? this.notifyFields(trade) : trade.lastNotify!;
    trade.lastNotify = fields;
    const answer = await this.deliver(trade, fields);
    if (answer.body !== 'OK' && attempt + 1 < RETRY_SCHEDULE_S.length) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.notify(trade, attempt + 1);
      }, RETRY_SCHEDULE_S[attempt + 1]! * 1000 * this.timeScale);
      timer.unref();
      this.timers.add(timer);
    }
    return answer;
  }

  private async deliver(trade: Trade, fields: Record<string, string>): Promise<{ status: number; body: string }> {
    trade.notifyCount++;
    try {
      const response = await fetch(trade.notifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      const answer = { status: response.status, body: await response.text() };
      this.deliveries.push({ orderNo: trade.orderNo, ...answer });
      return answer;
    } catch (err) {
      const answer = { status: 0, body: String(err) };
      this.deliveries.push({ orderNo: trade.orderNo, ...answer });
      return answer;
    }
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createFakePaySimulator(options: SimulatorOptions, ackAfter: 'stored' | 'applied' = 'applied'): FakePaySimulator {
  return new FakePaySimulator(options.baseUrl, options.logger, options.timeScale ?? 1, ackAfter);
}
