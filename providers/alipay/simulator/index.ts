import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import type { SimulatorInstance, SimulatorOptions } from '../../../core/payment-provider.ts';
import type { Handoff, HandoffListener } from '../../../core/simulator-handoffs.ts';
import { parseJsonObjectStrict } from '../../kit/fields.ts';
import { HttpError } from '../../simulator-kit/http.ts';
import type { AlipayConfig } from '../config.ts';
import { createApp } from './apps.ts';
import { loadBooks, readableBooks, saveBooks, type AlipayBooks } from './books.ts';
import { mergeParams, openPageHandoff, type GatewayContext } from './gateway.ts';
import { createHandler } from './http.ts';
import { hypotheticalFields, signedReturnUrl, type NotifyEvent } from './messages.ts';
import { mintNotifyId, Notifier, type DeliveryRecord, type DeliveryResult } from './notifier.ts';
import { generateKeyPair, signNotify } from './sign.ts';
import type { ControlResult, NotifyReply, PayOptions, PayResult, RenotifyResult } from './results.ts';
import { ensureCreated, isExpired, markClosed, markPaid, text, TradeBook, type BizError, type HandoffRequest, type SimApp, type SimTrade, type TradeStatus } from './trades.ts';
import { beijing, Timers } from './util.ts';
import { tradeView, type TradeView } from './views.ts';

export type { DeliveryRecord, DeliveryResult } from './notifier.ts';
export type { TradeView } from './views.ts';
export type { ControlResult, NotifyReply, PayOptions, PayResult, RenotifyResult } from './results.ts';
export { HttpError as ControlError } from '../../simulator-kit/http.ts';

export interface AlipaySimulatorSettings {
  /** Gaps between notify attempts; default 4m,10m,10m,1h,2h,6h,15h (§3.6) × timeScale. 8 attempts total. */
  notifyScheduleMs?: number[];
  /** Which events notify (§3.4); default all on. */
  notifyOn?: { closed?: boolean; finished?: boolean };
  /** When a trade starts to exist for query/close (§3.4): 'open' = the cashier page was opened or the hand-off hit gateway.do (default), 'pay' = only at payment (WAP). */
  tradeCreatedOn?: 'open' | 'pay';
  /** Reject request timestamps further than this from Beijing now (isv.invalid-timestamp); null = off (default). */
  timestampToleranceMs?: number | null;
}

const MINUTE = 60_000;
const DEFAULT_SCHEDULE = [4, 10, 10, 60, 120, 360, 900].map((m) => m * MINUTE);
const DEFAULT_BUYER = 'buyer@example.com';
const MAX_EXPECTED = 10_000;

/**
 * Alipay's v2 gateway as a local server (docs/architecture.md#simulators; docs/protocols/alipay.md#simulator): page/wap hand-offs to a cashier page,
 * query / refund / close / refund query with RSA2 both ways, trade_status_sync notifies with retries, signed return
 * redirects, and a control API that acts as the buyer.
 */
export class AlipaySimulator implements SimulatorInstance<AlipayConfig>, HandoffListener {
  /** @internal */
  readonly book = new TradeBook();
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly apps = new Map<string, SimApp>();
  private readonly appsById = new Map<string, SimApp>();
  private readonly notifier: Notifier;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly baseUrl: string;
  private readonly notifyOn: { closed: boolean; finished: boolean };
  private readonly createdOn: 'open' | 'pay';
  private stranger: KeyObject | undefined;
  private down = false;
  private readonly ctx: GatewayContext;
  /** Hand-offs the gateway gave buyers who have not brought them here yet, by out_trade_no. */
  private readonly expected = new Map<string, Record<string, string>>();

  constructor(options: SimulatorOptions, settings: AlipaySimulatorSettings = {}) {
    const scale = options.timeScale ?? 1;
    if (!(scale > 0) || !Number.isFinite(scale)) throw new Error('timeScale must be a positive number');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.logger = options.logger.child({ simulator: 'alipay' });
    this.timers = new Timers(this.logger, 'alipay');
    this.notifier = new Notifier(settings.notifyScheduleMs ?? DEFAULT_SCHEDULE.map((ms) => ms * scale), this.timers, this.logger);
    this.notifyOn = { closed: settings.notifyOn?.closed ?? true, finished: settings.notifyOn?.finished ?? true };
    this.createdOn = settings.tradeCreatedOn ?? 'open';
    const ctx: GatewayContext = {
      book: this.book,
      refresh: (trade) => this.refresh(trade),
      closed: (trade) => void this.emit(trade, { kind: 'closed' }),
      refunded: (trade, refund, full) => void this.emit(trade, { kind: 'refund', refund, full }),
      app: (appId) => this.appsById.get(appId),
      strangerKey: () => (this.stranger ??= generateKeyPair().privateKey),
      timestampToleranceMs: settings.timestampToleranceMs ?? null,
      handoff: (app, request) => this.handoff(app, request),
      cashierUrl: (trade) => this.cashierUrl(trade),
    };
    this.ctx = ctx;
    this.handler = createHandler(this, ctx, this.logger);
    if (options.books !== undefined) this.restore(options.books);
  }

