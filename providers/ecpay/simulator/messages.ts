import { taipeiDateTime } from '../time.ts';
import type { SimOrder } from './store.ts';

/** The field sets ECPay sends (§5.2, §5.3, §7, §8.2), unsigned; the notifier sorts and signs them. */

export const RTN_MSG_FIRST = '交易成功';
/** §5.1: re-sends of a success say `paid` (CONFIRMED: T3, T4). */
export const RTN_MSG_RESEND = 'paid';
export const RTN_MSG_SIMULATED = '付款成功';
/** §6: the browser POST to OrderResultURL. */
export const RTN_MSG_ORDER_RESULT = 'Succeeded';
export const RTN_MSG_ATM_ISSUED = 'Get VirtualAccount Succeeded';

/**
 * Failure codes are UNVERIFIED (§12: 10100058 and others were seen as failures, meanings unknown):
 * one for a declined card, one for an account ECPay could not issue.
 */
export const CARD_DECLINED_RTNCODE_UNVERIFIED = '10100058';
export const CARD_DECLINED_RTNMSG = '交易失敗 (card declined)';
export const ATM_NOT_ISSUED_RTNCODE_UNVERIFIED = '10100050';
export const ATM_NOT_ISSUED_RTNMSG = 'Get VirtualAccount Failed';

/** §1.3: what stage reports for its test card. */
export const STAGE_CARD = { number: '4311952222222222', card6: '431195', card4: '2222', authCode: '777777', eci: '0' } as const;

/** §5.3: the 30 NeedExtraPaidInfo fields, in their own (partly lower-case) spelling. */
export const EXTRA_FIELDS = [
  'AlipayID', 'AlipayTradeNo', 'amount', 'ATMAccBank', 'ATMAccNo', 'auth_code', 'card4no', 'card6no', 'eci', 'ExecTimes',
  'Frequency', 'gwsr', 'PayFrom', 'PaymentNo', 'PeriodAmount', 'PeriodType', 'process_date', 'red_dan', 'red_de_amt', 'red_ok_amt',
  'red_yet', 'staed', 'stage', 'stast', 'TenpayTradeNo', 'TotalSuccessAmount', 'TotalSuccessTimes', 'WebATMAccBank', 'WebATMAccNo', 'WebATMBankName',
] as const;

const time = (d: Date | null) => (d ? taipeiDateTime(d) : '');

function customFields(order: SimOrder): Record<string, string> {
  const [a, b, c, d] = order.customFields;
  return { CustomField1: a, CustomField2: b, CustomField3: c, CustomField4: d };
}

/** §5.3 values: the card's for a card, the payer's bank (UNVERIFIED detail) for an ATM transfer, empty otherwise. */
export function extraFields(order: SimOrder): Record<string, string> {
  const fields: Record<string, string> = Object.fromEntries(EXTRA_FIELDS.map((name) => [name, '']));
  for (const name of ['red_dan', 'red_de_amt', 'red_ok_amt', 'red_yet', 'stage', 'stast', 'staed', 'ExecTimes', 'Frequency', 'PeriodAmount', 'TotalSuccessAmount', 'TotalSuccessTimes']) fields[name] = '0';
  if (order.card) {
    Object.assign(fields, {
      amount: String(order.totalAmount),
      auth_code: order.card.authCode,
      card4no: order.card.card4,
      card6no: order.card.card6,
      eci: STAGE_CARD.eci,
      gwsr: order.card.gwsr,
      process_date: time(order.paymentDate),
    });
  }
  if (order.atm && order.status === '1') Object.assign(fields, { ATMAccBank: '812', ATMAccNo: '12345' });
  return fields;
}

