import test from 'ava';
import { ValidationError } from '../../../core/errors.ts';
import { CURRENCY_EXPONENTS } from '../../../core/money.ts';
import { newOrderNo, ORDER_NO_LENGTH } from '../../../core/order-no.ts';
import type { OrderItemSnapshot, OrderSnapshot } from '../../../core/payment-provider.ts';
import { refundPlan } from '../../../providers/ecpay/card-actions.ts';
import {
  atmDeadline,
  atmExpireDays,
  callbackFacts,
  checkoutFields,
  cleanText,
  itemName,
  ITEM_NAME_MAX,
  MERCHANT_TRADE_NO,
  parseForm,
  parseRaw,
  queryFacts,
  totalAmount,
} from '../../../providers/ecpay/codec.ts';
import { checkMacMatches, withCheckMac } from '../../../providers/ecpay/crypto.ts';
import { endOfTaipeiDay, parseTaipei, taipeiDateTime } from '../../../providers/ecpay/time.ts';

const item = (name: string, unitAmount: number, quantity = 1): OrderItemSnapshot => ({ sku: 'SKU', name, unitAmount, quantity, amount: unitAmount * quantity });

function order(overrides: Partial<OrderSnapshot> = {}): OrderSnapshot {
  return {
    id: 'pay_x',
    orderNo: '26010112000000ABCD12',
    subject: '凍頂烏龍茶 300g +1',
    currency: 'TWD',
    amount: 120000,
    method: 'card',
    items: [item('凍頂烏龍茶 300g', 40000, 2), item('Gift box', 40000)],
    providerTradeNo: null,
    status: 'pending',
    attempt: 1,
    createdAt: new Date('2026-01-01T12:00:00Z'),
    expiresAt: new Date('2026-01-02T12:00:00Z'),
    returnUrl: null,
    ...overrides,
  };
}

const urls = { notifyUrl: 'https://pay.example/callbacks/ecpay/default/notify', returnUrl: 'https://pay.example/callbacks/ecpay/default/return' };

test('paygate keeps TWD in cents: NT$799 is 79900 here and 799 at ECPay; cents are refused on `amount`', (t) => {
  t.is(CURRENCY_EXPONENTS.TWD, 2);
  t.is(totalAmount({ amount: 79900, currency: 'TWD' }, 'card'), 799);
  const cents = t.throws(() => totalAmount({ amount: 79950, currency: 'TWD' }, 'card'), { instanceOf: ValidationError });
  t.is(cents.details[0]!.path, 'amount');
  t.is(cents.code, 'amount_not_representable');
  t.is(t.throws(() => totalAmount({ amount: 79900, currency: 'USD' }, 'card'), { instanceOf: ValidationError }).details[0]!.path, 'currency');
});

test('§11.1 per-method limits: card NT$5-199,999, ATM NT$11-49,999', (t) => {
  t.is(totalAmount({ amount: 500, currency: 'TWD' }, 'card'), 5);
  t.is(t.throws(() => totalAmount({ amount: 400, currency: 'TWD' }, 'card'), { instanceOf: ValidationError }).code, 'amount_out_of_range');
  t.is(totalAmount({ amount: 19_999_900, currency: 'TWD' }, 'card'), 199_999);
  t.throws(() => totalAmount({ amount: 20_000_000, currency: 'TWD' }, 'card'));
  t.throws(() => totalAmount({ amount: 1000, currency: 'TWD' }, 'atm'));
  t.is(totalAmount({ amount: 4_999_900, currency: 'TWD' }, 'atm'), 49_999);
  t.throws(() => totalAmount({ amount: 5_000_000, currency: 'TWD' }, 'atm'));
});

test('our order numbers are valid MerchantTradeNo: 20 letters and digits', (t) => {
  const no = newOrderNo(new Date());
  t.is(ORDER_NO_LENGTH, 20);
  t.is(no.length, 20);
  t.regex(no, MERCHANT_TRADE_NO);
  t.false(MERCHANT_TRADE_NO.test(`${no}X`));
  t.false(MERCHANT_TRADE_NO.test('2601011200_000ABCD12'));
  const err = t.throws(() => checkoutFields({ order: order({ orderNo: 'A'.repeat(21) }), merchantId: '3002607', urls, now: new Date() }), { instanceOf: ValidationError });
  t.is(err.details[0]!.path, 'orderNo');
});

test('card fields: Taipei MerchantTradeDate, whole TWD, items, OrderResultURL to the return endpoint, ReturnURL to notify', (t) => {
  const now = new Date('2026-01-01T16:30:05Z');
  const fields = checkoutFields({ order: order(), merchantId: '3002607', urls, now });
  t.deepEqual(fields, {
    MerchantID: '3002607',
    MerchantTradeNo: '26010112000000ABCD12',
    MerchantTradeDate: '2026/01/02 00:30:05',
    PaymentType: 'aio',
    TotalAmount: '1200',
    TradeDesc: '凍頂烏龍茶 300g +1',
    ItemName: '凍頂烏龍茶 300g x2#Gift box',
    ReturnURL: urls.notifyUrl,
    ChoosePayment: 'Credit',
    EncryptType: '1',
    NeedExtraPaidInfo: 'Y',
    OrderResultURL: urls.returnUrl,
  });
});

