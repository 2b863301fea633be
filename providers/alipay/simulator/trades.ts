import type { AlipayConfig } from '../config.ts';
import type { KeyPair } from './sign.ts';
import { beijingDay, buyerIdFor, endOfBeijingDay, maskLogon, parseBeijing, parseYuan, randomDigits, randomHex } from './util.ts';

/** One simulated Alipay app. The key pairs are secrets: never in a response, a page or a log line. */
export interface SimApp {
  account: string;
  appId: string;
  sellerId: string;
  sellerEmail: string;
  /** The app's pair: the private half goes to the merchant, the public half verifies its requests. */
  appKeys: KeyPair;
  /** "Alipay's" pair: the private half signs responses, notifies and returns; the public half goes to the merchant. */
  alipayKeys: KeyPair;
  config: AlipayConfig;
}

export type TradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED' | 'TRADE_FINISHED';
export type PageMethod = 'alipay.trade.page.pay' | 'alipay.trade.wap.pay';

export interface SimRefund {
  outRequestNo: string;
  fen: number;
  reason: string | null;
  at: Date;
}

export interface SimTrade {
  seq: number;
  /** Unguessable id of the cashier page, /cashier/<id>. */
  cashierId: string;
  app: SimApp;
  method: PageMethod;
  productCode: string;
  outTradeNo: string;
  /** Minted at hand-off, shown only once the trade exists. */
  tradeNo: string;
  subject: string;
  body: string | null;
  fen: number;
  notifyUrl: string | null;
  returnUrl: string | null;
  quitUrl: string | null;
  passbackParams: string | null;
  expiresAt: Date;
  handedOffAt: Date;
  /** gmt_create; null while the trade does not exist yet for query/close (§3.4). */
  createdAt: Date | null;
  status: TradeStatus;
  buyer: { id: string; logon: string; masked: string } | null;
  paidAt: Date | null;
  closedAt: Date | null;
  refunds: SimRefund[];
  refundedFen: number;
}

/** A failure shown to the buyer (page methods) or put in a 40004 reply (API methods). */
export interface BizError {
  subCode: string;
  subMsg: string;
}

export const bizError = (subCode: string, subMsg: string): BizError => ({ subCode, subMsg });

const PRODUCT_CODES: Record<PageMethod, string> = {
  'alipay.trade.page.pay': 'FAST_INSTANT_TRADE_PAY',
  'alipay.trade.wap.pay': 'QUICK_WAP_WAY',
};
const MAX_FEN = 100_000_000 * 100;
const DAY_MS = 86_400_000;

/** biz_content values may arrive as JSON numbers (§1.6); Alipay reads them as text. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** `0.01 … 100000000` with at most two decimals (§6). */
export function amountFen(value: unknown): number | null {
  const fen = parseYuan(text(value) ?? '');
  return fen !== null && fen >= 1 && fen <= MAX_FEN ? fen : null;
}

export const validOutTradeNo = (value: string | undefined): value is string => !!value && /^[A-Za-z0-9_]{1,64}$/.test(value);

/** The fields of a page/wap hand-off (§1.5, §6), checked as the gateway checks them. */
interface HandoffFields {
  outTradeNo: string;
  fen: number;
  subject: string;
  body: string | null;
  productCode: string;
  expiresAt: Date;
  passbackParams: string | null;
  quitUrl: string | null;
}

function readHandoff(method: PageMethod, biz: Record<string, unknown>, now: Date): HandoffFields | BizError {
  const outTradeNo = text(biz.out_trade_no);
  if (!validOutTradeNo(outTradeNo)) return bizError('ACQ.INVALID_PARAMETER', 'out_trade_no 不合法 (≤64 letters, digits, _)');
  const fen = amountFen(biz.total_amount);
  if (fen === null) return bizError('ACQ.INVALID_PARAMETER', '订单总金额格式错误 (total_amount: 0.01 … 100000000, ≤2 decimals)');
  const subject = text(biz.subject);
  if (!subject || subject.length > 256) return bizError('ACQ.INVALID_PARAMETER', 'subject 不合法 (1 … 256 characters)');
  const productCode = text(biz.product_code);
  if (productCode !== PRODUCT_CODES[method]) {
    return bizError('ACQ.INVALID_PARAMETER', `product_code must be ${PRODUCT_CODES[method]} for ${method}`);
  }
  const expiresAt = readExpiry(biz, now);
  if ('subCode' in expiresAt) return expiresAt;
  const body = text(biz.body) ?? null;
  return {
    outTradeNo,
    fen,
    subject,
    body: body || null,
    productCode,
    expiresAt,
    passbackParams: text(biz.passback_params) || null,
    quitUrl: text(biz.quit_url) || null,
  };
}

/** time_expire (absolute Beijing time) wins over timeout_express; the default is 15 days (§6). */
function readExpiry(biz: Record<string, unknown>, now: Date): Date | BizError {
  const timeExpire = text(biz.time_expire);
  if (timeExpire !== undefined) {
    const at = parseBeijing(timeExpire);
    if (!at) return bizError('ACQ.INVALID_PARAMETER', 'time_expire 格式错误 (yyyy-MM-dd HH:mm:ss, Beijing time)');
    if (at.getTime() <= now.getTime()) return bizError('ACQ.INVALID_PARAMETER', 'time_expire 已过 (already in the past)');
    return at;
  }
  const relative = text(biz.timeout_express);
  if (relative !== undefined) {
    if (relative === '1c') return endOfBeijingDay(now);
    const m = /^(\d{1,5})([mhd])$/.exec(relative);
    const ms = m ? Number(m[1]) * { m: 60_000, h: 3_600_000, d: DAY_MS }[m[2] as 'm' | 'h' | 'd'] : 0;
    if (ms < 60_000 || ms > 15 * DAY_MS) return bizError('ACQ.INVALID_PARAMETER', 'timeout_express 不合法 (1m … 15d)');
    return new Date(now.getTime() + ms);
  }
  return new Date(now.getTime() + 15 * DAY_MS);
}

