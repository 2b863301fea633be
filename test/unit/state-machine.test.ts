import test from 'ava';
import {
  ATTENTION_ON_PAID_FROM,
  ORDER_STATUSES,
  PAYABLE_STATUSES,
  TERMINAL_STATUSES,
  checkTransition,
  isOrderStatus,
  type OrderStatus,
} from '../../core/state-machine.ts';

/**
 * docs/architecture.md#the-state-machine written out again by hand, deliberately not derived from ALLOWED_TRANSITIONS: if either
 * this list or core's table changes alone, the test below fails.
 */
const DOCUMENTED_MOVES: ReadonlyArray<readonly [OrderStatus, OrderStatus]> = [
  // created → pending → paid | failed | cancelled | expired
  ['created', 'pending'],
  ['pending', 'paid'],
  ['pending', 'failed'],
  ['pending', 'cancelled'],
  ['pending', 'expired'],
  // failed → pending (pay again, seed 002's retry link); failed → paid (a late success wins)
  ['failed', 'pending'],
  ['failed', 'paid'],
  // paid → partially_refunded → refunded
  ['paid', 'partially_refunded'],
  ['partially_refunded', 'refunded'],
  // A verified success for a cancelled or expired order still becomes paid (with attention).
  ['cancelled', 'paid'],
  ['expired', 'paid'],
];

/**
 * Moves core allows on purpose beyond the letter of §4, each with the reason it must exist.
 * A new entry here needs the same kind of reason; it is not a place to make the test pass.
 */
const CORE_EXTRA_MOVES: ReadonlyArray<readonly [OrderStatus, OrderStatus, string]> = [
  ['created', 'paid', 'a verified payment for an order we crashed on before marking it pending: money moved'],
  ['created', 'failed', 'checkout: the provider declined or could not be reached at create()'],
  ['created', 'cancelled', 'the merchant cancels an order whose create() never answered'],
  ['created', 'expired', 'an order stuck in created (crash before pending) must still time out'],
  ['failed', 'cancelled', 'a failed order may still be paid again (PAYABLE), so the merchant may close it'],
  ['failed', 'expired', 'a failed order may still be paid again (PAYABLE), so it must time out'],
  ['paid', 'refunded', 'a full refund of a paid order, with no partial refund before it'],
];

const key = (from: OrderStatus, to: OrderStatus) => `${from} → ${to}`;
const ALLOWED = new Set([...DOCUMENTED_MOVES, ...CORE_EXTRA_MOVES].map(([from, to]) => key(from, to)));

test('the statuses are exactly the ones in docs/architecture.md#the-state-machine', (t) => {
  t.deepEqual(
    [...ORDER_STATUSES].sort(),
    ['cancelled', 'created', 'expired', 'failed', 'paid', 'partially_refunded', 'pending', 'refunded'],
  );
  t.is(ALLOWED.size, DOCUMENTED_MOVES.length + CORE_EXTRA_MOVES.length, 'the two lists overlap');
});

test('checkTransition over every ordered pair: noop when equal, apply exactly for the allowed moves, illegal otherwise', (t) => {
  let pairs = 0;
  for (const from of ORDER_STATUSES) {
    for (const to of ORDER_STATUSES) {
      pairs++;
      const expected = from === to ? 'noop' : ALLOWED.has(key(from, to)) ? 'apply' : 'illegal';
      t.is(checkTransition(from, to), expected, key(from, to));
    }
  }
  t.is(pairs, 64);
});

test('illegal examples spelled out', (t) => {
  const illegal: Array<[OrderStatus, OrderStatus]> = [
    ['paid', 'pending'], // a late "waiting" after "paid" must not undo the payment
    ['paid', 'failed'],
    ['paid', 'cancelled'],
    ['paid', 'expired'],
    ['paid', 'created'],
    ['pending', 'created'],
    ['pending', 'refunded'], // nothing to refund before money moved
    ['pending', 'partially_refunded'],
    ['cancelled', 'pending'],
    ['expired', 'pending'],
    ['cancelled', 'refunded'],
    ['partially_refunded', 'paid'],
    ['refunded', 'partially_refunded'],
  ];
  for (const [from, to] of illegal) t.is(checkTransition(from, to), 'illegal', key(from, to));
});

test('refunded is terminal, and the only terminal status', (t) => {
  for (const to of ORDER_STATUSES) {
    t.is(checkTransition('refunded', to), to === 'refunded' ? 'noop' : 'illegal', key('refunded', to));
  }
  t.deepEqual([...TERMINAL_STATUSES], ['refunded']);
});

test('paid from cancelled or expired raises attention; payable states are pending and failed', (t) => {
  t.deepEqual([...ATTENTION_ON_PAID_FROM].sort(), ['cancelled', 'expired']);
  t.deepEqual([...PAYABLE_STATUSES].sort(), ['failed', 'pending']);
});

test('isOrderStatus', (t) => {
  for (const s of ORDER_STATUSES) t.true(isOrderStatus(s), s);
  for (const s of ['', 'PAID', 'paid ', 'refund', 'toString', 'constructor', '__proto__']) t.false(isOrderStatus(s), s);
});