  /** The books to start from next time (SimulatorInstance.snapshot): apps and keys, trades, expected hand-offs. */
  snapshot(): AlipayBooks {
    return saveBooks(this.apps.values(), this.book.trades, this.book.lastSeq, this.expected);
  }

  /**
   * Starts from saved books: the same apps and key pairs (the gateway's adapter keeps working), the trades
   * (payable, queryable, refundable), and the hand-offs the control API may still open. trade_no stays
   * unique: new ones are drawn at random until they differ from every trade in the books. Expiry timers
   * are armed again; pending notify retries are not kept (renotify answers 409 until the next notify).
   */
  private restore(books: unknown): void {
    if (!readableBooks(books)) {
      this.logger.warn({}, 'alipay simulator: saved books not readable, starting empty');
      return;
    }
    const { apps, trades } = loadBooks(books, this.baseUrl);
    for (const app of apps) {
      this.apps.set(app.account, app);
      this.appsById.set(app.appId, app);
    }
    this.book.restore(trades, books.seq);
    for (const [outTradeNo, params] of books.expected) this.expected.set(outTradeNo, params);
    for (const trade of trades) {
      if (trade.status === 'WAIT_BUYER_PAY') this.closeWhenExpired(trade);
    }
    this.logger.info({ apps: apps.length, trades: trades.length }, 'alipay simulator: books restored');
  }

  /**
   * The gateway tells of a hand-off it gave a buyer (core/simulator-handoffs.ts). Nothing is created:
   * the control API opens the trade from it, through gateway.do's own checks, only when asked to act
   * on an out_trade_no the buyer has not brought to the cashier yet.
   */
  expectHandoff(handoff: Handoff): void {
    let url: URL;
    try {
      url = new URL(handoff.url);
    } catch {
      return;
    }
    if (`${url.origin}${url.pathname}` !== `${this.baseUrl}/gateway.do`) return;
    const params = mergeParams(url.searchParams, new URLSearchParams(handoff.fields));
    let outTradeNo: string | undefined;
    try {
      outTradeNo = text(parseJsonObjectStrict(params.biz_content ?? '').out_trade_no);
    } catch {
      return;
    }
    if (!outTradeNo) return;
    // Bounded: the oldest hand-offs nobody acted on go first.
    if (this.expected.size >= MAX_EXPECTED) this.expected.delete(this.expected.keys().next().value!);
    this.expected.set(outTradeNo, params);
  }

  /** One app per account id, created on first use with fresh key pairs (never the keys printed in the spec). */
  accountConfig(account: string): AlipayConfig {
    let app = this.apps.get(account);
    if (!app) {
      app = createApp(account, this.baseUrl, (appId) => this.appsById.has(appId));
      this.apps.set(account, app);
      this.appsById.set(app.appId, app);
      this.logger.info({ account, appId: app.appId }, 'alipay simulator: app added');
    }
    return { ...app.config };
  }

  /**
   * The config of an account the gateway already uses (undefined otherwise): what lets a second process (the
   * reconcile command) talk to this simulator as the gateway does. Never makes an app up.
   */
  issuedAccountConfig(account: string): AlipayConfig | undefined {
    const app = this.apps.get(account);
    return app ? { ...app.config } : undefined;
  }

  /** Acts as the buyer at the cashier: pays, awaits the first notify delivery, and hands back the return URL. */
  async pay(orderNo: string, options: PayOptions = {}): Promise<PayResult> {
    const trade = this.find(orderNo, options.appId);
    const delay = options.notifyDelayMs ?? 0;
    const { notifyId, first, returnUrl } = this.payTrade(trade, options.buyer ?? DEFAULT_BUYER, delay);
    const firstNotify = delay > 0 && notifyId ? { status: 0, body: `deferred: the notify goes out in ${delay} ms` } : reply(await first);
    return { ...this.summary(trade), notifyId, firstNotify, returnUrl: returnUrl ?? '' };
  }

  /** The buyer gives up: the trade (created now if it was not yet) closes, with its TRADE_CLOSED notify. */
  async decline(orderNo: string, options: { appId?: string } = {}): Promise<ControlResult> {
    const trade = this.unpaid(this.find(orderNo, options.appId));
    ensureCreated(trade, new Date());
    markClosed(trade, new Date());
    return this.answer(trade, this.emit(trade, { kind: 'closed' }));
  }

