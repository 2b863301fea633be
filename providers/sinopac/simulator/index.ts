import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions } from '../../../core/payment-provider.ts';
import type { SinopacConfig } from '../config.ts';
import { Api } from './api.ts';
import { loadOrder, readableBooks, saveBooks, type SinopacBooks } from './books.ts';
import { Bank, ControlError, isOverdue, payFlag, payStatus, type Attempt, type SimOrder } from './bank.ts';
import { createHandler } from './http.ts';
import { Notifier, type DeliveryRecord, type DeliveryResult } from './notifier.ts';
import { Timers } from './util.ts';

export { ControlError } from './bank.ts';
export type { DeliveryRecord, DeliveryResult } from './notifier.ts';
export { DECLINED_CARD } from './http.ts';

export interface SinopacSimulatorSettings {
  /** Delay before an ATM order is paid by itself (sandbox behaviour §11); null = never (tests). Default 5 min × timeScale. */
  atmAutoPayMs?: number | null;
  /**
   * BackendURL retry schedule: gaps in ms between attempts; default five attempts 10 minutes apart (§8.1, UNVERIFIED),
   * each × timeScale. A schedule given here is used as is (not scaled).
   */
  backendRetryMs?: number[];
  /** Nonce time-to-live in ms (§3.3 UNVERIFIED 60 s, not scaled); nonces are single use. */
  nonceTtlMs?: number;
  /**
   * How a gateway-level rejection (bad Sign, stale/unknown nonce, unknown shop, wrong X-KeyID) looks (§6.2/§13.2 UNVERIFIED):
   * 'bare' = HTTP 200 {"Status":"F","Description":"E…"} with no Message/Nonce; 'http' = HTTP 401 text/html "Request Rejected".
   * Default 'bare'. A body that is not JSON always gets the 401 page (the sandbox WAF, §2).
   */
  rejection?: 'bare' | 'http';
}

/** What /_control/pay and /_control/decline (and pay() / decline()) answer. */
export interface ControlResult {
  orderNo: string;
  shopNo: string;
  tsNo: string;
  payToken: string;
  /** The attempt's outcome, as TSResultContent.Status will report it. */
  status: 'S' | 'F';
  /** The first BackendURL delivery (retries continue in the background); status 0 "no BackendURL" without one. */
  firstDelivery: DeliveryResult;
}

/** What /_control/renotify (and renotify()) answer: the merchant's reply to one more delivery. */
export interface RenotifyResult extends DeliveryResult {
  orderNo: string;
  payToken: string;
}

/** The simulator's view of an order for tests and scripts; never holds a secret. */
export interface OrderView {
  shopNo: string;
  orderNo: string;
  tsNo: string;
  payType: 'A' | 'C';
  amount: number;
  prdtName: string;
  status: SimOrder['status'];
  payStatus: string;
  payFlag: 'Y' | 'N' | 'O';
  overdue: boolean;
  createdAt: string;
  deadline: string;
  approvedAt: string | null;
  paidAt: string | null;
  refunded: number;
  atmPayNo: string | null;
  payUrl: string;
  returnUrl: string;
  backendUrl: string | null;
  attempts: { payToken: string; status: 'S' | 'F'; description: string; at: string; source: Attempt['source'] }[];
}

const MINUTE = 60_000;
const DEFAULT_RETRY_GAPS = [10 * MINUTE, 10 * MINUTE, 10 * MINUTE, 10 * MINUTE];
const randomKey = (): string => randomBytes(8).toString('hex').toUpperCase();

/**
 * Bank SinoPac 豐收款 (QPay WebAPI) as a local server (docs/architecture.md#simulators; docs/protocols/sinopac.md#simulator): the Nonce/Order
 * endpoints with the real envelope crypto, hosted card / WebATM pages, BackendURL notifications with retries,
 * sandbox ATM auto-payment, and a control API that acts as the buyer.
 */
export class SinopacSimulator implements SimulatorInstance<SinopacConfig> {
  /** @internal state, read by the request handler. */
  readonly bank: Bank;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly timers: Timers;
  private readonly notifier: Notifier;
  private readonly accounts = new Map<string, SinopacConfig>();
  private readonly baseUrl: string;
  private readonly logger: Logger;
  private readonly atmAutoPayMs: number | null;
  private shopCounter = 0;
  private down = false;

