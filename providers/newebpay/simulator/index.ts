import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomInt } from 'node:crypto';
import type { Logger } from '../../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions, SimulatorPayAnswer } from '../../../core/payment-provider.ts';
import type { Handoff, HandoffListener } from '../../../core/simulator-handoffs.ts';
import { postDelivery } from '../../simulator-kit/deliver.ts';
import { HttpError } from '../../simulator-kit/http.ts';
import { Timers } from '../../simulator-kit/timers.ts';
import { formatWallClock, TAIPEI } from '../../kit/index.ts';
import { PATHS } from '../codec.ts';
import type { NewebpayConfig } from '../config.ts';
import { runBatch, type ApiContext } from './api.ts';
import { loadTrades, readableBooks, saveBooks, type NewebpayBooks } from './books.ts';
import { acceptMpg, readMpgForm } from './gateway.ts';
import { createHandler } from './http.ts';
import { APPROVED_CARDS, codeMessage, CODE_NOT_ISSUED_UNVERIFIED, DECLINE_CARDS, DECLINE_DEFAULT, outerForm, resultMessage } from './messages.ts';
import { Notifier, type DeliveryRecord, type DeliveryResult } from './notifier.ts';
import { Book, type SimMerchant, type SimTrade } from './store.ts';

export type { DeliveryRecord, DeliveryResult } from './notifier.ts';
export { HttpError as ControlError } from '../../simulator-kit/http.ts';

export interface NewebpaySimulatorSettings {
  /** §5.1 re-send gaps (3 retries); default NOTIFY_RETRY_GAPS_MIN_UNVERIFIED × timeScale. */
  notifyRetryMs?: number[];
  /** §4.2 / §6 / §7 TimeStamp window in seconds (120). */
  timestampToleranceSec?: number;
  /** §6 TRA10071 threshold per shop and hour (UNVERIFIED). */
  queryMissLimit?: number;
  /** §7.2: voids answer TRA20001 and are done by the next batch. */
  voidInBatch?: boolean;
  /** §7.3 自動請款 for the shops this simulator makes up. */
  autoCapture?: boolean;
  /** The simulator's clock (default the real one). */
  now?: () => Date;
}

/** What the control API answers for an action. */
export interface ControlResult extends SimulatorPayAnswer {
  orderNo: string;
  merchantId: string;
  tradeNo: string;
  tradeStatus: string;
  /** The first NotifyURL delivery the action caused (null when it caused none). */
  firstDelivery: DeliveryResult | null;
  /**
   * The CustomerURL post the control API brought as the buyer's browser would (an ATM code issued or
   * not: §5.3 has no server notify for it), and what the shop answered; null when there was none.
   */
  browserDelivery: DeliveryResult | null;
  /**
   * SimulatorPayAnswer.nextUrl: where the buyer's browser goes next, when NewebPay sends it somewhere
   * (the ReturnURL after a card result, the CustomerURL after a code was issued). NewebPay sends it
   * there by a form POST, which a URL alone cannot say, so this is a page of the simulator that
   * posts the signed fields on, as NewebPay's page does. Absent when the browser is sent nowhere.
   */
  nextUrl?: string;
}

/** §5.1 NotifyURL retry gaps in minutes: NewebPay retries 3 times; the intervals are not published (UNVERIFIED). */
export const NOTIFY_RETRY_GAPS_MIN_UNVERIFIED = [1, 5, 15];
/**
 * §5.1: M1 says a failed payment is notified with its error code (LIKELY for cards). Whether a code
 * that could not be issued (ATM) is notified too is UNVERIFIED: §5.3 documents it on the CustomerURL
 * only, which is where the simulator reports it.
 */
export const CODE_FAILURE_NOTIFIED_UNVERIFIED = false;
/** §6 TRA10071: how many unknown-order lookups an hour NewebPay allows is not published (UNVERIFIED). */
export const QUERY_MISS_LIMIT_UNVERIFIED = 100;

const MINUTE = 60_000;
const MAX_EXPECTED = 10_000;