  /** time_expire passes now: a created trade closes with its notify; one the buyer never reached closes silently. */
  async expire(orderNo: string, options: { appId?: string } = {}): Promise<ControlResult> {
    const trade = this.unpaid(this.find(orderNo, options.appId));
    trade.expiresAt = new Date();
    return this.answer(trade, this.refresh(trade));
  }

  /** The refund window is over: TRADE_SUCCESS → TRADE_FINISHED (§3.3), notified when notifyOn.finished. */
  async finish(orderNo: string, options: { appId?: string } = {}): Promise<ControlResult> {
    const trade = this.find(orderNo, options.appId);
    if (trade.status !== 'TRADE_SUCCESS') throw new HttpError(409, `trade ${orderNo} is ${trade.status}, not TRADE_SUCCESS`);
    trade.status = 'TRADE_FINISHED';
    return this.answer(trade, this.emit(trade, { kind: 'finished' }));
  }

  /** Delivers the trade's latest notification once more, with the same notify_id. */
  async renotify(orderNo: string, options: { appId?: string } = {}): Promise<RenotifyResult> {
    const trade = this.find(orderNo, options.appId);
    const notification = this.notifier.latest.get(trade.tradeNo);
    if (!notification) throw new HttpError(409, `trade ${orderNo} has not been notified yet`);
    const result = await this.notifier.renotify(notification);
    return { tradeNo: trade.tradeNo, outTradeNo: trade.outTradeNo, notifyId: notification.notifyId, ...result };
  }

  /**
   * The parameters of the trade's latest notify, signed as its next attempt would be — or, given `status`, of the notify
   * Alipay would send if the trade were now in that status (nothing is sent). Tests tamper with them.
   */
  notifyParams(orderNo: string, options: { status?: TradeStatus; appId?: string } = {}): Record<string, string> {
    const trade = this.find(orderNo, options.appId);
    if (options.status) {
      const fields = hypotheticalFields(trade, options.status, mintNotifyId(), DEFAULT_BUYER);
      return signNotify({ notify_time: beijing(new Date()), ...fields }, trade.app.alipayKeys.privateKey);
    }
    const notification = this.notifier.latest.get(trade.tradeNo);
    if (!notification) throw new HttpError(409, `trade ${orderNo} has not been notified yet`);
    return { ...(notification.lastSent ?? this.notifier.signed(notification)) };
  }

  /**
   * Signs `params` as Alipay signs a notify or return (§2.2: adds sign_type RSA2 and sign), with the Alipay key of the
   * app named by params.app_id — or of `account` (default 'default') when app_id is unknown: a forged-but-valid notify.
   */
  signParams(params: Record<string, string>, account = 'default'): Record<string, string> {
    let app = params.app_id ? this.appsById.get(params.app_id) : undefined;
    if (!app) {
      this.accountConfig(account);
      app = this.apps.get(account)!;
    }
    return signNotify(params, app.alipayKeys.privateKey);
  }

  /** While down, gateway.do answers HTTP 503; the cashier and the control API keep working. */
  setOutage(down: boolean): void {
    this.down = down;
    this.logger.info({ down }, 'alipay simulator: outage');
  }

  get outage(): boolean {
    return this.down;
  }

  /** Every notify delivery attempt and the merchant's answer, oldest first. */
  get deliveries(): readonly DeliveryRecord[] {
    return this.notifier.deliveries;
  }

  get trades(): TradeView[] {
    for (const trade of this.book.trades) this.refresh(trade);
    return this.book.trades.map((t) => tradeView(t, this.cashierUrl(t)));
  }

  /** Resolves when no notify delivery is in flight. */
  settle(): Promise<void> {
    return this.notifier.settle();
  }

  async close(): Promise<void> {
    this.timers.close();
  }

  /** @internal */
  cashierUrl(trade: SimTrade): string {
    return `${this.baseUrl}/cashier/${trade.cashierId}`;
  }

  /**
   * Closes the trade once its time_expire has passed. A timer runs on the monotonic clock and the
   * expiry is wall-clock time, so the timer can fire a millisecond before Date.now() reaches it:
   * then it is set again for what is left, rather than leaving the trade open until someone looks.
   */
  private closeWhenExpired(trade: SimTrade): void {
    this.timers.after(trade.expiresAt.getTime() - Date.now(), () => {
      if (trade.status === 'WAIT_BUYER_PAY' && !isExpired(trade, new Date())) {
        this.closeWhenExpired(trade);
        return;
      }
      this.refresh(trade);
    });
  }

  /** @internal A trade past its time_expire closes (§5.5, §6); notified only if the buyer ever reached it (§3.4). */
  refresh(trade: SimTrade): { notifyId: string | null; first: Promise<DeliveryResult> | null } {
    if (!isExpired(trade, new Date())) return { notifyId: null, first: null };
    markClosed(trade, new Date());
    this.logger.info({ outTradeNo: trade.outTradeNo }, 'alipay simulator: trade expired');
    return trade.createdAt ? this.emit(trade, { kind: 'closed' }) : { notifyId: null, first: null };
  }