export interface HandoffRequest {
  method: PageMethod;
  biz: Record<string, unknown>;
  notifyUrl: string | null;
  returnUrl: string | null;
}

/** Every trade of every app, with the lookups the gateway, the cashier and the control API need. */
export class TradeBook {
  readonly trades: SimTrade[] = [];
  private readonly byKey = new Map<string, SimTrade>();
  private readonly byCashier = new Map<string, SimTrade>();
  private readonly byTradeNo = new Map<string, SimTrade>();
  private seq = 0;

  /**
   * A buyer's browser brought a signed hand-off (§9 step 4): a new trade, or the same cashier again for the same
   * content; a paid, closed or different trade under that number is an error page (§5.5).
   */
  handoff(app: SimApp, request: HandoffRequest, now: Date): SimTrade | BizError {
    const fields = readHandoff(request.method, request.biz, now);
    if ('subCode' in fields) return fields;
    const known = this.byKey.get(key(app.appId, fields.outTradeNo));
    if (known) {
      if (known.status === 'TRADE_SUCCESS' || known.status === 'TRADE_FINISHED') return bizError('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
      if (known.status === 'TRADE_CLOSED') return bizError('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
      if (known.fen !== fields.fen || known.subject !== fields.subject) {
        return bizError('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改 (same out_trade_no, different amount or subject)');
      }
      return known;
    }
    const trade: SimTrade = {
      seq: ++this.seq,
      cashierId: randomHex(12),
      app,
      method: request.method,
      productCode: fields.productCode,
      outTradeNo: fields.outTradeNo,
      tradeNo: this.mintTradeNo(now),
      subject: fields.subject,
      body: fields.body,
      fen: fields.fen,
      notifyUrl: request.notifyUrl,
      returnUrl: request.returnUrl,
      quitUrl: fields.quitUrl,
      passbackParams: fields.passbackParams,
      expiresAt: fields.expiresAt,
      handedOffAt: now,
      createdAt: null,
      status: 'WAIT_BUYER_PAY',
      buyer: null,
      paidAt: null,
      closedAt: null,
      refunds: [],
      refundedFen: 0,
    };
    this.trades.push(trade);
    this.byKey.set(key(app.appId, trade.outTradeNo), trade);
    this.byCashier.set(trade.cashierId, trade);
    this.byTradeNo.set(trade.tradeNo, trade);
    return trade;
  }

  /** Puts back trades from saved books; trade_no and cashier ids stay taken, seq continues after them. */
  restore(trades: readonly SimTrade[], seq: number): void {
    for (const trade of trades) {
      this.trades.push(trade);
      this.byKey.set(key(trade.app.appId, trade.outTradeNo), trade);
      this.byCashier.set(trade.cashierId, trade);
      this.byTradeNo.set(trade.tradeNo, trade);
    }
    this.seq = Math.max(this.seq, seq, ...trades.map((t) => t.seq));
  }

  get lastSeq(): number {
    return this.seq;
  }

  byCashierId(id: string): SimTrade | undefined {
    return this.byCashier.get(id);
  }

  /** The trade an API call names (trade_no wins over out_trade_no, §5.1), if it exists for query/close yet. */
  existing(app: SimApp, ref: { tradeNo?: string; outTradeNo?: string }): SimTrade | undefined {
    const trade = ref.tradeNo ? this.byTradeNo.get(ref.tradeNo) : ref.outTradeNo ? this.byKey.get(key(app.appId, ref.outTradeNo)) : undefined;
    return trade && trade.app === app && trade.createdAt ? trade : undefined;
  }

  /** For the control API: the latest trade with this out_trade_no (of the given app, when named). */
  byOrderNo(outTradeNo: string, appId?: string): SimTrade | undefined {
    for (let i = this.trades.length - 1; i >= 0; i--) {
      const t = this.trades[i]!;
      if (t.outTradeNo === outTradeNo && (!appId || t.app.appId === appId)) return t;
    }
    return undefined;
  }

  private mintTradeNo(now: Date): string {
    // 28 digits like the examples: yyyyMMdd + 22001 + 15 digits (§3.2).
    let no: string;
    do no = `${beijingDay(now)}22001${randomDigits(15)}`;
    while (this.byTradeNo.has(no));
    return no;
  }
}

const key = (appId: string, outTradeNo: string) => `${appId}\u0000${outTradeNo}`;

/** The buyer reached the cashier (or paid): from now on query/close see the trade (§3.4). */
export function ensureCreated(trade: SimTrade, now: Date): void {
  trade.createdAt ??= now;
}

export function markPaid(trade: SimTrade, logon: string, now: Date): void {
  ensureCreated(trade, now);
  trade.status = 'TRADE_SUCCESS';
  trade.buyer = { id: buyerIdFor(logon), logon, masked: maskLogon(logon) };
  trade.paidAt = now;
}

export function markClosed(trade: SimTrade, now: Date): void {
  trade.status = 'TRADE_CLOSED';
  trade.closedAt = now;
}

/** Unpaid and past its expiry: what the buyer and the API see is a closed trade. */
export const isExpired = (trade: SimTrade, now: Date): boolean =>
  trade.status === 'WAIT_BUYER_PAY' && trade.expiresAt.getTime() <= now.getTime();
