import test from 'ava';
import fc from 'fast-check';
import { beijingTime, cleanSubject, fromTotalAmount, notifyFacts, outcomeOf, parseBeijingTime, toTotalAmount, withoutEmpty } from '../../../providers/alipay/codec.ts';

test('every minor-unit amount in range maps to the string Alipay expects and back', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000_000_000 }), (minor) => {
      const text = toTotalAmount(minor, 'CNY');
      if (!/^\d+\.\d{2}$/.test(text)) throw new Error(`bad format ${text}`);
      if (fromTotalAmount(text, 'CNY') !== minor) throw new Error(`round trip of ${minor} gave ${text}`);
    }),
    { numRuns: 2000 },
  );
  t.is(toTotalAmount(1, 'CNY'), '0.01');
  t.is(toTotalAmount(8888, 'CNY'), '88.88');
  t.is(toTotalAmount(10_000_000_000, 'CNY'), '100000000.00');
  t.throws(() => toTotalAmount(0, 'CNY'));
  t.throws(() => toTotalAmount(10_000_000_001, 'CNY'));
  t.throws(() => toTotalAmount(1.5, 'CNY'));
});

test('amount strings from Alipay are read by their digits, never through a float', (t) => {
  t.is(fromTotalAmount('0.10', 'CNY'), 10);
  t.is(fromTotalAmount('0.1', 'CNY'), 10);
  t.is(fromTotalAmount('88', 'CNY'), 8800);
  for (const bad of ['88.888', '-1.00', '1e3', ' 1.00', '', '1,00', '0x10']) t.true(Number.isNaN(fromTotalAmount(bad, 'CNY')), bad);
  t.true(Number.isNaN(fromTotalAmount(undefined, 'CNY')));
});

test('Beijing time regardless of the process time zone', (t) => {
  const instant = new Date('2026-11-22T17:30:05Z');
  t.is(beijingTime(instant), '2026-11-23 01:30:05');
  t.deepEqual(parseBeijingTime('2026-11-23 01:30:05'), instant);
  t.is(parseBeijingTime('2026/11/23 01:30:05'), null);
});

test('subjects lose / = & and fit 256 characters', (t) => {
  t.is(cleanSubject('A/B=C&D'), 'A B C D');
  t.is([...cleanSubject('龍'.repeat(300))].length, 256);
  t.is(cleanSubject('  '), 'order');
});

test('trade_status maps to outcomes; TRADE_CLOSED after a full refund is refunded', (t) => {
  t.is(outcomeOf('WAIT_BUYER_PAY', 100, 0), 'pending');
  t.is(outcomeOf('TRADE_SUCCESS', 100, 0), 'paid');
  t.is(outcomeOf('TRADE_FINISHED', 100, 0), 'paid');
  t.is(outcomeOf('TRADE_CLOSED', 100, 0), 'closed');
  t.is(outcomeOf('TRADE_CLOSED', 100, 100), 'refunded');
  t.is(outcomeOf('TRADE_CLOSED', 100, 40), 'closed');
  t.is(outcomeOf('SOMETHING', 100, 0), null);
  t.like(notifyFacts({ out_trade_no: 'A', total_amount: '1.00', trade_status: 'TRADE_SUCCESS', trade_no: 'T', gmt_payment: '2026-11-23 01:30:05' }, 'CNY'), {
    orderNo: 'A',
    outcome: 'paid',
    amount: 100,
    providerTradeNo: 'T',
  });
  t.deepEqual(notifyFacts({ out_trade_no: 'A', total_amount: '1.001', trade_status: 'TRADE_SUCCESS' }, 'CNY'), { error: 'total_amount is not an amount' });
  t.deepEqual(withoutEmpty({ a: '1', b: '', c: '0' }), { a: '1', c: '0' });
});
