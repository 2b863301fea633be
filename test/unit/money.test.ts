import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { ValidationError } from '../../core/errors.ts';
import {
  CURRENCY_EXPONENTS,
  assertMinorUnits,
  money,
  multiplyMinor,
  parseDecimalString,
  sumMinor,
  toDecimalString,
  toWholeUnits,
} from '../../core/money.ts';

const CURRENCIES = Object.keys(CURRENCY_EXPONENTS);
const MAX = Number.MAX_SAFE_INTEGER;

/** Runs a fast-check property as one ava assertion, so a counterexample shows up in the failure. */
function holds(t: ExecutionContext, property: fc.IProperty<unknown[]> | fc.IAsyncProperty<unknown[]>): void {
  t.notThrows(() => fc.assert(property as fc.IProperty<unknown[]>, { numRuns: 500 }));
}

/** The ValidationError `fn` throws, checked to name `path` (and `code` when given). */
function refuses(t: ExecutionContext, fn: () => unknown, path: string, code = 'invalid_request'): void {
  const err = t.throws(fn, { instanceOf: ValidationError });
  t.is(err?.code, code);
  t.deepEqual(err?.details.map((d) => d.path), [path]);
}

test('pinned examples from the design', (t) => {
  t.is(toDecimalString(79900, 'TWD'), '799.00');
  t.is(toDecimalString(1, 'CNY'), '0.01');
  t.is(toDecimalString(500, 'JPY'), '500');
  t.is(toDecimalString(0, 'USD'), '0.00');
  t.is(toDecimalString(10, 'HKD'), '0.10');
  t.is(parseDecimalString('799.00', 'TWD'), 79900);
  t.is(parseDecimalString('0.01', 'CNY'), 1);
  t.is(parseDecimalString('500', 'JPY'), 500);
  t.is(toWholeUnits(79900, 'TWD'), 799);
  t.is(money(79900, 'TWD').amount, 79900);
});

test('toDecimalString / parseDecimalString round-trip for every currency (property)', (t) => {
  t.true(CURRENCIES.length >= 6, 'the currency table shrank');
  holds(
    t,
    fc.property(fc.constantFrom(...CURRENCIES), fc.maxSafeNat(), (currency, amount) => {
      const text = toDecimalString(amount, currency);
      const exponent = CURRENCY_EXPONENTS[currency]!;
      // Exactly `exponent` fraction digits, never an exponent or a sign.
      assert.match(text, exponent === 0 ? /^(0|[1-9][0-9]*)$/ : new RegExp(`^(0|[1-9][0-9]*)\\.[0-9]{${exponent}}$`));
      assert.equal(parseDecimalString(text, currency), amount);
    }),
  );
});

