import { taipeiDateTime } from '../time.ts';
import type { SimOrder } from './store.ts';

/** The simulator's view of an order for tests and scripts (GET /_control/orders); never holds a key. Times are Taipei. */
export interface OrderView {
  merchantId: string;
  merchantTradeNo: string;
  tradeNo: string;
  choosePayment: string;
  paymentType: string;
  totalAmount: number;
  itemName: string;
  tradeStatus: string;
  simulatePaid: boolean;
  tradeDate: string;
  paymentDate: string | null;
  failure: { code: string; message: string } | null;
  atm: { bankCode: string; vAccount: string; expireDate: string } | null;
  card: { gwsr: string; state: string; authorisedAmount: number; closedAmount: number; actions: { action: string; amount: number; at: string }[] } | null;
  urls: SimOrder['urls'];
  payUrl: string;
}

export function orderView(o: SimOrder, payUrl: string): OrderView {
  return {
    merchantId: o.merchant.merchantId,
    merchantTradeNo: o.merchantTradeNo,
    tradeNo: o.tradeNo,
    choosePayment: o.choosePayment,
    paymentType: o.paymentType,
    totalAmount: o.totalAmount,
    itemName: o.itemName,
    tradeStatus: o.status,
    simulatePaid: o.simulatePaid,
    tradeDate: taipeiDateTime(o.tradeDate),
    paymentDate: o.paymentDate ? taipeiDateTime(o.paymentDate) : null,
    failure: o.failure,
    atm: o.atm ? { bankCode: o.atm.bankCode, vAccount: o.atm.vAccount, expireDate: o.atm.expireDate } : null,
    card: o.card
      ? {
          gwsr: o.card.gwsr,
          state: o.card.state,
          authorisedAmount: o.card.authorisedAmount,
          closedAmount: o.card.closedAmount,
          actions: o.card.actions.map((a) => ({ action: a.action, amount: a.amount, at: taipeiDateTime(a.at) })),
        }
      : null,
    urls: { ...o.urls },
    payUrl,
  };
}
