import { randomUUID } from 'node:crypto';
import type { Bank, SimOrder, Shop } from './bank.ts';
import { Refusal, SUCCESS, invalid, nested, positiveInt, text, url, type Message } from './fields.ts';
import { endOfTaipeiDay } from './util.ts';

export interface CreateContext {
  bank: Bank;
  /** Absolute base of the simulator's hosted pages (options.baseUrl). */
  pageBaseUrl: string;
  onCreated(order: SimOrder): void;
}

const DEFAULT_EXP_MINUTES = 10; // official PHP sample comment (§7.1)

/** §7.1 OrderCreate. */
export function orderCreate(ctx: CreateContext, shop: Shop, msg: Message): Message {
  const orderNoSent = typeof msg.OrderNo === 'string' && msg.OrderNo ? { OrderNo: msg.OrderNo } : {};
  try {
    const input = readInput(msg);
    if (ctx.bank.order(shop.shopNo, input.orderNo)) throw new Refusal('E0201', '訂單編號重複');
    const now = new Date();
    const tsNo = ctx.bank.mintTsNo(shop.shopNo);
    const pageToken = randomUUID();
    const page = (name: string) => `${ctx.pageBaseUrl}/QPay.WebPaySite/Bridge/${name}?TD=${tsNo}&TK=${pageToken}`;
    const order = ctx.bank.insert({
      shopNo: shop.shopNo,
      orderNo: input.orderNo,
      tsNo,
      amount: input.amount,
      payType: input.payType,
      prdtName: input.prdtName,
      ...(input.memo !== undefined ? { memo: input.memo } : {}),
      params: input.params,
      returnUrl: input.returnUrl,
      backendUrl: input.backendUrl ?? null,
      createdAt: now,
      pageToken,
      deadline:
        input.payType === 'A' ? endOfTaipeiDay(input.expireDate!)! : new Date(now.getTime() + input.expMinutes * 60_000),
      ...(input.payType === 'A'
        ? {
            atm: {
              atmPayNo: ctx.bank.mintAtmPayNo(),
              expireDate: input.expireDate!,
              webAtmUrl: page('PayWebATM'),
              otpUrl: page('PayOTP'),
              payerAcctNo: null,
            },
          }
        : { card: { autoBilling: input.autoBilling, expMinutes: input.expMinutes, cardPayUrl: page('PayCard'), authCode: null } }),
      status: 'unpaid',
      approvedAt: null,
      paidAt: null,
      refunded: 0,
      refundedAt: null,
      attempts: [],
    });
    ctx.onCreated(order);
    // Field order as in the real response (V3); Param1..3 echoed only when sent.
    return {
      OrderNo: order.orderNo,
      ShopNo: order.shopNo,
      TSNo: order.tsNo,
      Amount: order.amount,
      Status: 'S',
      Description: SUCCESS,
      PayType: order.payType,
      ...order.params,
      ...(order.atm
        ? { ATMParam: { AtmPayNo: order.atm.atmPayNo, WebAtmURL: order.atm.webAtmUrl, OtpURL: order.atm.otpUrl } }
        : { CardParam: { CardPayURL: order.card!.cardPayUrl } }),
    };
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    return { ...orderNoSent, ShopNo: shop.shopNo, Status: 'F', Description: err.message };
  }
}

interface CreateInput {
  orderNo: string;
  amount: number;
  payType: 'A' | 'C';
  prdtName: string;
  memo?: string;
  params: SimOrder['params'];
  returnUrl: string;
  backendUrl?: string;
  expireDate?: string;
  autoBilling: 'Y' | 'N';
  expMinutes: number;
}

function readInput(msg: Message): CreateInput {
  const orderNo = text(msg, 'OrderNo', { required: true, max: 50 })!;
  const amount = positiveInt(msg, 'Amount', { required: true })!;
  text(msg, 'CurrencyID', { required: true, oneOf: ['TWD'] });
  const prdtName = text(msg, 'PrdtName', { required: true, maxBytes: 60 })!;
  const memo = text(msg, 'Memo', { max: 30 });
  const params: SimOrder['params'] = {};
  for (const key of ['Param1', 'Param2', 'Param3'] as const) {
    const value = text(msg, key, { max: 255 });
    if (value !== undefined) params[key] = value;
  }
  const returnUrl = url(msg, 'ReturnURL', true)!;
  const backendUrl = url(msg, 'BackendURL', false);
  const payType = text(msg, 'PayType', { required: true, oneOf: ['A', 'C'] }) as 'A' | 'C';
  const input: CreateInput = {
    orderNo,
    amount,
    payType,
    prdtName,
    params,
    returnUrl,
    autoBilling: 'Y',
    expMinutes: DEFAULT_EXP_MINUTES,
    ...(memo !== undefined ? { memo } : {}),
    ...(backendUrl !== undefined ? { backendUrl } : {}),
  };
  if (payType === 'A') {
    const atm = nested(msg, 'ATMParam', true);
    const expireDate = text(atm, 'ExpireDate', { required: true });
    const end = endOfTaipeiDay(expireDate ?? '');
    if (!end) throw invalid('ATMParam.ExpireDate', '必須是 yyyyMMdd');
    if (end.getTime() < Date.now()) throw invalid('ATMParam.ExpireDate', '已過期');
    input.expireDate = expireDate;
  } else {
    const card = nested(msg, 'CardParam', false);
    // AutoBilling absent → Y (UNVERIFIED default); ExpMinutes range 1-30 (S1, UNVERIFIED).
    input.autoBilling = (text(card, 'AutoBilling', { oneOf: ['Y', 'N'] }) ?? 'Y') as 'Y' | 'N';
    input.expMinutes = positiveInt(card, 'ExpMinutes', { max: 30 }) ?? DEFAULT_EXP_MINUTES;
  }
  return input;
}