test('ATM fields: ExpireDate in days covering the order deadline, PaymentInfoURL to notify, ClientRedirectURL to return', (t) => {
  const now = new Date('2026-01-01T12:00:00Z'); // 20:00 Taipei
  const fields = checkoutFields({ order: order({ method: 'atm', expiresAt: new Date('2026-01-04T15:00:00Z') }), merchantId: '3002607', urls, now });
  t.is(fields.ChoosePayment, 'ATM');
  // Created Jan 1 20:00 Taipei, due Jan 4 23:00 Taipei: the account must stay open to the end of Jan 4.
  t.is(fields.ExpireDate, '3');
  t.is(fields.PaymentInfoURL, urls.notifyUrl);
  t.is(fields.ClientRedirectURL, urls.returnUrl);
  t.false('OrderResultURL' in fields, 'ignored for ATM (§3.2), so not sent');
});

test('ATM ExpireDate counts Taipei calendar days, 1 to 60', (t) => {
  const now = new Date('2026-01-01T15:30:00Z'); // 23:30 Taipei, Jan 1
  t.is(atmExpireDays(now, new Date('2026-01-01T15:50:00Z')), 1, 'same day: at least 1');
  t.is(atmExpireDays(now, new Date('2026-01-01T16:10:00Z')), 1, '00:10 Taipei the next day');
  t.is(atmExpireDays(now, new Date('2026-01-04T15:59:00Z')), 3);
  t.is(atmExpireDays(now, new Date('2026-06-01T00:00:00Z')), 60);
  // The account runs to the end of that Taipei day: 23:59:59.999 Taipei = 15:59:59.999Z.
  t.is(atmDeadline(now, 3).toISOString(), '2026-01-04T15:59:59.999Z');
});

test('ItemName: # & = and markup are kept out, lines stay within 400 characters with a count of the rest', (t) => {
  t.is(cleanText('Tea #1 & <b>"mug"</b> = ok\n', 100), 'Tea 1 b mug /b ok');
  t.is(itemName([item('A#B', 100, 3), item('C&D', 100)], 'x'), 'A B x3#C D');
  const many = Array.from({ length: 60 }, (_, i) => item(`Product number ${i} with a long name`, 100));
  const name = itemName(many, 'x');
  t.true(name.length <= ITEM_NAME_MAX, `${name.length}`);
  const shown = name.split('#');
  t.regex(shown.at(-1)!, /^…\+\d+$/);
  t.is(shown.length - 1 + Number(shown.at(-1)!.slice(2)), 60, 'every line is either shown or counted');
  const long = itemName([item('長'.repeat(500), 100), item('B'.repeat(10), 100), item('C', 100)], 'x');
  t.true(long.length <= ITEM_NAME_MAX);
  t.true(long.startsWith('長'.repeat(390)));
  t.true(long.endsWith('#…+2'), 'a first line too long is cut, and the rest still counted');
  // A character outside the BMP is never cut in half.
  const emoji = itemName([item('🍵'.repeat(300), 100)], 'x');
  t.true(emoji.length <= ITEM_NAME_MAX);
  t.notRegex(emoji, /[\uD800-\uDBFF]$/);
  t.is(itemName([], 'Fallback subject'), 'Fallback subject');
});

test('Taipei dates: parsed strictly, end of day at 23:59:59.999 Taipei', (t) => {
  t.is(parseTaipei('2024/12/17 18:22:54')!.toISOString(), '2024-12-17T10:22:54.000Z');
  t.is(parseTaipei('2022/02/12')!.toISOString(), '2022-02-11T16:00:00.000Z');
  t.is(parseTaipei('2022/02/30'), null);
  t.is(parseTaipei('2022-02-12'), null);
  t.is(parseTaipei('2022/02/12 24:00:00'), null);
  t.is(endOfTaipeiDay('2022/02/12')!.toISOString(), '2022-02-12T15:59:59.999Z');
  t.is(taipeiDateTime(new Date('2024-12-31T16:00:00Z')), '2025/01/01 00:00:00');
});

