import test from 'ava';
import type { OrderSnapshot } from '../../../core/payment-provider.ts';
import {
  cleanText,
  compact,
  endOfTaipeiDay,
  orderCreateMessage,
  orderQueryFacts,
  parseTaipei,
  payQueryFacts,
  payStatusOutcome,
  taipeiDate,
  taipeiMinute,
} from '../../../providers/sinopac/codec.ts';
import { sinopacConfig } from '../../../providers/sinopac/config.ts';
import { signString } from '../../../providers/sinopac/crypto.ts';

const settings = sinopacConfig.parse({
  ShopNo: 'NA0000_001',
  A1: '0000000000000001',
  A2: '0000000000000002',
  B1: '0000000000000003',
  B2: '0000000000000004',
  KeyID: 'fake-key-id',
  baseUrl: 'http://127.0.0.1:9/api',
});

function order(overrides: Partial<OrderSnapshot> = {}): OrderSnapshot {
  return {
    id: 'pay_x',
    orderNo: '26112202000012345678',
    subject: 'T-shirt',
    currency: 'TWD',
    amount: 79900,
    method: 'atm',
    items: [{ sku: 'T', name: 'T-shirt', unitAmount: 39950, quantity: 2, amount: 79900 }],
    providerTradeNo: null,
    status: 'pending',
    attempt: 1,
    createdAt: new Date('2026-11-22T02:00:00Z'),
    expiresAt: new Date('2026-11-22T17:30:00Z'), // 01:30 on the 23rd in Taipei
    returnUrl: null,
    ...overrides,
  };
}

const urls = { returnUrl: 'https://pay.example/callbacks/sinopac/default/return', backendUrl: 'https://pay.example/callbacks/sinopac/default/notify' };

test('Taipei dates: UTC+8 on the wire, both ways', (t) => {
  const instant = new Date('2026-11-22T17:30:00Z');
  t.is(taipeiDate(instant), '20261123');
  t.is(taipeiMinute(instant), '202611230130');
  t.deepEqual(parseTaipei('202611230130'), instant);
  t.deepEqual(parseTaipei('20261123'), new Date('2026-11-22T16:00:00Z'));
  t.is(parseTaipei(''), undefined);
  t.is(parseTaipei('2026-11-23'), undefined);
  t.deepEqual(endOfTaipeiDay('20261123'), new Date('2026-11-23T15:59:59.999Z'));
});

test('text fields lose quotes and percent signs and fit 60 UTF-8 bytes without splitting a character', (t) => {
  t.is(cleanText(`Tom's "best" 100% tea`, 60), 'Toms best 100 tea');
  const long = '凍頂烏龍茶'.repeat(10); // 50 characters, 150 bytes
  const cut = cleanText(long, 60);
  t.is(cut, '凍頂烏龍茶'.repeat(4));
  t.is(Buffer.byteLength(cut), 60);
  t.is(cleanText('ab凍', 4), 'ab', 'a 3-byte character that does not fit is left out whole');
});

test('PrdtName is always there: a subject or item named "0", or nothing printable, falls back to the next name, then the order number', (t) => {
  const zero = order({ subject: '0', items: [{ sku: 'Z', name: '0', unitAmount: 79900, quantity: 1, amount: 79900 }] });
  t.is(orderCreateMessage(zero, settings, urls).PrdtName, zero.orderNo);
  const nextName = order({ subject: '0', items: [{ sku: 'Z', name: 'Tea', unitAmount: 79900, quantity: 1, amount: 79900 }] });
  t.is(orderCreateMessage(nextName, settings, urls).PrdtName, 'Tea');
  const unprintable = order({ subject: '\u0007\u200b%"\'', items: [{ sku: 'Z', name: '  \t ', unitAmount: 79900, quantity: 1, amount: 79900 }] });
  t.is(orderCreateMessage(unprintable, settings, urls).PrdtName, unprintable.orderNo);
  for (const subject of ['0', '00', ' 0 ', '%0%', '"', 'ok']) {
    const name = orderCreateMessage(order({ subject }), settings, urls).PrdtName;
    t.true(typeof name === 'string' && name !== '' && name !== '0', `${JSON.stringify(subject)} gives ${JSON.stringify(name)}`);
  }
});

test('empty and zero top-level fields are never sent', (t) => {
  t.deepEqual(compact({ a: 'x', b: '', c: 0, d: '0', e: null, f: undefined, g: 5 }), { a: 'x', g: 5 });
});