test('parseDecimalString accepts surplus zero fraction digits only', (t) => {
  t.is(parseDecimalString('799.000', 'TWD'), 79900);
  t.is(parseDecimalString('500.00', 'JPY'), 500);
  t.is(parseDecimalString('799.5', 'TWD'), 79950);
  t.is(parseDecimalString('799', 'TWD'), 79900);
  holds(
    t,
    fc.property(
      fc.constantFrom(...CURRENCIES),
      fc.nat({ max: 1e9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.nat({ max: 3 }),
      (currency, whole, digit, zeros) => {
        const exponent = CURRENCY_EXPONENTS[currency]!;
        // A non-zero digit past the currency's places, possibly followed by zeros.
        const text = `${whole}.${'0'.repeat(exponent)}${digit}${'0'.repeat(zeros)}`;
        assert.throws(() => parseDecimalString(text, currency), (err: unknown) => err instanceof ValidationError);
      },
    ),
  );
});

test('parseDecimalString refuses signs, exponents, spaces, empty and half numbers', (t) => {
  const bad = ['', ' ', '1.', '.5', '-1', '+1', '-0.01', '1e3', '1E3', '1.5e2', ' 1', '1 ', '1 000', '1,000', '1.0.0',
    '01', '00.10', 'NaN', 'Infinity', '0x10', '７９９', '799.00\n', '\t799'];
  for (const text of bad) {
    const err = t.throws(() => parseDecimalString(text, 'TWD'), { instanceOf: ValidationError }, JSON.stringify(text));
    t.deepEqual(err?.details.map((d) => d.path), ['amount'], JSON.stringify(text));
  }
  refuses(t, () => parseDecimalString('1.234', 'TWD', 'items.0.price'), 'items.0.price');
  // Beyond 2^53 the digits cannot be held exactly: refused, not rounded.
  refuses(t, () => parseDecimalString('90071992547409.92', 'TWD'), 'amount');
  refuses(t, () => parseDecimalString('9007199254740992', 'JPY'), 'amount');
  t.is(parseDecimalString('9007199254740991', 'JPY'), MAX);
});

test('toWholeUnits: whole TWD round-trips and any cents are refused (property)', (t) => {
  const maxWhole = Math.floor(MAX / 100);
  holds(
    t,
    fc.property(fc.nat({ max: maxWhole }), (x) => {
      assert.equal(toWholeUnits(x * 100, 'TWD'), x);
    }),
  );
  holds(
    t,
    fc.property(fc.nat({ max: maxWhole - 1 }), fc.integer({ min: 1, max: 99 }), (x, cents) => {
      assert.throws(
        () => toWholeUnits(x * 100 + cents, 'TWD'),
        (err: unknown) => err instanceof ValidationError && err.code === 'amount_not_representable' && err.details[0]?.path === 'amount',
      );
    }),
  );
  refuses(t, () => toWholeUnits(79950, 'TWD', 'TotalAmount'), 'TotalAmount', 'amount_not_representable');
  t.is(toWholeUnits(500, 'JPY'), 500);
});

test('assertMinorUnits refuses anything but a non-negative safe integer', (t) => {
  const bad: unknown[] = [0.5, 1.1, 799.99, -0.5, NaN, Infinity, -Infinity, -1, -MAX, MAX + 1, 2 ** 53, 2 ** 60, 1e21,
    '100', '', '0', 100n, 0n, null, undefined, true, {}, [], [1], new Number(5)];
  for (const value of bad) {
    refuses(t, () => assertMinorUnits(value), 'amount');
  }
  refuses(t, () => assertMinorUnits(1.5, 'items.2.unitAmount'), 'items.2.unitAmount');
  t.is(assertMinorUnits(0), 0);
  t.is(assertMinorUnits(MAX), MAX);
  holds(
    t,
    fc.property(fc.double({ noInteger: true }), (value) => {
      assert.throws(() => assertMinorUnits(value), ValidationError);
    }),
  );
  holds(
    t,
    fc.property(fc.maxSafeNat(), (value) => {
      assert.equal(assertMinorUnits(value), value);
    }),
  );
});

test('multiplyMinor and sumMinor refuse results beyond 2^53', (t) => {
  t.is(multiplyMinor(39950, 2), 79900);
  t.is(multiplyMinor(MAX, 1), MAX);
  t.is(multiplyMinor(0, MAX), 0);
  refuses(t, () => multiplyMinor(2 ** 27, 2 ** 26), 'amount'); // exactly 2^53
  refuses(t, () => multiplyMinor(MAX, 2, 'items.0'), 'items.0');
  refuses(t, () => multiplyMinor(1.5, 2), 'amount');
  refuses(t, () => multiplyMinor(2, -1), 'amount');

  t.is(sumMinor([]), 0);
  t.is(sumMinor([1, 2, 3]), 6);
  t.is(sumMinor([MAX - 1, 1]), MAX);
  refuses(t, () => sumMinor([MAX, 1]), 'amount');
  refuses(t, () => sumMinor([MAX, 2]), 'amount'); // 2^53 + 1 is not even representable
  refuses(t, () => sumMinor([2 ** 52, 2 ** 52]), 'amount');
  refuses(t, () => sumMinor([1, -1]), 'amount');

  holds(
    t,
    fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
      const exact = BigInt(a) * BigInt(b);
      if (exact <= BigInt(MAX)) assert.equal(multiplyMinor(a, b), Number(exact));
      else assert.throws(() => multiplyMinor(a, b), ValidationError);
    }),
  );
  holds(
    t,
    fc.property(fc.array(fc.maxSafeNat(), { maxLength: 5 }), (values) => {
      const exact = values.reduce((s, v) => s + BigInt(v), 0n);
      if (exact <= BigInt(MAX)) assert.equal(sumMinor(values), Number(exact));
      else assert.throws(() => sumMinor(values), ValidationError);
    }),
  );
});

test('an unknown currency is refused with path "currency"', (t) => {
  for (const currency of ['XXX', 'twd', '', 'TWD ', 'toString', '__proto__', 'constructor']) {
    refuses(t, () => toDecimalString(100, currency), 'currency');
    refuses(t, () => parseDecimalString('1.00', currency), 'currency');
    refuses(t, () => toWholeUnits(100, currency), 'currency');
    refuses(t, () => money(100, currency), 'currency');
  }
});