/** §5.2 (+ §5.3): the ReturnURL notice, or the OrderResultURL post, of the order as it stands. */
export function resultFields(order: SimOrder, rtn: { code: string; msg: string; simulated?: boolean }, now: Date = new Date()): Record<string, string> {
  const fields: Record<string, string> = {
    ...customFields(order),
    MerchantID: order.merchant.merchantId,
    MerchantTradeNo: order.merchantTradeNo,
    PaymentDate: time(order.paymentDate ?? (rtn.simulated ? now : null)),
    PaymentType: order.paymentType,
    PaymentTypeChargeFee: String(order.chargeFee),
    RtnCode: rtn.code,
    RtnMsg: rtn.msg,
    SimulatePaid: rtn.simulated ? '1' : '0',
    StoreID: order.storeId,
    TradeAmt: String(order.totalAmount),
    TradeDate: time(order.tradeDate),
    TradeNo: order.tradeNo,
  };
  // §5.3: simulated payments were always seen with the full 46-field set (LIKELY).
  return order.needExtraPaidInfo || rtn.simulated ? { ...fields, ...extraFields(order) } : fields;
}

/** §7: the PaymentInfoURL notice (and ClientRedirectURL post) of an ATM order: issued, or not. */
export function atmInfoFields(order: SimOrder, issued: boolean): Record<string, string> {
  return {
    ...customFields(order),
    BankCode: issued ? order.atm!.bankCode : '',
    ExpireDate: issued ? order.atm!.expireDate : '',
    MerchantID: order.merchant.merchantId,
    MerchantTradeNo: order.merchantTradeNo,
    PaymentType: order.paymentType,
    RtnCode: issued ? '2' : ATM_NOT_ISSUED_RTNCODE_UNVERIFIED,
    RtnMsg: issued ? RTN_MSG_ATM_ISSUED : ATM_NOT_ISSUED_RTNMSG,
    StoreID: order.storeId,
    TradeAmt: String(order.totalAmount),
    TradeDate: time(order.tradeDate),
    TradeNo: order.tradeNo,
    vAccount: issued ? order.atm!.vAccount : '',
  };
}

/**
 * §8.2 QueryTradeInfo. `simulatePaidMarksPaid` answers the UNVERIFIED question of §16 (does a
 * back-office 模擬付款 change TradeStatus?); by default it does not.
 */
export function queryFields(order: SimOrder, simulatePaidMarksPaid: boolean): Record<string, string> {
  const paid = order.status === '1' || (simulatePaidMarksPaid && order.simulatePaid);
  const fields: Record<string, string> = {
    ...customFields(order),
    HandlingCharge: String(order.chargeFee),
    ItemName: order.itemName,
    MerchantID: order.merchant.merchantId,
    MerchantTradeNo: order.merchantTradeNo,
    PaymentDate: paid ? time(order.paymentDate ?? new Date()) : '',
    PaymentType: order.paymentType,
    PaymentTypeChargeFee: String(order.chargeFee),
    StoreID: order.storeId,
    TradeAmt: String(order.totalAmount),
    TradeDate: time(order.tradeDate),
    TradeNo: order.tradeNo,
    TradeStatus: paid ? '1' : order.status,
  };
  return order.needExtraPaidInfo ? { ...fields, ...extraFields(order) } : fields;
}

/** §8.2: what an unknown order gets (its exact shape is UNVERIFIED). */
export function notFoundFields(merchantId: string, merchantTradeNo: string): Record<string, string> {
  return {
    CustomField1: '', CustomField2: '', CustomField3: '', CustomField4: '', HandlingCharge: '0', ItemName: '', MerchantID: merchantId,
    MerchantTradeNo: merchantTradeNo, PaymentDate: '', PaymentType: '', PaymentTypeChargeFee: '0', StoreID: '', TradeAmt: '0', TradeDate: '',
    TradeNo: '', TradeStatus: '10200047',
  };
}

/** Fields in ECPay's wire order: sorted by name ignoring case (§14), CheckMacValue added last by the signer. */
export function sortedFields(fields: Record<string, string>): Record<string, string> {
  const names = Object.keys(fields).sort((a, b) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return Object.fromEntries(names.map((n) => [n, fields[n]!]));
}

/** §8.2: `name=value&…` with raw values, CheckMacValue last. */
export function rawBody(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
