import { randomInt } from 'node:crypto';
import { randomString } from '../../../core/ids.ts';
import type { MacKeys } from '../crypto.ts';
import { taipeiDateTime } from '../time.ts';

/** The simulator's merchants and orders (§14 "Order model"). Keys live here only: never in a page, a reply or a log line. */

export interface SimMerchant extends MacKeys {
  merchantId: string;
  /** The card check code §9 asks for. */
  creditCheckCode: string;
}

/** §9 card states; 已取消 covers both "cancelled" and "abandoned" here. */
export type CardState = '已授權' | '要關帳' | '已關帳' | '已取消';

/** §8.2 TradeStatus. */
export type TradeStatus = '0' | '1' | '10200095';

export interface SimCard {
  gwsr: string;
  authCode: string;
  card6: string;
  card4: string;
  state: CardState;
  /** Whole TWD authorised, and queued for or already in settlement. */
  authorisedAmount: number;
  closedAmount: number;
  actions: { action: string; amount: number; at: Date }[];
}

export interface SimAtm {
  subPayment: string;
  bankCode: string;
  vAccount: string;
  /** `yyyy/MM/dd` Taipei: the last day the account takes transfers. */
  expireDate: string;
}

export interface SimOrder {
  /** Unguessable id of the buyer's pay page, /pay/<payId>. */
  payId: string;
  merchant: SimMerchant;
  merchantTradeNo: string;
  tradeNo: string;
  tradeDate: Date;
  totalAmount: number;
  itemName: string;
  tradeDesc: string;
  choosePayment: 'Credit' | 'ATM';
  chooseSubPayment: string;
  /** §3.5 as reported back, e.g. Credit_CreditCard, ATM_CHINATRUST; '' until known. */
  paymentType: string;
  status: TradeStatus;
  paymentDate: Date | null;
  /** A back-office 模擬付款 was sent for this order. */
  simulatePaid: boolean;
  needExtraPaidInfo: boolean;
  customFields: [string, string, string, string];
  storeId: string;
  urls: { return: string; orderResult: string; clientBack: string; paymentInfo: string; clientRedirect: string };
  expireDays: number;
  atm: SimAtm | null;
  card: SimCard | null;
  /** The last failure reported (card decline, account not issued). */
  failure: { code: string; message: string } | null;
  chargeFee: number;
}

/** §3.4 ATM sub-payments and their bank codes; 822, 005 and 118 were seen in real notices (§7), the rest are the banks' public codes. */
export const ATM_BANKS: Readonly<Record<string, { code: string; name: string }>> = Object.freeze({
  CHINATRUST: { code: '822', name: '中國信託 CTBC' },
  TAISHIN: { code: '812', name: '台新銀行 Taishin' },
  ESUN: { code: '808', name: '玉山銀行 E.SUN' },
  BOT: { code: '004', name: '臺灣銀行 Bank of Taiwan' },
  FUBON: { code: '012', name: '台北富邦 Taipei Fubon' },
  FIRST: { code: '007', name: '第一銀行 First Bank' },
  LAND: { code: '005', name: '土地銀行 Land Bank' },
  CATHAY: { code: '013', name: '國泰世華 Cathay United' },
  PANHSIN: { code: '118', name: '板信銀行 Bank of Panhsin' },
});
export const DEFAULT_ATM_BANK = 'CHINATRUST';

export const digits = (count: number): string => Array.from({ length: count }, () => String(randomInt(10))).join('');

export class Book {
  readonly merchants = new Map<string, SimMerchant>();
  readonly orders: SimOrder[] = [];
  private readonly byKey = new Map<string, SimOrder>();
  private readonly byPayId = new Map<string, SimOrder>();
  private readonly tradeNos = new Set<string>();
  /** Card gwsr and ATM vAccount numbers handed out (of orders in the books): never handed out again. */
  private readonly issued = new Set<string>();

  addMerchant(input: Partial<SimMerchant> = {}): SimMerchant {
    let merchantId = input.merchantId;
    // Random 7-digit ids starting with 9 stay clear of ECPay's public stage merchants (3002607, 2000132…).
    while (!merchantId || (!input.merchantId && this.merchants.has(merchantId))) merchantId = `9${digits(6)}`;
    const merchant: SimMerchant = {
      merchantId,
      HashKey: input.HashKey ?? randomString(16),
      HashIV: input.HashIV ?? randomString(16),
      creditCheckCode: input.creditCheckCode ?? digits(8),
    };
    this.merchants.set(merchantId, merchant);
    return merchant;
  }

  seen(merchantId: string, merchantTradeNo: string): boolean {
    return this.byKey.has(key(merchantId, merchantTradeNo));
  }

  add(order: Omit<SimOrder, 'payId' | 'tradeNo'>): SimOrder {
    const full: SimOrder = { ...order, payId: randomString(24).toLowerCase(), tradeNo: this.mintTradeNo(order.tradeDate) };
    this.orders.push(full);
    this.byKey.set(key(full.merchant.merchantId, full.merchantTradeNo), full);
    this.byPayId.set(full.payId, full);
    return full;
  }

  /** Puts back orders from saved books (their merchants first); their TradeNo stay taken. */
  restore(orders: readonly SimOrder[]): void {
    for (const order of orders) {
      this.orders.push(order);
      this.byKey.set(key(order.merchant.merchantId, order.merchantTradeNo), order);
      this.byPayId.set(order.payId, order);
      this.tradeNos.add(order.tradeNo);
      if (order.card) this.issued.add(`gwsr:${order.card.gwsr}`);
      if (order.atm) this.issued.add(`atm:${order.atm.vAccount}`);
    }
  }

  /** A card's gwsr (9 digits) no order in the books has. */
  mintGwsr(): string {
    return this.mintIssued('gwsr', () => digits(9));
  }

  /** An ATM virtual account (99 + 14 digits) no order in the books has. */
  mintVAccount(): string {
    return this.mintIssued('atm', () => `99${digits(14)}`);
  }

  private mintIssued(kind: string, make: () => string): string {
    let value: string;
    do value = make();
    while (this.issued.has(`${kind}:${value}`));
    this.issued.add(`${kind}:${value}`);
    return value;
  }

  byPay(payId: string): SimOrder | undefined {
    return this.byPayId.get(payId);
  }

  find(merchantId: string, merchantTradeNo: string): SimOrder | undefined {
    return this.byKey.get(key(merchantId, merchantTradeNo));
  }

  /** For the control API: the order with this MerchantTradeNo (of the given merchant, when named). */
  byOrderNo(merchantTradeNo: string, merchantId?: string): SimOrder | undefined {
    if (merchantId) return this.find(merchantId, merchantTradeNo);
    for (let i = this.orders.length - 1; i >= 0; i--) if (this.orders[i]!.merchantTradeNo === merchantTradeNo) return this.orders[i];
    return undefined;
  }

  /** §5.2: TradeNo is the Taipei yyMMddHHmmss of the order's creation plus 4 digits (16 digits, observed). */
  private mintTradeNo(at: Date): string {
    const stamp = taipeiDateTime(at).replace(/\D/g, '').slice(2);
    let no: string;
    do no = `${stamp}${digits(4)}`;
    while (this.tradeNos.has(no));
    this.tradeNos.add(no);
    return no;
  }
}

const key = (merchantId: string, merchantTradeNo: string) => `${merchantId}\u0000${merchantTradeNo}`;