test('ATM OrderCreate: PayType A, ExpireDate is the Taipei date of the expiry, amount in 1/100 NTD', (t) => {
  const message = orderCreateMessage(order({ subject: `Mom's "gift" 50% off` }), settings, urls);
  t.deepEqual(message, {
    ShopNo: 'NA0000_001',
    OrderNo: '26112202000012345678',
    Amount: 79900,
    CurrencyID: 'TWD',
    PrdtName: 'Moms gift 50 off',
    ReturnURL: urls.returnUrl,
    BackendURL: urls.backendUrl,
    PayType: 'A',
    ATMParam: { ExpireDate: '20261123' },
  });
  t.false(signString(message).includes('ATMParam'));
});

test('card OrderCreate: PayType C with CardParam from the account settings', (t) => {
  const message = orderCreateMessage(order({ method: 'card', expiresAt: new Date(Date.now() + 86_400_000) }), settings, urls);
  t.is(message.PayType, 'C');
  t.deepEqual(message.CardParam, { AutoBilling: 'Y', ExpMinutes: 10 });
  const soon = orderCreateMessage(order({ method: 'card', expiresAt: new Date(Date.now() + 4 * 60_000 + 30_000) }), settings, urls);
  t.deepEqual(soon.CardParam, { AutoBilling: 'Y', ExpMinutes: 4 }, 'the card link never outlives the order');
  t.is(message.ATMParam, undefined);
});

test('OrderCreate refuses what the bank cannot take, naming the field', (t) => {
  t.like(t.throws(() => orderCreateMessage(order({ currency: 'CNY' }), settings, urls)), { details: [{ path: 'currency' }] });
  t.like(t.throws(() => orderCreateMessage(order({ amount: 3_000_100 }), settings, urls)), { details: [{ path: 'amount' }] });
  t.like(t.throws(() => orderCreateMessage(order({ method: 'wap' }), settings, urls)), { details: [{ path: 'method' }] });
  t.like(t.throws(() => orderCreateMessage(order(), settings, { ...urls, returnUrl: 'https://x.example/?q=100%' })), {
    details: [{ path: 'ReturnURL' }],
  });
});

test('OrderPayQuery facts: paid only when the transaction says S on a PayOut; the amount is a string', (t) => {
  const paid = payQueryFacts({
    Status: 'S',
    Date: '202110022135',
    TSResultContent: { APType: 'PayOut', TSNo: 'NA024900000479', OrderNo: 'A1', PayType: 'A', Amount: '9440300', Status: 'S', Description: '', PayDate: '202110022130' },
  });
  t.like(paid, { orderNo: 'A1', outcome: 'paid', amount: 9440300, currency: 'TWD', providerTradeNo: 'NA024900000479' });
  t.deepEqual(paid.paidAt, new Date('2021-10-02T13:30:00Z'));
  const failed = payQueryFacts({ Status: 'S', TSResultContent: { APType: 'PayOut', OrderNo: 'A2', Amount: '100', Status: 'F', Description: 'E0101 – 授權失敗' } });
  t.like(failed, { outcome: 'failed', code: 'E0101', message: '授權失敗', paidAt: null });
  t.true(Number.isNaN(payQueryFacts({ TSResultContent: { Amount: '12.5', Status: 'S', APType: 'PayOut' } }).amount));
});

test('PayStatus and refunds in OrderQuery rows', (t) => {
  t.is(payStatusOutcome('1A400'), 'paid');
  t.is(payStatusOutcome('1C300'), 'paid');
  t.is(payStatusOutcome('1A200'), 'pending');
  t.is(payStatusOutcome('1C250'), 'closed');
  t.like(orderQueryFacts({ OrderNo: 'A', TSNo: 'T', Amount: 79900, PayStatus: '1A400', PayDate: '202110012245', RefundFlag: 'N', RefundAmount: 0 }), {
    outcome: 'paid',
    amount: 79900,
  });
  t.is(orderQueryFacts({ OrderNo: 'A', Amount: 79900, PayStatus: '1C400', RefundFlag: 'Y', RefundAmount: 79900 }).outcome, 'refunded');
  t.is(orderQueryFacts({ OrderNo: 'A', Amount: 79900, PayStatus: '1C400', RefundFlag: 'Y', RefundAmount: 100 }).outcome, 'paid');
});