test('notice facts: paid, simulated, ATM issued (instructions + deadline), failed, store code', (t) => {
  const base = { MerchantID: '3002607', MerchantTradeNo: 'N1', TradeNo: '2412171822169397', TradeAmt: '1200', PaymentDate: '2024/12/17 18:22:54' };
  const paid = callbackFacts({ ...base, RtnCode: '1', SimulatePaid: '0' });
  t.like(paid, { orderNo: 'N1', outcome: 'paid', amount: 120000, currency: 'TWD', providerTradeNo: '2412171822169397' });
  t.false('simulated' in paid);
  t.is(('paidAt' in paid && paid.paidAt?.toISOString()) || null, '2024-12-17T10:22:54.000Z');
  t.like(callbackFacts({ ...base, RtnCode: '1', SimulatePaid: '1' }), { outcome: 'paid', simulated: true });

  const issued = callbackFacts({ ...base, RtnCode: '2', BankCode: '822', vAccount: '9900140673104366', ExpireDate: '2022/02/12' });
  t.deepEqual(issued, {
    orderNo: 'N1',
    amount: 120000,
    currency: 'TWD',
    providerTradeNo: '2412171822169397',
    outcome: 'pending',
    action: { type: 'instructions', atm: { bankCode: '822', account: '9900140673104366', amount: 120000, deadline: '2022-02-12T15:59:59.999Z' } },
    expiresAt: new Date('2022-02-12T15:59:59.999Z'),
  });
  t.true('error' in callbackFacts({ ...base, RtnCode: '2', BankCode: '822', vAccount: '', ExpireDate: '2022/02/12' }));
  t.like(callbackFacts({ ...base, RtnCode: '10100058', RtnMsg: '交易失敗' }), { outcome: 'failed', code: '10100058', message: '交易失敗' });
  t.like(callbackFacts({ ...base, RtnCode: '10100073' }), { outcome: 'pending' });
  t.true('error' in callbackFacts({ ...base, RtnCode: '1', TradeAmt: '12.5' }), 'TradeAmt is whole dollars');
  t.true('error' in callbackFacts({ ...base, RtnCode: '1', MerchantTradeNo: '' }));
  t.true('error' in callbackFacts({ ...base, RtnCode: 'OK' }));
});

test('QueryTradeInfo TradeStatus: 0 pending, 1 paid, 10200095 failed, 10200047 not found, anything else a fault', (t) => {
  const base = { MerchantTradeNo: 'N1', TradeAmt: '1200', TradeNo: 'T', PaymentDate: '2018/05/04 11:27:39' };
  t.like(queryFacts({ ...base, TradeStatus: '0' }, 'N1'), { outcome: 'pending', amount: 120000 });
  t.like(queryFacts({ ...base, TradeStatus: '1' }, 'N1'), { outcome: 'paid' });
  t.like(queryFacts({ ...base, TradeStatus: '10200095' }, 'N1'), { outcome: 'failed', code: '10200095' });
  t.is(queryFacts({ ...base, TradeStatus: '10200047' }, 'N1'), undefined);
  t.throws(() => queryFacts({ ...base, TradeStatus: '7' }, 'N1'));
});

test('a form body: decoded, empty values kept, a name sent twice refused', (t) => {
  t.deepEqual(parseForm('A=1&B=&C=a+b%26c'), { A: '1', B: '', C: 'a b&c' });
  t.is(parseForm('A=1&A=2'), null);
  // A field named like the prototype is kept as a field, so a MAC over the rest no longer matches.
  const odd = parseForm('A=1&__proto__=x')!;
  t.deepEqual(Object.keys(odd), ['A', '__proto__']);
  t.is(Object.getPrototypeOf(odd), Object.prototype);
  const keys = { HashKey: 'FakeHashKeyForTest', HashIV: 'FakeHashIVForTest' };
  const signed = withCheckMac({ MerchantID: '3002607', RtnCode: '1' }, keys);
  t.true(checkMacMatches(parseForm(new URLSearchParams(signed).toString())!, keys));
  t.false(checkMacMatches(parseForm(`${new URLSearchParams(signed).toString()}&__proto__=x`)!, keys));
  t.deepEqual(Object.keys(parseRaw('A=1&__proto__=x')!), ['A', '__proto__']);
});

test('§10.1 refund recipes from the card state', (t) => {
  const card = (status: string, amount: number, closedAmount: number) => ({ status, amount, closedAmount });
  t.deepEqual(refundPlan(card('已授權', 1200, 0), 1200), { steps: [{ action: 'N', amount: 1200 }] });
  t.deepEqual(refundPlan(card('已授權', 1200, 0), 500), { steps: [{ action: 'C', amount: 1200 }, { action: 'R', amount: 500 }] });
  t.deepEqual(refundPlan(card('要關帳', 1200, 1200), 500), { steps: [{ action: 'R', amount: 500 }] });
  t.deepEqual(refundPlan(card('要關帳', 1200, 700), 700), { steps: [{ action: 'E', amount: 700 }, { action: 'N', amount: 1200 }] });
  t.deepEqual(refundPlan(card('已關帳', 1200, 1200), 1200), { steps: [{ action: 'R', amount: 1200 }] });
  t.deepEqual(refundPlan(card('已關帳', 1200, 300), 300), { steps: [{ action: 'R', amount: 300 }] });
  t.like(refundPlan(card('已關帳', 1200, 300), 301), { refused: { code: 'refund_exceeds_payment' } });
  t.like(refundPlan(card('已授權', 1200, 0), 1201), { refused: { code: 'refund_exceeds_payment' } });
  t.like(refundPlan(card('已取消', 1200, 0), 1), { refused: { code: 'refund_exceeds_payment' } });
  t.like(refundPlan(card('error_nopay', 1200, 0), 1), { refused: { code: 'not_refundable' } });
});
