import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions } from '../../../core/payment-provider.ts';
import type { Handoff, HandoffListener } from '../../../core/simulator-handoffs.ts';
import { HttpError } from '../../simulator-kit/http.ts';
import { Timers } from '../../simulator-kit/timers.ts';
import type { EcpayConfig } from '../config.ts';
import { withCheckMac } from '../crypto.ts';
import { autoClose, type ApiContext } from './api.ts';
import { loadOrders, readableBooks, saveBooks, type EcpayBooks } from './books.ts';
import { Buyer } from './buyer.ts';
import { acceptCheckout } from './checkout.ts';
import { createHandler } from './http.ts';
import { atmInfoFields, resultFields, RTN_MSG_FIRST, RTN_MSG_SIMULATED, sortedFields } from './messages.ts';
import { Notifier, type DeliveryRecord, type DeliveryResult } from './notifier.ts';
import { Book, type SimMerchant, type SimOrder } from './store.ts';
import { orderView, type OrderView } from './views.ts';

export type { DeliveryRecord, DeliveryResult } from './notifier.ts';
export type { OrderView } from './views.ts';
export { HttpError as ControlError } from '../../simulator-kit/http.ts';

export interface EcpaySimulatorSettings {
  /**
   * Gaps between a notice's deliveries: §5.1 says up to 4 re-sends "every 5-15 minutes" (LIKELY);
   * default 5, 10, 15, 15 minutes × timeScale. A schedule given here is used as is.
   */
  notifyRetryMs?: number[];
  /** §5.1 / §16: 'exact' (default) takes only `1|OK`; 'trim' also `1|OK` with white space around it (UNVERIFIED). */
  ackMatch?: 'exact' | 'trim';
  /** §4.4: deliver fields in random order instead of ECPay's sorted order. */
  shuffleFields?: boolean;
  /** §16 UNVERIFIED: whether a 模擬付款 makes QueryTradeInfo say paid. Default false. */
  simulatePaidMarksPaid?: boolean;
  /** §8.2 UNVERIFIED: whether an unknown order's QueryTradeInfo answer is signed. Default true. */
  signNotFound?: boolean;
  /** §10.2 UNVERIFIED: whether DoAction answers carry a CheckMacValue. Default false. */
  doActionMac?: boolean;
  /** §8.1: QueryTradeInfo's TimeStamp window in seconds (default 180). */
  timestampToleranceSec?: number;
  /** §1.2: also know ECPay's public stage merchants 3002607 and 2000132 with their published keys. Default true. */
  preloadStageMerchants?: boolean;
  /** The simulator's clock (default the real one). */
  now?: () => Date;
}

/** What the control API answers for an action that notifies. */
export interface ControlResult {
  orderNo: string;
  merchantId: string;
  tradeNo: string;
  tradeStatus: string;
  /** The first delivery of the notice the action sent (null when it sent none). */
  firstDelivery: DeliveryResult | null;
  /** For an ATM order paid before an account existed: the PaymentInfoURL delivery of the account issued first. */
  accountDelivery?: DeliveryResult | null;
}

const MINUTE = 60_000;
const MAX_EXPECTED = 10_000;
/** §5.1 ReturnURL re-send gaps in minutes (LIKELY: "every 5-15 minutes, at most 4 more times"). */
export const NOTIFY_RETRY_GAPS_MIN = [5, 10, 15, 15];

/** §1.2: public stage credentials, published by ECPay for everyone's tests. */
const STAGE_MERCHANTS = [
  { merchantId: '3002607', HashKey: 'pwFHCqoQZGmho4w6', HashIV: 'EkRm7iFT261dpevs' },
  { merchantId: '2000132', HashKey: '5294y06JbISpM5x9', HashIV: 'v77hoKGq4kWxNNIS' },
];

/**
 * ECPay AIO as a local server (docs/architecture.md#simulators; docs/protocols/ecpay.md#simulator): AioCheckOut checking the
 * form's CheckMacValue, a pay page per order (card: pay / decline; ATM: issue an account, then mark
 * it paid; 模擬付款 for both), signed ReturnURL / PaymentInfoURL notices re-sent until `1|OK`,
 * QueryTradeInfo, QueryTrade/V2 and DoAction on its own state, and a JSON control API.
 */