  /** @internal The buyer's browser brought a hand-off to gateway.do. */
  handoff(app: SimApp, request: HandoffRequest): SimTrade | BizError {
    const known = this.book.byOrderNo(text(request.biz.out_trade_no) ?? '', app.appId);
    if (known) this.refresh(known);
    const result = this.book.handoff(app, request, new Date());
    if ('subCode' in result) return result;
    if (this.createdOn === 'open') ensureCreated(result, new Date());
    if (result !== known) {
      this.closeWhenExpired(result);
      this.logger.info({ appId: app.appId, outTradeNo: result.outTradeNo, method: request.method }, 'alipay simulator: hand-off');
    }
    return result;
  }

  /** @internal Marks the trade paid, sends TRADE_SUCCESS, and builds the signed return URL (§4, §9 "On payment"). */
  payTrade(trade: SimTrade, buyer: string, notifyDelayMs: number): { notifyId: string | null; first: Promise<DeliveryResult>; returnUrl: string | null } {
    this.unpaid(trade);
    markPaid(trade, buyer, new Date());
    this.logger.info({ outTradeNo: trade.outTradeNo, tradeNo: trade.tradeNo }, 'alipay simulator: paid');
    const { notifyId, first } = this.emit(trade, { kind: 'paid' }, notifyDelayMs);
    return { notifyId, first: first ?? Promise.resolve({ status: 0, body: 'no notification', ok: false }), returnUrl: signedReturnUrl(trade, new Date()) };
  }

  /** @internal The buyer pressed Cancel: the trade closes — unless, in 'pay' mode, it never came to exist. */
  cancelAtCashier(trade: SimTrade): void {
    if (trade.status !== 'WAIT_BUYER_PAY' || !trade.createdAt) return;
    markClosed(trade, new Date());
    this.emit(trade, { kind: 'closed' });
  }

  /** Sends the notification of `event` if its trigger is on (§3.4); TRADE_CLOSED covers unpaid closes and full refunds. */
  private emit(trade: SimTrade, event: NotifyEvent, delayMs = 0): { notifyId: string | null; first: Promise<DeliveryResult> | null } {
    const closes = event.kind === 'closed' || (event.kind === 'refund' && event.full);
    if ((closes && !this.notifyOn.closed) || (event.kind === 'finished' && !this.notifyOn.finished)) return { notifyId: null, first: null };
    const { notification, first } = this.notifier.notify(trade, event, delayMs);
    return { notifyId: notification?.notifyId ?? null, first };
  }

  private async answer(trade: SimTrade, sent: { notifyId: string | null; first: Promise<DeliveryResult> | null }): Promise<ControlResult> {
    return { ...this.summary(trade), notifyId: sent.notifyId, firstNotify: sent.first ? reply(await sent.first) : null };
  }

  private summary(trade: SimTrade) {
    return { tradeNo: trade.tradeNo, outTradeNo: trade.outTradeNo, tradeStatus: trade.status };
  }

  private find(orderNo: string, appId?: string): SimTrade {
    const trade = this.book.byOrderNo(orderNo, appId) ?? this.openExpected(orderNo, appId);
    if (!trade) {
      throw new HttpError(404, `no trade with out_trade_no ${orderNo}: the gateway has not handed this order to Alipay (or it was handed off before this simulator started)`);
    }
    this.refresh(trade);
    return trade;
  }

  /** Opens the trade from the hand-off the gateway gave its buyer, as their browser would have. */
  private openExpected(orderNo: string, appId?: string): SimTrade | undefined {
    const params = this.expected.get(orderNo);
    if (!params || (appId !== undefined && params.app_id !== appId)) return undefined;
    const opened = openPageHandoff(this.ctx, params);
    if ('subCode' in opened) throw new HttpError(409, `the hand-off of ${orderNo} was refused: ${opened.subCode} ${opened.subMsg}`);
    this.expected.delete(orderNo);
    this.logger.info({ outTradeNo: orderNo }, 'alipay simulator: trade opened by the control API');
    return opened;
  }

  private unpaid(trade: SimTrade): SimTrade {
    if (trade.status !== 'WAIT_BUYER_PAY') throw new HttpError(409, `trade ${trade.outTradeNo} is ${trade.status}`);
    return trade;
  }
}

const reply = (d: DeliveryResult): NotifyReply => ({ status: d.status, body: d.body });

export function createAlipaySimulator(options: SimulatorOptions, settings?: AlipaySimulatorSettings): AlipaySimulator {
  return new AlipaySimulator(options, settings);
}
