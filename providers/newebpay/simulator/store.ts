import { randomInt } from 'node:crypto';
import { randomString } from '../../../core/ids.ts';
import { formatWallClock, TAIPEI } from '../../kit/index.ts';
import type { NewebpayKeys } from '../crypto.ts';

/** The simulator's shops and trades (§10 "State per trade"). Keys live here only: never in a page, an answer or a log line. */

export interface SimMerchant extends NewebpayKeys {
  merchantId: string;
  /** §7.3: 自動請款: a card authorised is queued for capture at once (CloseStatus 1). */
  autoCapture: boolean;
}

/** §6 TradeStatus. */
export type SimTradeStatus = '0' | '1' | '2' | '3' | '6';

export interface SimCard {
  auth: string;
  card6: string;
  card4: string;
  /** §6 CloseStatus and BackStatus, 0-3. */
  closeStatus: '0' | '1' | '2' | '3';
  closeAmt: number;
  backStatus: '0' | '1' | '2' | '3';
  /** What can still be refunded: Amt before any capture, then what is captured less refunds. */
  backBalance: number;
  /** A refund queued, applied to BackStatus 3 by the next batch. */
  refundQueued: number;
  /** §7.2 TRA20001: a void accepted, done by the next batch. */
  voidQueued: boolean;
}

/** A code issued to pay later: VACC, the bank's 3-digit code and the virtual account; CVS, the store code (no bank). */
export interface SimCode {
  bankCode: string | null;
  codeNo: string;
  /** BARCODE: the three barcodes (codeNo is then empty). */
  barcodes?: string[];
}

export interface SimTrade {
  /** Unguessable id of the buyer's pages, /MPG/pay/<payId>. */
  payId: string;
  merchant: SimMerchant;
  merchantOrderNo: string;
  tradeNo: string;
  amt: number;
  itemDesc: string;
  version: string;
  /** §5.1 PaymentType: CREDIT or VACC. */
  paymentType: 'CREDIT' | 'VACC' | 'CVS' | 'BARCODE';
  urls: { return: string; notify: string; customer: string; clientBack: string };
  tradeStatus: SimTradeStatus;
  createdAt: Date;
  payTime: Date | null;
  /** VACC and CVS: the last instant the code takes a payment (ExpireDate, 23:59:59 Taipei). */
  expireAt: Date | null;
  payCode: SimCode | null;
  card: SimCard | null;
  /** The last failure reported (a declined card, a code not issued). */
  failure: { code: string; message: string } | null;
}

export const digits = (count: number): string => Array.from({ length: count }, () => String(randomInt(10))).join('');

export class Book {
  readonly merchants = new Map<string, SimMerchant>();
  readonly trades: SimTrade[] = [];
  private readonly byKey = new Map<string, SimTrade>();
  private readonly byPayId = new Map<string, SimTrade>();
  /** §4.2: a MerchantOrderNo once posted is spent for ever, per shop. */
  private readonly used = new Set<string>();
  private readonly tradeNos = new Set<string>();
  private readonly codes = new Set<string>();
  /** §6 TRA10071: unknown-order lookups per shop, their times (ms). */
  readonly misses = new Map<string, number[]>();
  /** §6 TRA10071: the shop's QueryTradeInfo is locked until then (ms). */
  readonly lockedUntil = new Map<string, number>();

  addMerchant(input: Partial<SimMerchant> = {}): SimMerchant {
    let merchantId = input.merchantId;
    // MS3 + 8 digits: an ordinary (not composite, MS5…) shop id, made up.
    while (!merchantId || (!input.merchantId && this.merchants.has(merchantId))) merchantId = `MS3${digits(8)}`;
    const merchant: SimMerchant = {
      merchantId,
      HashKey: input.HashKey ?? randomString(32),
      HashIV: input.HashIV ?? randomString(16),
      autoCapture: input.autoCapture ?? false,
    };
    this.merchants.set(merchantId, merchant);
    return merchant;
  }

  spent(merchantId: string, merchantOrderNo: string): boolean {
    return this.used.has(key(merchantId, merchantOrderNo));
  }

  add(trade: Omit<SimTrade, 'payId' | 'tradeNo'>): SimTrade {
    const full: SimTrade = { ...trade, payId: randomString(24).toLowerCase(), tradeNo: this.mintTradeNo(trade.createdAt) };
    this.trades.push(full);
    this.used.add(key(full.merchant.merchantId, full.merchantOrderNo));
    this.byKey.set(key(full.merchant.merchantId, full.merchantOrderNo), full);
    this.byPayId.set(full.payId, full);
    return full;
  }

  /** Puts back trades from saved books (their shops first); their numbers and codes stay taken. */
  restore(trades: readonly SimTrade[]): void {
    for (const trade of trades) {
      const k = key(trade.merchant.merchantId, trade.merchantOrderNo);
      if (this.byKey.has(k)) continue;
      this.trades.push(trade);
      this.used.add(k);
      this.byKey.set(k, trade);
      this.byPayId.set(trade.payId, trade);
      this.tradeNos.add(trade.tradeNo);
      if (trade.payCode) this.codes.add(trade.payCode.codeNo);
    }
  }

  /** §5.1: TradeNo is the Taipei yyMMddHHmmss of the trade plus 5 digits (17 digits). */
  private mintTradeNo(at: Date): string {
    const stamp = formatWallClock(at, TAIPEI, 'yyyyMMddHHmmss').slice(2);
    let no: string;
    do no = `${stamp}${digits(5)}`;
    while (this.tradeNos.has(no));
    this.tradeNos.add(no);
    return no;
  }

  /** A virtual account (14 digits) or a store code (TEST + 10 digits, §10) no trade in the books has. */
  mintCode(kind: 'VACC' | 'CVS' | 'BARCODE'): string {
    let no: string;
    do no = kind === 'VACC' ? `9${digits(13)}` : kind === 'CVS' ? `TEST${digits(10)}` : `TEST2${digits(11)}`;
    while (this.codes.has(no));
    this.codes.add(no);
    return no;
  }

  find(merchantId: string, merchantOrderNo: string): SimTrade | undefined {
    return this.byKey.get(key(merchantId, merchantOrderNo));
  }

  byPay(payId: string): SimTrade | undefined {
    return this.byPayId.get(payId);
  }

  /** For the control API: the trade with this MerchantOrderNo (of the given shop, when named), newest first. */
  byOrderNo(merchantOrderNo: string, merchantId?: string): SimTrade | undefined {
    if (merchantId) return this.find(merchantId, merchantOrderNo);
    for (let i = this.trades.length - 1; i >= 0; i--) if (this.trades[i]!.merchantOrderNo === merchantOrderNo) return this.trades[i];
    return undefined;
  }
}

const key = (merchantId: string, merchantOrderNo: string) => `${merchantId}\u0000${merchantOrderNo}`;
