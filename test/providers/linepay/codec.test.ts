/** LINE Pay ⇄ paygate (providers/linepay/codec.ts): amounts, attempt order ids, products, returnCodes, Payment Details. */
import test from 'ava';
import { ValidationError } from '../../../core/errors.ts';
import type { OrderSnapshot } from '../../../core/payment-provider.ts';
import { attemptOrderId, checkState, classify, detailsFacts, orderNoOf, products, requestBody, toLinePayAmount } from '../../../providers/linepay/codec.ts';

function order(overrides: Partial<OrderSnapshot> = {}): OrderSnapshot {
  return {
    id: 'pay_x',
    orderNo: '26120300000000000001',
    subject: '凍頂烏龍茶',
    currency: 'TWD',
    amount: 79800,
    method: 'wallet',
    items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 39900, quantity: 2, amount: 79800 }],
    providerTradeNo: null,
    status: 'pending',
    attempt: 1,
    createdAt: new Date('2026-12-03T00:00:00Z'),
    expiresAt: new Date('2026-12-04T00:00:00Z'),
    returnUrl: null,
    ...overrides,
  };
}

test('amounts: cents to whole dollars; cents LINE Pay cannot take are the caller\'s 400, never rounded', (t) => {
  t.is(toLinePayAmount(79800), 798);
  t.is(toLinePayAmount(100), 1);
  for (const bad of [79850, 1, 0, -100, 1.5]) t.throws(() => toLinePayAmount(bad), { instanceOf: ValidationError, message: /whole Taiwan dollars/ });
});

test('each attempt gets its own orderId, and the order number comes back out of it', (t) => {
  const a = attemptOrderId('26120300000000000001');
  const b = attemptOrderId('26120300000000000001');
  t.not(a, b);
  t.regex(a, /^26120300000000000001-[0-9a-f]{6}$/);
  t.is(orderNoOf(a), '26120300000000000001');
  t.is(orderNoOf('26120300000000000001'), null);
  t.is(orderNoOf('PG-20240501-0001'), null);
});

test('products: the order lines when they are whole dollars adding up to the amount, else one line named after the subject', (t) => {
  t.deepEqual(products(order()), [{ name: '凍頂烏龍茶 300g', quantity: 2, price: 399 }]);
  t.deepEqual(products(order({ amount: 80000 })), [{ name: '凍頂烏龍茶', quantity: 1, price: 800 }], 'lines that do not add up (a shipping fee)');
  t.deepEqual(products(order({ amount: 1000, items: [{ sku: 'A', name: 'x', unitAmount: 350, quantity: 2, amount: 700 }, { sku: 'B', name: 'y', unitAmount: 300, quantity: 1, amount: 300 }] })), [{ name: '凍頂烏龍茶', quantity: 1, price: 10 }], 'cents in a line');
  const body = requestBody(order(), 'ORD-1', { confirmUrl: 'https://gw/c', cancelUrl: 'https://gw/c?cancelled=1' }, true) as { amount: number; packages: { amount: number; products: { price: number; quantity: number }[] }[] };
  t.is(body.amount, 798);
  t.is(body.packages[0]!.amount, body.packages[0]!.products.reduce((s, p) => s + p.price * p.quantity, 0));
  t.false('options' in body, 'capture is LINE Pay\'s default');
  t.deepEqual((requestBody(order(), 'ORD-1', { confirmUrl: 'a', cancelUrl: 'b' }, false) as { options: unknown }).options, { payment: { capture: false } });
});

test('returnCodes: declines, waiting, lapsed, "done already", credentials, our own mistakes, and unknowns as "ask again"', (t) => {
  t.is(classify('0000', 'confirm'), 'ok');
  for (const code of ['1101', '1102', '1110', '1141', '1142', '1170', '1179', '1281', '1283', '1298']) t.is(classify(code, 'confirm'), 'decline', code);
  t.is(classify('1280', 'confirm'), 'retry', 'a temporary card error');
  t.is(classify('1169', 'confirm'), 'pending');
  t.is(classify('1180', 'confirm'), 'expired');
  for (const code of ['1172', '1152', '1198']) t.is(classify(code, 'confirm'), 'done', code);
  t.is(classify('1172', 'request'), 'config', 'a duplicate orderId at Request is our bug, not "done"');
  for (const code of ['1104', '1105', '1106']) t.is(classify(code, 'request'), 'credentials', code);
  for (const code of ['1153', '1124', '2101', '2102', '1178']) t.is(classify(code, 'confirm'), 'config', code);
  for (const code of ['9000', '1199', '1900', '4242']) t.is(classify(code, 'refund'), 'retry', code);
  t.is(classify('1198', 'refund'), 'retry');
  t.is(classify('1164', 'refund'), 'config');
});

test('Check Payment Status: reserved, approved (confirm now), lapsed, failed, completed, unknown', (t) => {
  t.deepEqual(['0000', '0110', '0121', '0122', '0123', '1150', '1159', '0199'].map(checkState), ['reserved', 'approved', 'lapsed', 'failed', 'completed', 'unknown', 'unknown', 'reserved']);
});

test('Payment Details: a captured payment, its refunds (negative in the answer) as a positive total, an authorisation, a voided one', (t) => {
  const row = { transactionId: '2026120300012345678', orderId: '26120300000000000001-a1b2c3', transactionDate: '2026-12-03T01:02:03Z', payStatus: 'CAPTURE', payInfo: [{ method: 'CREDIT_CARD', amount: 600 }, { method: 'POINT', amount: 198 }] };
  t.like(detailsFacts(row, order()), { outcome: 'paid', amount: 79800, providerTradeNo: '2026120300012345678', orderNo: '26120300000000000001' });
  t.deepEqual(detailsFacts(row, order())!.paidAt, new Date('2026-12-03T01:02:03Z'));
  const partly = { ...row, refundList: [{ refundTransactionId: '2026120300012345679', refundAmount: -100 }, { refundTransactionId: '2026120300012345680', refundAmount: -20 }] };
  t.like(detailsFacts(partly, order()), { outcome: 'paid', refundedAmount: 12000, providerRefundNo: '2026120300012345680' });
  const all = { ...row, refundList: [{ refundTransactionId: '2026120300012345679', refundAmount: -798 }] };
  t.like(detailsFacts(all, order()), { outcome: 'refunded', refundedAmount: 79800 });
  t.like(detailsFacts({ ...row, payStatus: 'AUTHORIZATION' }, order()), { outcome: 'pending', paidAt: null });
  t.like(detailsFacts({ ...row, payStatus: 'VOIDED_AUTHORIZATION' }, order()), { outcome: 'closed' });
  t.is(detailsFacts({ ...row, orderId: '26120300000000000002-a1b2c3' }, order()), null, 'another order\'s payment');
  t.is(detailsFacts({ ...row, payInfo: [{ amount: 1.5 }] }, order()), null, 'an amount that is not whole dollars');
});