  constructor(options: SimulatorOptions, settings: SinopacSimulatorSettings = {}) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new Error('timeScale must be a positive number');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.logger = options.logger.child({ simulator: 'sinopac' });
    this.timers = new Timers(this.logger, 'sinopac');
    this.atmAutoPayMs = settings.atmAutoPayMs === undefined ? 5 * MINUTE * scale : settings.atmAutoPayMs;
    this.bank = new Bank(settings.nonceTtlMs ?? MINUTE);
    const gaps = settings.backendRetryMs ?? DEFAULT_RETRY_GAPS.map((ms) => ms * scale);
    this.notifier = new Notifier(gaps, this.timers, this.logger);
    const api = new Api(
      { bank: this.bank, pageBaseUrl: this.baseUrl, onCreated: (order) => this.scheduleAutoPay(order) },
      settings.rejection ?? 'bare',
      this.logger,
    );
    this.handler = createHandler(this, api, this.logger);
    if (options.books !== undefined) this.restore(options.books);
  }

  /** The books to start from next time (SimulatorInstance.snapshot): shops, keys, orders, counters. */
  snapshot(): SinopacBooks {
    return saveBooks(this.bank, this.accounts, this.shopCounter);
  }

  /**
   * Starts from saved books: the same shops and keys (the gateway's adapter keeps working), the orders
   * (payable, queryable, refundable), and counters that continue after the identifiers handed out.
   * Pending BackendURL retries are not kept; ATM auto-payments are armed again for unpaid orders.
   */
  private restore(books: unknown): void {
    if (!readableBooks(books)) {
      this.logger.warn({}, 'sinopac simulator: saved books not readable, starting empty');
      return;
    }
    this.shopCounter = Math.max(this.shopCounter, books.shopCounter);
    for (const shop of books.shops) if (!this.bank.shops.has(shop.shopNo)) this.bank.addShop(shop.shopNo, shop.keys, shop.keyId);
    for (const [account, config] of books.accounts) this.accounts.set(account, { ...config, baseUrl: this.apiBaseUrl });
    const orders = books.orders.map(loadOrder);
    this.bank.restore(orders, books.counters);
    const now = Date.now();
    for (const order of orders) this.scheduleAutoPay(order, now - order.createdAt.getTime());
    this.logger.info({ shops: books.shops.length, orders: orders.length }, 'sinopac simulator: books restored');
  }

  /** The API base an adapter appends `Nonce` / `Order` to. */
  get apiBaseUrl(): string {
    return `${this.baseUrl}/funBIZ/QPay.WebAPI/api/`;
  }

  /** One shop per account id, with fresh random keys (never the public ones printed in the spec). */
  accountConfig(account: string): SinopacConfig {
    const known = this.accounts.get(account);
    if (known) return { ...known };
    const config = this.addShop();
    this.accounts.set(account, config);
    return { ...config };
  }

  /**
   * The config of an account the gateway already uses (undefined otherwise): what lets a second process (the
   * reconcile command) talk to this simulator as the gateway does. Never makes a shop up.
   */
  issuedAccountConfig(account: string): SinopacConfig | undefined {
    const known = this.accounts.get(account);
    return known ? { ...known } : undefined;
  }

  /** Registers a shop; anything not given is generated. Returns the config that points an adapter here. */
  addShop(input: Partial<Pick<SinopacConfig, 'ShopNo' | 'A1' | 'A2' | 'B1' | 'B2' | 'KeyID'>> = {}): SinopacConfig {
    let shopNo = input.ShopNo;
    while (!shopNo || (!input.ShopNo && this.bank.shops.has(shopNo))) {
      shopNo = `SIM${String(++this.shopCounter).padStart(3, '0')}_001`;
    }
    const keys = { A1: input.A1 ?? randomKey(), A2: input.A2 ?? randomKey(), B1: input.B1 ?? randomKey(), B2: input.B2 ?? randomKey() };
    const KeyID = input.KeyID ?? randomUUID();
    this.bank.addShop(shopNo, keys, KeyID);
    this.logger.info({ shopNo }, 'sinopac simulator: shop added');
    return { ShopNo: shopNo, ...keys, KeyID, baseUrl: this.apiBaseUrl };
  }

  /** Acts as the buyer: card → an approved attempt; ATM → the transfer is booked. Then BackendURL fires. */
  async pay(orderNo: string, shopNo?: string): Promise<ControlResult> {
    return this.settle(this.bank.findOrder(orderNo, shopNo), 'S', 'control');
  }

  /** Acts as the buyer: a failed attempt (TSResultContent.Status F). Then BackendURL fires. */
  async decline(orderNo: string, shopNo?: string): Promise<ControlResult> {
    return this.settle(this.bank.findOrder(orderNo, shopNo), 'F', 'control');
  }

  /** POSTs the order's last PayToken to its BackendURL once more. */
  async renotify(orderNo: string, shopNo?: string): Promise<RenotifyResult> {
    const order = this.bank.findOrder(orderNo, shopNo);
    const last = order.attempts.at(-1);
    if (!last) throw new ControlError(409, `order ${orderNo} has no payment attempt yet`);
    if (!order.backendUrl) throw new ControlError(409, `order ${orderNo} has no BackendURL`);
    const delivery = await this.notifier.renotify(order, last.payToken);
    return { orderNo, payToken: last.payToken, ...delivery };
  }

  /** While down, every Nonce/Order call answers HTTP 503; pages and the control API keep working. */
  setOutage(down: boolean): void {
    this.down = down;
    this.logger.info({ down }, 'sinopac simulator: outage');
  }

  get outage(): boolean {
    return this.down;
  }

  /**
   * While down, BackendURL deliveries do not reach the merchant (recorded with status 0); the retry schedule
   * keeps running, so a retry after the partition heals gets through. Lets a test lose a notification.
   */
  setBackendUrlDown(down: boolean): void {
    this.notifier.unreachable = down;
    this.logger.info({ down }, 'sinopac simulator: BackendURL partition');
  }

  get backendUrlDown(): boolean {
    return this.notifier.unreachable;
  }

  /** Every BackendURL delivery attempt and the merchant's answer, oldest first. */
  get deliveries(): readonly DeliveryRecord[] {
    return this.notifier.deliveries;
  }

  get orders(): OrderView[] {
    const now = new Date();
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    return this.bank.orders.map((o) => ({
      shopNo: o.shopNo,
      orderNo: o.orderNo,
      tsNo: o.tsNo,
      payType: o.payType,
      amount: o.amount,
      prdtName: o.prdtName,
      status: o.status,
      payStatus: payStatus(o, now),
      payFlag: payFlag(o, now),
      overdue: isOverdue(o, now),
      createdAt: o.createdAt.toISOString(),
      deadline: o.deadline.toISOString(),
      approvedAt: iso(o.approvedAt),
      paidAt: iso(o.paidAt),
      refunded: o.refunded,
      atmPayNo: o.atm?.atmPayNo ?? null,
      payUrl: o.card ? o.card.cardPayUrl : o.atm!.webAtmUrl,
      returnUrl: o.returnUrl,
      backendUrl: o.backendUrl,
      attempts: o.attempts.map((a) => ({ payToken: a.payToken, status: a.status, description: a.description, at: a.at.toISOString(), source: a.source })),
    }));
  }

  /** @internal Books an attempt and fires BackendURL, awaiting only its first delivery. */
  async settle(order: SimOrder, outcome: 'S' | 'F', source: Attempt['source'], cardNo?: string): Promise<ControlResult> {
    const attempt = this.bank.book(order, outcome, source, cardNo);
    this.logger.info({ shopNo: order.shopNo, orderNo: order.orderNo, outcome, source }, 'sinopac simulator: payment attempt');
    const firstDelivery = await this.notifier.notify(order, attempt.payToken);
    return { orderNo: order.orderNo, shopNo: order.shopNo, tsNo: order.tsNo, payToken: attempt.payToken, status: outcome, firstDelivery };
  }

  /** §11: the sandbox pays ATM orders by itself unless the OrderNo ends in 9. */
  private scheduleAutoPay(order: SimOrder, elapsedMs = 0): void {
    if (order.payType !== 'A' || this.atmAutoPayMs === null || order.orderNo.endsWith('9') || order.status !== 'unpaid') return;
    this.timers.after(this.atmAutoPayMs - elapsedMs, async () => {
      if (order.status !== 'unpaid' || isOverdue(order, new Date())) return;
      await this.settle(order, 'S', 'auto');
    });
  }

  async close(): Promise<void> {
    this.timers.close();
  }
}

export function createSinopacSimulator(options: SimulatorOptions, settings?: SinopacSimulatorSettings): SinopacSimulator {
  return new SinopacSimulator(options, settings);
}
