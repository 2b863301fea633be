import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { ORDER_NO_LENGTH, ORDER_NO_PATTERN, isOrderNo, newOrderNo } from '../../core/order-no.ts';

// The stamp is yyMMddHHmmss: two-digit years sort correctly only within one century.
// Run in a zone far from UTC, so a stamp built from local time instead of UTC fails here. Each ava
// test file is its own process, so this touches nothing else.
process.env.TZ = 'Asia/Taipei';

const MIN_DATE = new Date('2000-01-01T00:00:00.000Z');
const MAX_DATE = new Date('2099-12-31T23:59:59.999Z');
const dates = fc.date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true });

function holds(t: ExecutionContext, property: fc.IProperty<unknown[]>, numRuns = 1000): void {
  t.notThrows(() => fc.assert(property, { numRuns }));
}

/** yyMMddHHmmss in UTC, computed independently of core through the ISO string. */
function utcStamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-22T02:03:04.567Z
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
}

test('format: 20 characters of [0-9A-Z] matching ORDER_NO_PATTERN', (t) => {
  t.is(ORDER_NO_LENGTH, 20);
  for (let i = 0; i < 2000; i++) {
    const no = newOrderNo();
    if (no.length !== 20 || !/^[0-9A-Z]{20}$/.test(no) || !ORDER_NO_PATTERN.test(no) || !isOrderNo(no)) {
      t.fail(`bad order number ${JSON.stringify(no)}`);
      return;
    }
  }
  holds(
    t,
    fc.property(dates, (date) => {
      const no = newOrderNo(date);
      assert.equal(no.length, ORDER_NO_LENGTH);
      assert.match(no, /^[0-9A-Z]{20}$/);
      assert.match(no, ORDER_NO_PATTERN);
    }),
  );
  // The pattern itself refuses what providers would (ECPay: ≤ 20 alphanumerics).
  for (const bad of ['', '261122020000ABCD123', '261122020000ABCD12345', '261122020000abcd1234', '26112202000AABCD1234',
    '261122020000ABCD-234', '261122020000ABCD 234']) {
    t.false(isOrderNo(bad), bad);
  }
});

test('the stamp is the UTC time of the date given', (t) => {
  t.is(newOrderNo(new Date('2026-11-22T02:03:04.999Z')).slice(0, 12), '261122020304');
  // Just before midnight UTC is already the next day in Taipei: the stamp stays UTC.
  t.is(newOrderNo(new Date('2026-12-31T23:59:59.000+00:00')).slice(0, 12), '261231235959');
  t.is(newOrderNo(new Date('2027-01-01T07:30:00+08:00')).slice(0, 12), '261231233000');
  holds(
    t,
    fc.property(dates, (date) => {
      assert.equal(newOrderNo(date).slice(0, 12), utcStamp(date));
    }),
  );
});

test('numbers made at increasing times (≥ 1 s apart) sort in the same order as strings', (t) => {
  holds(
    t,
    fc.property(dates, fc.integer({ min: 1000, max: 10 * 365 * 86_400_000 }), (a, gapMs) => {
      const b = new Date(Math.min(a.getTime() + gapMs, MAX_DATE.getTime()));
      fc.pre(b.getTime() - a.getTime() >= 1000);
      const [first, second] = [newOrderNo(a), newOrderNo(b)];
      assert.ok(first < second, `${first} (${a.toISOString()}) should sort before ${second} (${b.toISOString()})`);
    }),
    2000,
  );
  holds(
    t,
    fc.property(fc.uniqueArray(dates, { minLength: 2, maxLength: 30, selector: (d) => Math.floor(d.getTime() / 1000) }), (list) => {
      const byTime = [...list].sort((x, y) => x.getTime() - y.getTime()).map((d) => newOrderNo(d));
      const byString = [...byTime].sort();
      assert.deepEqual(byString, byTime);
    }),
    300,
  );
});

// One process never repeats itself: a per-second counter (36^4 values) sits before the random part,
// so this holds exactly, not by chance. Across processes the random part and the unique index do it.
test('100,000 in a tight loop plus 10,000 made concurrently in the same second are all unique', async (t) => {
  const seen = new Set<string>();
  const loopDate = new Date();
  for (let i = 0; i < 100_000; i++) seen.add(newOrderNo(loopDate));
  t.is(seen.size, 100_000, 'duplicate order numbers from the tight loop');

  const second = new Date('2026-11-22T02:00:00.000Z');
  const concurrent = await Promise.all(
    Array.from({ length: 10_000 }, async () => {
      await Promise.resolve();
      return newOrderNo(second);
    }),
  );
  t.true(concurrent.every((no) => no.startsWith('261122020000')), 'all made in the same UTC second');
  for (const no of concurrent) seen.add(no);
  t.is(seen.size, 110_000, 'duplicate order numbers across the concurrent batch');

  // The 8 characters after the stamp use the whole alphabet (a stuck or narrowed generator would
  // show here).
  const alphabet = new Set(concurrent.join('').split('').filter((_, i) => i % 20 >= 12));
  t.is(alphabet.size, 36);
});
