import { AMOUNT_LIMITS, ITEM_NAME_MAX, MERCHANT_TRADE_NO, TRADE_DESC_MAX, URL_MAX } from '../codec.ts';
import { checkMacMatches } from '../crypto.ts';
import { parseTaipei } from '../time.ts';
import { ATM_BANKS, type Book, type SimOrder } from './store.ts';

/** POST /Cashier/AioCheckOut/V5 (§3, §14): the form is checked the way ECPay checks it, or an error page is due. */

export interface CheckoutError {
  code: string;
  message: string;
}

/** §3.6 / §12 codes ECPay is known to show. */
export const CODE_UNKNOWN_MERCHANT = '10200141';
export const CODE_BAD_MAC = '10200073';
export const CODE_DUPLICATE_NO = '10300028';
export const CODE_BAD_TRADE_NO = '10200052';
export const CODE_NO_METHOD = '10300023';

/**
 * Codes for other field errors are UNVERIFIED (§16: "error codes for missing/invalid individual
 * AioCheckOut fields"); the simulator uses distinct made-up ones so tests can tell them apart.
 */
export const FIELD_ERROR_CODES_UNVERIFIED: Readonly<Record<string, string>> = Object.freeze({
  MerchantTradeDate: '10200901',
  PaymentType: '10200902',
  TotalAmount: '10200903',
  TradeDesc: '10200904',
  ItemName: '10200905',
  ReturnURL: '10200906',
  EncryptType: '10200907',
  ExpireDate: '10200908',
  OrderResultURL: '10200909',
  ChooseSubPayment: '10200910',
  ClientBackURL: '10200916',
  PaymentInfoURL: '10200917',
  ClientRedirectURL: '10200918',
});

const fieldError = (field: string, message: string): CheckoutError => ({ code: FIELD_ERROR_CODES_UNVERIFIED[field] ?? '10200900', message: `${field} Error. ${message}` });

const ATM_DEFAULT_EXPIRE_DAYS = 3;
const URL_FIELDS = ['ReturnURL', 'OrderResultURL', 'ClientBackURL', 'PaymentInfoURL', 'ClientRedirectURL'] as const;

/** A new order, or why ECPay would refuse the form. */
export function acceptCheckout(book: Book, form: Record<string, string>, now: Date): SimOrder | CheckoutError {
  const merchant = book.merchants.get(form.MerchantID ?? '');
  if (!merchant) return { code: CODE_UNKNOWN_MERCHANT, message: 'MerchantID is not a merchant of this environment, or has no payment method enabled.' };
  if (!checkMacMatches(form, merchant)) return { code: CODE_BAD_MAC, message: 'CheckMacValue Error.' };

  const no = form.MerchantTradeNo ?? '';
  if (!MERCHANT_TRADE_NO.test(no)) return { code: CODE_BAD_TRADE_NO, message: 'MerchantTradeNo Error. (1-20 letters or digits)' };
  if (!parseTaipei(form.MerchantTradeDate) || !/ \d{2}:/.test(form.MerchantTradeDate ?? '')) return fieldError('MerchantTradeDate', 'yyyy/MM/dd HH:mm:ss');
  if (form.PaymentType !== 'aio') return fieldError('PaymentType', 'must be aio');
  if (form.EncryptType !== '1') return fieldError('EncryptType', 'must be 1');
  const method = form.ChoosePayment === 'Credit' ? 'card' : form.ChoosePayment === 'ATM' ? 'atm' : null;
  // ALL, CVS, BARCODE… exist at ECPay; this simulator only offers what the adapter sends.
  if (!method) return { code: CODE_NO_METHOD, message: `No payment method available for ChoosePayment ${form.ChoosePayment ?? ''} in this simulator (Credit, ATM).` };
  if (!/^[1-9][0-9]{0,8}$/.test(form.TotalAmount ?? '')) return fieldError('TotalAmount', 'a whole number of NT$, no decimals');
  const amount = Number(form.TotalAmount);
  const limits = AMOUNT_LIMITS[method];
  if (amount < limits.min || amount > limits.max) return fieldError('TotalAmount', `NT$${limits.min} to NT$${limits.max} for ${form.ChoosePayment}`);
  if (!form.TradeDesc || form.TradeDesc.length > TRADE_DESC_MAX) return fieldError('TradeDesc', `1-${TRADE_DESC_MAX} characters`);
  if (!form.ItemName) return fieldError('ItemName', 'required');
  if (!form.ReturnURL) return fieldError('ReturnURL', 'required');
  for (const name of URL_FIELDS) {
    const value = form[name];
    if (value && (value.length > URL_MAX || !/^https?:\/\//.test(value))) return fieldError(name, `an http(s) URL of at most ${URL_MAX} characters`);
  }
  if (form.OrderResultURL && form.OrderResultURL === form.ReturnURL) return fieldError('OrderResultURL', 'must differ from ReturnURL');
  let expireDays = ATM_DEFAULT_EXPIRE_DAYS;
  if (method === 'atm' && form.ExpireDate !== undefined && form.ExpireDate !== '') {
    if (!/^\d{1,2}$/.test(form.ExpireDate) || Number(form.ExpireDate) < 1 || Number(form.ExpireDate) > 60) return fieldError('ExpireDate', '1-60 days');
    expireDays = Number(form.ExpireDate);
  }
  const sub = form.ChooseSubPayment ?? '';
  if (method === 'atm' && sub && !ATM_BANKS[sub]) return fieldError('ChooseSubPayment', `unknown ATM bank ${sub}`);
  // §11.2: a number once posted is spent, paid or not.
  if (book.seen(merchant.merchantId, no)) return { code: CODE_DUPLICATE_NO, message: '訂單編號重覆，建立失敗 (MerchantTradeNo was already used)' };

  return book.add({
    merchant,
    merchantTradeNo: no,
    tradeDate: now,
    totalAmount: amount,
    // §3.2: ECPay cuts ItemName beyond 400 characters rather than refusing it.
    itemName: form.ItemName.slice(0, ITEM_NAME_MAX),
    tradeDesc: form.TradeDesc,
    choosePayment: method === 'card' ? 'Credit' : 'ATM',
    chooseSubPayment: sub,
    paymentType: method === 'card' ? 'Credit_CreditCard' : '',
    status: '0',
    paymentDate: null,
    simulatePaid: false,
    needExtraPaidInfo: form.NeedExtraPaidInfo === 'Y',
    customFields: [form.CustomField1 ?? '', form.CustomField2 ?? '', form.CustomField3 ?? '', form.CustomField4 ?? ''],
    storeId: form.StoreID ?? '',
    urls: {
      return: form.ReturnURL,
      orderResult: form.OrderResultURL ?? '',
      clientBack: form.ClientBackURL ?? '',
      paymentInfo: form.PaymentInfoURL ?? '',
      clientRedirect: form.ClientRedirectURL ?? '',
    },
    expireDays,
    atm: null,
    card: null,
    failure: null,
    chargeFee: 0,
  });
}