/**
 * NewebPay MPG as a local server (docs/protocols/newebpay.md#simulator): the MPG gateway checking
 * TradeInfo and TradeSha, a pay page per trade (card: pay / decline; ATM: issue a code, then the
 * bank's settlement), signed NotifyURL messages retried until HTTP 200, the CustomerURL and
 * ReturnURL hand-offs in the buyer's browser, QueryTradeInfo, CreditCard/Cancel and Close with a
 * batch, and a JSON control API.
 */
export class NewebpaySimulator implements SimulatorInstance<NewebpayConfig>, HandoffListener {
  /** @internal */
  readonly book = new Book();
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** @internal */
  readonly api: ApiContext;
  /** @internal */
  readonly notifier: Notifier;
  readonly now: () => Date;
  readonly timestampToleranceSec: number;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly baseUrl: string;
  private readonly autoCapture: boolean;
  private readonly accounts = new Map<string, SimMerchant>();
  /** MPG forms the gateway gave buyers who have not posted them yet, by MerchantOrderNo. */
  private readonly expected = new Map<string, Record<string, string>>();

  constructor(options: SimulatorOptions, settings: NewebpaySimulatorSettings = {}) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new Error('timeScale must be a positive number');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.logger = options.logger.child({ simulator: 'newebpay' });
    this.timers = new Timers(this.logger, 'newebpay');
    this.now = settings.now ?? (() => new Date());
    this.timestampToleranceSec = settings.timestampToleranceSec ?? 120;
    this.autoCapture = settings.autoCapture ?? false;
    this.notifier = new Notifier(settings.notifyRetryMs ?? NOTIFY_RETRY_GAPS_MIN_UNVERIFIED.map((m) => m * MINUTE * scale), this.timers, this.logger);
    this.api = {
      book: this.book,
      now: this.now,
      timestampToleranceSec: this.timestampToleranceSec,
      queryMissLimit: settings.queryMissLimit ?? QUERY_MISS_LIMIT_UNVERIFIED,
      voidInBatch: settings.voidInBatch ?? false,
    };
    this.handler = createHandler(this, this.logger);
    if (options.books !== undefined) this.restore(options.books);
  }

  /** The books to start from next time (SimulatorInstance.snapshot): shops and keys, trades, expected forms. */
  snapshot(): NewebpayBooks {
    return saveBooks(this.book.merchants.values(), this.accounts, this.book.trades, this.expected);
  }

  /** Starts from saved books: the same shops and keys (the gateway's adapter keeps working) and the trades. */
  private restore(books: unknown): void {
    if (!readableBooks(books)) {
      this.logger.warn({}, 'newebpay simulator: saved books not readable, starting empty');
      return;
    }
    for (const m of books.merchants) if (!this.book.merchants.has(m.merchantId)) this.book.addMerchant(m);
    for (const [account, merchantId] of books.accounts) {
      const merchant = this.book.merchants.get(merchantId);
      if (merchant) this.accounts.set(account, merchant);
    }
    const trades = loadTrades(books, this.book.merchants);
    this.book.restore(trades);
    for (const [orderNo, form] of books.expected) this.expected.set(orderNo, form);
    this.logger.info({ merchants: books.merchants.length, trades: trades.length }, 'newebpay simulator: books restored');
  }

  /** One shop per account id, with fresh random keys (never a key printed anywhere). */
  accountConfig(account: string): NewebpayConfig {
    let merchant = this.accounts.get(account);
    if (!merchant) {
      merchant = this.book.addMerchant({ autoCapture: this.autoCapture });
      this.accounts.set(account, merchant);
      this.logger.info({ account, merchantId: merchant.merchantId }, 'newebpay simulator: shop added');
    }
    return this.configFor(merchant);
  }

  /** The config of an account the gateway already uses (for the reconcile command); never makes a shop up. */
  issuedAccountConfig(account: string): NewebpayConfig | undefined {
    const merchant = this.accounts.get(account);
    return merchant ? this.configFor(merchant) : undefined;
  }

  /** Registers a shop (anything not given is generated) and returns the config that points an adapter here. */
  addMerchant(input: Partial<SimMerchant> = {}): NewebpayConfig {
    return this.configFor(this.book.addMerchant({ autoCapture: this.autoCapture, ...input }));
  }

  private configFor(merchant: SimMerchant): NewebpayConfig {
    return { MerchantID: merchant.merchantId, HashKey: merchant.HashKey, HashIV: merchant.HashIV, baseUrl: this.baseUrl };
  }

  payUrl(trade: SimTrade): string {
    return `${this.baseUrl}/MPG/pay/${trade.payId}`;
  }

  /** The page that carries the buyer's browser on to the shop (`return` or `customer`), or null when there is no such URL. */
  nextUrl(trade: SimTrade, to: 'return' | 'customer'): string | null {
    return trade.urls[to] ? `${this.baseUrl}/MPG/next/${trade.payId}?to=${to}` : null;
  }

  /** The signed fields the browser carries to the shop's ReturnURL or CustomerURL. */
  handOffFields(trade: SimTrade, to: 'return' | 'customer'): Record<string, string> {
    return outerForm(trade, to === 'return' ? resultMessage(trade) : codeMessage(trade));
  }

  // --- What the buyer does (the pay page and the control API both come here). ---

  /** Card: authorised (RespondCode 00) or declined by the card number (§10), then the notify. */
  async chargeCard(trade: SimTrade, cardNumber?: string): Promise<DeliveryResult | null> {
    open(trade, 'CREDIT');
    const pan = (cardNumber ?? APPROVED_CARDS[0]).replace(/[\s-]/g, '');
    const decline = DECLINE_CARDS[pan] ?? (APPROVED_CARDS.includes(pan as (typeof APPROVED_CARDS)[number]) ? undefined : DECLINE_DEFAULT);
    if (decline) return this.fail(trade, decline);
    trade.tradeStatus = '1';
    trade.payTime = this.now();
    trade.card = {
      auth: String(randomInt(100_000, 1_000_000)),
      card6: pan.slice(0, 6),
      card4: pan.slice(-4),
      closeStatus: trade.merchant.autoCapture ? '1' : '0',
      closeAmt: trade.merchant.autoCapture ? trade.amt : 0,
      backStatus: '0',
      backBalance: trade.amt,
      refundQueued: 0,
      voidQueued: false,
    };
    this.logger.info({ merchantOrderNo: trade.merchantOrderNo }, 'newebpay simulator: card authorised');
    return this.notifier.notify(trade, outerForm(trade, resultMessage(trade)));
  }

  /** A failed trade: TradeStatus 2; a card's failure is notified with its code (§5.1), a code not issued only per CODE_FAILURE_NOTIFIED_UNVERIFIED. */
  async fail(trade: SimTrade, failure: { code: string; message: string }): Promise<DeliveryResult | null> {
    open(trade);
    if (trade.payCode) throw new HttpError(409, `trade ${trade.merchantOrderNo} has a code already; it can only run out`);
    trade.tradeStatus = '2';
    trade.failure = failure;
    this.logger.info({ merchantOrderNo: trade.merchantOrderNo, code: failure.code }, 'newebpay simulator: trade failed');
    if (trade.paymentType === 'CREDIT') return this.notifier.notify(trade, outerForm(trade, resultMessage(trade)));
    return CODE_FAILURE_NOTIFIED_UNVERIFIED ? this.notifier.notify(trade, outerForm(trade, codeMessage(trade))) : null;
  }

  /** The buyer's browser carried to the CustomerURL with the signed fields (§5.3), played by the control API. */
  private bringAsBrowser(trade: SimTrade): Promise<DeliveryResult | null> {
    if (!trade.urls.customer) return Promise.resolve(null);
    const body = new URLSearchParams(this.handOffFields(trade, 'customer')).toString();
    return postDelivery(trade.urls.customer, 'application/x-www-form-urlencoded', body, (status) => status === 200);
  }

  /** ATM or CVS: a virtual account or a store code issued (§5.3). No notify: the browser brings the CustomerURL message. */
  issueCode(trade: SimTrade): void {
    open(trade, 'code');
    if (trade.payCode) throw new HttpError(409, `trade ${trade.merchantOrderNo} has its code already`);
    // §10: the bank of the sandbox's placeholder accounts is 004 or 008; store codes have none.
    const kind = trade.paymentType === 'CREDIT' ? 'VACC' : trade.paymentType;
    // §10: the sandbox's barcodes are placeholders (TEST…); the first names the deadline day as real ones do (yyMMdd…).
    trade.payCode =
      kind === 'BARCODE'
        ? { bankCode: null, codeNo: '', barcodes: [`${formatWallClock(trade.expireAt!, TAIPEI, 'yyyyMMdd').slice(2)}TEST`, this.book.mintCode('BARCODE'), `${String(trade.amt).padStart(9, '0')}TEST`] }
        : { bankCode: kind === 'VACC' ? (randomInt(2) === 0 ? '004' : '008') : null, codeNo: this.book.mintCode(kind) };
    this.logger.info({ merchantOrderNo: trade.merchantOrderNo, kind }, 'newebpay simulator: code issued');
  }

  /** ATM or CVS: the bank or the store settled the payment (the portal's 模擬觸發): the paid notify. */
  async settleTransfer(trade: SimTrade): Promise<DeliveryResult> {
    open(trade, 'code');
    if (!trade.payCode || !trade.expireAt) throw new HttpError(409, `trade ${trade.merchantOrderNo} has no code yet`);
    if (this.now().getTime() > trade.expireAt.getTime()) throw new HttpError(409, `the code of ${trade.merchantOrderNo} has expired`);
    trade.tradeStatus = '1';
    trade.payTime = this.now();
    this.logger.info({ merchantOrderNo: trade.merchantOrderNo }, 'newebpay simulator: transfer settled');
    return this.notifier.notify(trade, outerForm(trade, resultMessage(trade)));
  }

  // --- The control API (core/payment-provider.ts SimulatorControl). ---

  find(orderNo: string, merchantId?: string): SimTrade {
    const trade = this.book.byOrderNo(orderNo, merchantId) ?? this.openExpected(orderNo, merchantId);
    if (!trade) throw new HttpError(404, `no trade with MerchantOrderNo ${orderNo}: the gateway has not handed this order to NewebPay`);
    return trade;
  }

  /** The gateway tells of the MPG form it gave a buyer (core/simulator-handoffs.ts); nothing is created yet. */
  expectHandoff(handoff: Handoff): void {
    if (handoff.method !== 'POST' || handoff.url !== `${this.baseUrl}${PATHS.mpg}`) return;
    const read = readMpgForm(this.book, handoff.fields);
    const orderNo = 'params' in read ? read.params.MerchantOrderNo : undefined;
    if (!orderNo) return;
    if (this.expected.size >= MAX_EXPECTED) this.expected.delete(this.expected.keys().next().value!);
    this.expected.set(orderNo, { ...handoff.fields });
  }

  /** Posts the form the gateway gave its buyer, as their browser would have (through every MPG check). */
  private openExpected(orderNo: string, merchantId?: string): SimTrade | undefined {
    const form = this.expected.get(orderNo);
    if (!form || (merchantId !== undefined && form.MerchantID !== merchantId)) return undefined;
    const trade = acceptMpg({ book: this.book, now: this.now(), timestampToleranceSec: this.timestampToleranceSec }, form);
    if ('code' in trade) throw new HttpError(409, `the MPG form of ${orderNo} was refused: ${trade.code} ${trade.message}`);
    this.expected.delete(orderNo);
    return trade;
  }

  /** Acts as the buyer paying: card → authorised; ATM → a code (issued first if need be), then the transfer. */
  async pay(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const trade = this.find(orderNo, options.merchantId);
    if (trade.paymentType === 'CREDIT') return this.result(trade, await this.chargeCard(trade), this.nextUrl(trade, 'return'));
    if (trade.payCode) return this.result(trade, await this.settleTransfer(trade), null);
    // A code first: the browser brings it to the shop (so the instructions are there), then the transfer.
    this.issueCode(trade);
    const browser = await this.bringAsBrowser(trade);
    return this.result(trade, await this.settleTransfer(trade), this.nextUrl(trade, 'customer'), browser);
  }

  /** Acts as the buyer failing: a declined card, or an ATM code that could not be issued. */
  async decline(orderNo: string, options: { merchantId?: string; code?: string } = {}): Promise<ControlResult> {
    const trade = this.find(orderNo, options.merchantId);
    if (trade.paymentType === 'CREDIT') {
      const delivery = await this.fail(trade, options.code ? { code: options.code, message: '交易失敗' } : DECLINE_DEFAULT);
      return this.result(trade, delivery, this.nextUrl(trade, 'return'));
    }
    const delivery = await this.fail(trade, options.code ? { code: options.code, message: '取號失敗' } : CODE_NOT_ISSUED_UNVERIFIED);
    return this.result(trade, delivery, this.nextUrl(trade, 'customer'), await this.bringAsBrowser(trade));
  }

  /** ATM: issues the code only (the buyer then has the account); the browser's next page is the CustomerURL hand-off. */
  async issue(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const trade = this.find(orderNo, options.merchantId);
    this.issueCode(trade);
    return this.result(trade, null, this.nextUrl(trade, 'customer'), await this.bringAsBrowser(trade));
  }

  /** The trade's latest notify once more, outside the schedule. */
  async renotify(orderNo: string, options: { merchantId?: string } = {}): Promise<ControlResult> {
    const trade = this.find(orderNo, options.merchantId);
    const notification = this.notifier.latest.get(trade.tradeNo);
    if (!notification) throw new HttpError(409, `trade ${orderNo} has not been notified yet`);
    return this.result(trade, await this.notifier.renotify(notification), null);
  }

  /** NewebPay's batch: queued captures, refunds and voids are done. */
  batch(): number {
    return runBatch(this.book);
  }

  /** The outer form of the trade's latest notify, as its next re-send would carry it. */
  latestNotify(orderNo: string): Record<string, string> {
    const trade = this.find(orderNo);
    const notification = this.notifier.latest.get(trade.tradeNo);
    if (!notification) throw new HttpError(409, `trade ${orderNo} has not been notified yet`);
    return { ...notification.fields };
  }

  /** The keys of shop `merchantId` (tests forge and tamper with them). */
  keysOf(merchantId: string): SimMerchant {
    const merchant = this.book.merchants.get(merchantId);
    if (!merchant) throw new HttpError(404, `no shop ${merchantId}`);
    return merchant;
  }

  get deliveries(): readonly DeliveryRecord[] {
    return this.notifier.deliveries;
  }

  settle(): Promise<void> {
    return this.notifier.settle();
  }

  async close(): Promise<void> {
    this.timers.close();
  }

  private result(trade: SimTrade, delivery: DeliveryResult | null, nextUrl: string | null, browserDelivery: DeliveryResult | null = null): ControlResult {
    return { orderNo: trade.merchantOrderNo, merchantId: trade.merchant.merchantId, tradeNo: trade.tradeNo, tradeStatus: trade.tradeStatus, firstDelivery: delivery, browserDelivery, ...(nextUrl ? { nextUrl } : {}) };
  }
}

/** Only a trade still open (and of the given type; `code`: VACC or CVS) can be paid, declined or given a code. */
function open(trade: SimTrade, type?: SimTrade['paymentType'] | 'code'): void {
  const fits = type === 'code' ? trade.paymentType !== 'CREDIT' : trade.paymentType === type;
  if (type && !fits) throw new HttpError(409, `trade ${trade.merchantOrderNo} is ${trade.paymentType}, not ${type === 'code' ? 'VACC or CVS' : type}`);
  if (trade.tradeStatus !== '0') throw new HttpError(409, `trade ${trade.merchantOrderNo} is no longer open (TradeStatus ${trade.tradeStatus})`);
}

export function createNewebpaySimulator(options: SimulatorOptions, settings?: NewebpaySimulatorSettings): NewebpaySimulator {
  return new NewebpaySimulator(options, settings);
}