export class EcpaySimulator implements SimulatorInstance<EcpayConfig>, HandoffListener {
  /** @internal */
  readonly book = new Book();
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** @internal */
  readonly api: ApiContext;
  /** @internal */
  readonly notifier: Notifier;
  /** @internal What the pay page's buttons and the control API do. */
  readonly buyer: Buyer;
  readonly now: () => Date;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly baseUrl: string;
  private readonly accounts = new Map<string, SimMerchant>();
  private down = false;
  /** AioCheckOut forms the gateway gave buyers who have not posted them yet, by MerchantTradeNo. */
  private readonly expected = new Map<string, Record<string, string>>();

  constructor(options: SimulatorOptions, settings: EcpaySimulatorSettings = {}) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new Error('timeScale must be a positive number');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.logger = options.logger.child({ simulator: 'ecpay' });
    this.timers = new Timers(this.logger, 'ecpay');
    this.now = settings.now ?? (() => new Date());
    this.notifier = new Notifier(
      {
        gapsMs: settings.notifyRetryMs ?? NOTIFY_RETRY_GAPS_MIN.map((m) => m * MINUTE * scale),
        ackMatch: settings.ackMatch ?? 'exact',
        shuffle: settings.shuffleFields ?? false,
      },
      this.timers,
      this.logger,
    );
    this.api = {
      book: this.book,
      now: this.now,
      timestampToleranceSec: settings.timestampToleranceSec ?? 180,
      simulatePaidMarksPaid: settings.simulatePaidMarksPaid ?? false,
      signNotFound: settings.signNotFound ?? true,
      doActionMac: settings.doActionMac ?? false,
    };
    this.buyer = new Buyer(this.notifier, this.now, this.logger, this.book);
    if (settings.preloadStageMerchants ?? true) for (const m of STAGE_MERCHANTS) this.book.addMerchant(m);
    this.handler = createHandler(this, this.logger);
    if (options.books !== undefined) this.restore(options.books);
  }

  /** The books to start from next time (SimulatorInstance.snapshot): merchants and keys, orders, expected forms. */
  snapshot(): EcpayBooks {
    return saveBooks(this.book.merchants.values(), this.accounts, this.book.orders, this.expected);
  }

  /**
   * Starts from saved books: the same merchants and keys (the gateway's adapter keeps working), the orders
   * (payable, queryable, refundable), and the forms the control API may still post. TradeNo stays unique:
   * new ones are drawn until they differ from every order in the books. Pending notice re-sends are not kept.
   */
  private restore(books: unknown): void {
    if (!readableBooks(books)) {
      this.logger.warn({}, 'ecpay simulator: saved books not readable, starting empty');
      return;
    }
    for (const m of books.merchants) if (!this.book.merchants.has(m.merchantId)) this.book.addMerchant(m);
    for (const [account, merchantId] of books.accounts) {
      const merchant = this.book.merchants.get(merchantId);
      if (merchant) this.accounts.set(account, merchant);
    }
    const orders = loadOrders(books, this.book.merchants);
    this.book.restore(orders);
    for (const [orderNo, form] of books.expected) this.expected.set(orderNo, form);
    this.logger.info({ merchants: books.merchants.length, orders: orders.length }, 'ecpay simulator: books restored');
  }

  /** One merchant per account id, with fresh random keys (never the public stage keys). */
  accountConfig(account: string): EcpayConfig {
    let merchant = this.accounts.get(account);
    if (!merchant) {
      merchant = this.book.addMerchant();
      this.accounts.set(account, merchant);
      this.logger.info({ account, merchantId: merchant.merchantId }, 'ecpay simulator: merchant added');
    }
    return this.configFor(merchant);
  }

  /**
   * The config of an account the gateway already uses (undefined otherwise): what lets a second process (the
   * reconcile command) talk to this simulator as the gateway does. Never makes a merchant up.
   */
  issuedAccountConfig(account: string): EcpayConfig | undefined {
    const merchant = this.accounts.get(account);
    return merchant ? this.configFor(merchant) : undefined;
  }

  /** Registers a merchant (anything not given is generated) and returns the config that points an adapter here. */
  addMerchant(input: Partial<SimMerchant> = {}): EcpayConfig {
    return this.configFor(this.book.addMerchant(input));
  }

  private configFor(merchant: SimMerchant): EcpayConfig {
    return {
      MerchantID: merchant.merchantId,
      HashKey: merchant.HashKey,
      HashIV: merchant.HashIV,
      baseUrl: this.baseUrl,
      creditCheckCode: merchant.creditCheckCode,
      // The simulator runs no 20:15 close by itself, so refunds need not wait for 20:30 here.
      autoCloseGuard: false,
    };
  }

  /** The buyer's page of an order. */
  payUrl(order: SimOrder): string {
    return `${this.baseUrl}/pay/${order.payId}`;
  }

  // --- The control API's view (JSON, under /_control/). ---

  find(orderNo: string, merchantId?: string): SimOrder {
    const order = this.book.byOrderNo(orderNo, merchantId) ?? this.openExpected(orderNo, merchantId);
    if (!order) {
      throw new HttpError(404, `no order with MerchantTradeNo ${orderNo}: the gateway has not handed this order to ECPay (or it was handed off before this simulator started)`);
    }
    return order;
  }

  /**
   * The gateway tells of the AioCheckOut form it gave a buyer (core/simulator-handoffs.ts). Nothing
   * is created: the control API posts it, through AioCheckOut's own checks, only when asked to act
   * on a MerchantTradeNo the buyer has not brought to the cashier yet.
   */
  expectHandoff(handoff: Handoff): void {
    if (handoff.method !== 'POST' || handoff.url !== `${this.baseUrl}/Cashier/AioCheckOut/V5`) return;
    const orderNo = handoff.fields.MerchantTradeNo;
    if (!orderNo) return;
    // Bounded: the oldest hand-offs nobody acted on go first.
    if (this.expected.size >= MAX_EXPECTED) this.expected.delete(this.expected.keys().next().value!);
    this.expected.set(orderNo, { ...handoff.fields });
  }

  /** Posts the form the gateway gave its buyer, as their browser would have. */
  private openExpected(orderNo: string, merchantId?: string): SimOrder | undefined {
    const form = this.expected.get(orderNo);
    if (!form || (merchantId !== undefined && form.MerchantID !== merchantId)) return undefined;
    const order = acceptCheckout(this.book, form, this.now());
    if ('code' in order) throw new HttpError(409, `the AioCheckOut form of ${orderNo} was refused: ${order.code} ${order.message}`);
    this.expected.delete(orderNo);
    this.logger.info({ merchantTradeNo: orderNo }, 'ecpay simulator: order opened by the control API');
    return order;
  }

  /** Acts as the buyer paying: card → authorised; ATM → an account (issued first if need be), then the transfer. */
  async pay(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const order = this.find(orderNo, options.merchantId);
    if (order.choosePayment === 'Credit') return this.result(order, await this.buyer.payCard(order));
    const accountDelivery = order.atm ? undefined : await this.buyer.issueAtm(order);
    return { ...this.result(order, await this.buyer.payAtm(order)), ...(accountDelivery ? { accountDelivery } : {}) };
  }

  /** Acts as the buyer failing: a declined card, or an ATM account that could not be issued. */
  async decline(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const order = this.find(orderNo, options.merchantId);
    return this.result(order, order.choosePayment === 'Credit' ? await this.buyer.declineCard(order) : await this.buyer.failAtm(order));
  }

  async issue(orderNo: string, options: { merchantId?: string; bank?: string } = {}): Promise<ControlResult> {
    const order = this.find(orderNo, options.merchantId);
    return this.result(order, await this.buyer.issueAtm(order, options.bank));
  }

  async simulate(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const order = this.find(orderNo, options.merchantId);
    return this.result(order, await this.buyer.simulatePaid(order));
  }

  abandonOrder(orderNo: string, options: { merchantId?: string } = {}): ControlResult {
    const order = this.find(orderNo, options.merchantId);
    this.buyer.abandon(order);
    return this.result(order, null);
  }

  /** Delivers the order's latest notice once more, as a re-send (§5.1), outside the schedule. */
  async renotify(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const order = this.find(orderNo, options.merchantId);
    const notification = this.notifier.latest.get(order.tradeNo);
    if (!notification) throw new HttpError(409, `order ${orderNo} has not been notified yet`);
    return this.result(order, await this.notifier.renotify(notification));
  }

  /** ECPay's daily 20:15 close, now (§10.1). Returns how many cards were closed. */
  autoClose(): number {
    return autoClose(this.book, this.now());
  }

  /**
   * The fields of a notice ECPay would send for this order now, signed with its merchant's keys;
   * nothing is sent. Tests tamper with them. `kind`: 'paid' (ReturnURL RtnCode 1), 'simulated'
   * (SimulatePaid=1), 'issued' (PaymentInfoURL RtnCode 2, needs an account), or 'latest' (the last
   * notice as its next re-send would carry it).
   */
  noticeFields(orderNo: string, kind: 'paid' | 'simulated' | 'issued' | 'latest' = 'latest', options: { merchantId?: string } = {}): Record<string, string> {
    const order = this.find(orderNo, options.merchantId);
    if (kind === 'latest') {
      const notification = this.notifier.latest.get(order.tradeNo);
      if (!notification) throw new HttpError(409, `order ${orderNo} has not been notified yet`);
      return this.notifier.signed(notification, 'resend');
    }
    if (kind === 'issued' && !order.atm) throw new HttpError(409, `order ${orderNo} has no account`);
    const fields =
      kind === 'issued'
        ? atmInfoFields(order, true)
        : resultFields(
            { ...order, status: '1', paymentDate: order.paymentDate ?? this.now() },
            kind === 'simulated' ? { code: '1', msg: RTN_MSG_SIMULATED, simulated: true } : { code: '1', msg: RTN_MSG_FIRST },
          );
    return withCheckMac(sortedFields(fields), order.merchant);
  }

  /** Signs `fields` with the keys of merchant `merchantId` (a forged-but-valid notice, when it is another merchant). */
  sign(fields: Record<string, string>, merchantId: string): Record<string, string> {
    const merchant = this.book.merchants.get(merchantId);
    if (!merchant) throw new HttpError(404, `no merchant ${merchantId}`);
    return withCheckMac(sortedFields(fields), merchant);
  }

  /** While down, the server-to-server endpoints answer 503; pages and the control API keep working. */
  setOutage(down: boolean): void {
    this.down = down;
    this.logger.info({ down }, 'ecpay simulator: outage');
  }

  get outage(): boolean {
    return this.down;
  }

  /** While down, notices do not reach the merchant (recorded with status 0); re-sends keep their schedule. */
  setNotifyDown(down: boolean): void {
    this.notifier.unreachable = down;
  }

  get deliveries(): readonly DeliveryRecord[] {
    return this.notifier.deliveries;
  }

  get orders(): OrderView[] {
    return this.book.orders.map((o) => orderView(o, this.payUrl(o)));
  }

  /** Resolves when no notice delivery is in flight. */
  settle(): Promise<void> {
    return this.notifier.settle();
  }

  async close(): Promise<void> {
    this.timers.close();
  }

  private result(order: SimOrder, delivery: DeliveryResult | null): ControlResult {
    return { orderNo: order.merchantTradeNo, merchantId: order.merchant.merchantId, tradeNo: order.tradeNo, tradeStatus: order.status, firstDelivery: delivery };
  }
}

export function createEcpaySimulator(options: SimulatorOptions, settings?: EcpaySimulatorSettings): EcpaySimulator {
  return new EcpaySimulator(options, settings);
}
