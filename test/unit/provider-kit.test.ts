import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ProviderUnavailableError, ValidationError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import { firstRepeatedKey, parseFormStrict, parseJsonObjectStrict, REPEATED_FIELD } from '../../providers/kit/fields.ts';
import { html } from '../../providers/kit/index.ts';
import { parseProviderResponse } from '../../providers/kit/responses.ts';
import {
  BEIJING,
  endOfWallClockDay,
  fixedOffsetZone,
  formatWallClock,
  parseWallClock,
  TAIPEI,
  wallClockDay,
  wallClockMinuteOfDay,
} from '../../providers/kit/time.ts';
import { orderCreateAtmAnswer, orderCreateCardAnswer } from '../../providers/sinopac/answers.ts';
import { SinopacClient, SinopacFault } from '../../providers/sinopac/client.ts';
import { sinopacConfig } from '../../providers/sinopac/config.ts';
import { createSinopacSimulator } from '../../providers/sinopac/simulator/index.ts';

/** fast-check's verdict as an assertion: a counterexample fails the test with fast-check's report. */
const holds = (t: ExecutionContext, property: fc.IProperty<unknown[]>) => t.notThrows(() => fc.assert(property));

// ── time ────────────────────────────────────────────────────────────────────────────────────────

const PATTERNS = ['yyyyMMddHHmmss', 'yyyy/MM/dd HH:mm:ss', 'yyyy-MM-dd HH:mm:ss', 'yyyy-MM-dd HH:mm:ss.SSS', 'yyyyMMddHHmm', 'yyyyMMdd', 'yyyy/MM/dd', 'yyyy-MM-dd HH:mm'];
/** How much of an instant each pattern keeps, in ms. */
const PRECISION: Record<string, number> = { SSS: 1, ss: 1_000, mm: 60_000, dd: 86_400_000 };
const precisionOf = (pattern: string) => PRECISION[['SSS', 'ss', 'mm', 'dd'].find((t) => pattern.includes(t))!]!;
const zones = fc.constantFrom(TAIPEI, BEIJING, fixedOffsetZone('+00:00'), fixedOffsetZone('-05:30'), fixedOffsetZone('+14:00'));
const instants = fc.date({ min: new Date('1970-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true });

test('format → parse round trips every pattern, truncated to the pattern\'s precision', (t) => {
  holds(
    t,
    fc.property(instants, zones, fc.constantFrom(...PATTERNS), (date, zone, pattern) => {
      const text = formatWallClock(date, zone, pattern);
      const back = parseWallClock(text, zone, pattern);
      const step = precisionOf(pattern);
      // Truncation happens on the wall clock, so shift, floor, shift back.
      const expected = Math.floor((date.getTime() + zone.offsetMs) / step) * step - zone.offsetMs;
      return back !== null && back.getTime() === expected && formatWallClock(back, zone, pattern) === text;
    }),
  );
});

test('the process time zone is irrelevant: Taipei and Beijing are UTC+8 whatever TZ says', (t) => {
  const saved = process.env.TZ;
  try {
    const results = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham'].map((tz) => {
      process.env.TZ = tz;
      return [
        formatWallClock(new Date('2024-12-31T16:00:00Z'), TAIPEI, 'yyyy/MM/dd HH:mm:ss'),
        parseWallClock('2026-03-08 02:30:00', BEIJING, 'yyyy-MM-dd HH:mm:ss')!.toISOString(),
      ];
    });
    for (const r of results) t.deepEqual(r, ['2025/01/01 00:00:00', '2026-03-07T18:30:00.000Z']);
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});

test('known values of each provider\'s formats', (t) => {
  const instant = new Date('2026-11-22T17:30:05.042Z'); // 2026-11-23 01:30:05.042 in Taipei
  t.is(formatWallClock(instant, TAIPEI, 'yyyyMMddHHmm'), '202611230130');
  t.is(formatWallClock(instant, TAIPEI, 'yyyyMMdd'), '20261123');
  t.is(formatWallClock(instant, TAIPEI, 'yyyy/MM/dd HH:mm:ss'), '2026/11/23 01:30:05');
  t.is(formatWallClock(instant, BEIJING, 'yyyy-MM-dd HH:mm:ss.SSS'), '2026-11-23 01:30:05.042');
  t.is(formatWallClock(instant, fixedOffsetZone('-03:30'), 'yyyy-MM-dd HH:mm'), '2026-11-22 14:00');
  t.deepEqual(parseWallClock('20261123', TAIPEI, 'yyyyMMdd'), new Date('2026-11-22T16:00:00Z'));
  t.deepEqual(parseWallClock('0001/01/01 00:00:00', fixedOffsetZone('+00:00'), 'yyyy/MM/dd HH:mm:ss'), new Date('0001-01-01T00:00:00Z'), 'no 1900 shift for small years');
});

test('the parser is strict: exact shape, real calendar times only, never a guess', (t) => {
  const bad = [
    ['2026/02/30 00:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/02/29 00:00:00', 'yyyy/MM/dd HH:mm:ss'], // not a leap year
    ['2026/13/01 00:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/00/10 00:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/04/31 00:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/01/01 24:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/01/01 23:60:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/01/01 23:59:60', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/1/01 00:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026-01-01 00:00:00', 'yyyy/MM/dd HH:mm:ss'],
    ['2026/01/01', 'yyyy/MM/dd HH:mm:ss'],
    [' 20260101', 'yyyyMMdd'],
    ['20260101\n', 'yyyyMMdd'],
    ['２０２６0101', 'yyyyMMdd'],
    ['', 'yyyyMMdd'],
  ] as const;
  for (const [text, pattern] of bad) t.is(parseWallClock(text, TAIPEI, pattern), null, text);
  t.is(parseWallClock(20260101, TAIPEI, 'yyyyMMdd'), null, 'only text is parsed');
  t.is(parseWallClock(null, TAIPEI, 'yyyyMMdd'), null);
  t.not(parseWallClock('2024/02/29 00:00:00', TAIPEI, 'yyyy/MM/dd HH:mm:ss'), null, 'a leap day is real');
  // A literal that is a regex character matches only itself.
  t.is(parseWallClock('2026x01x01', TAIPEI, 'yyyy.MM.dd'), null);
  t.not(parseWallClock('2026.01.01', TAIPEI, 'yyyy.MM.dd'), null);
});

test('impossible dates are refused for any day past the month\'s end', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
      const text = `${String(y).padStart(4, '0')}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
      const daysInMonth = new Date(Date.UTC(2000, m, 0)).getUTCDate() - (m === 2 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? 1 : 0);
      return (parseWallClock(text, TAIPEI, 'yyyyMMdd') !== null) === d <= daysInMonth;
    }),
  );
});

test('days, end of day and minute of day follow the zone\'s wall clock', (t) => {
  const lateUtc = new Date('2026-11-22T16:30:00Z'); // 00:30 on the 23rd in Taipei
  t.deepEqual(endOfWallClockDay(lateUtc, TAIPEI), new Date('2026-11-23T15:59:59.999Z'));
  t.is(wallClockMinuteOfDay(lateUtc, TAIPEI), 30);
  t.is(wallClockDay(lateUtc, TAIPEI) - wallClockDay(new Date('2026-11-22T15:59:59Z'), TAIPEI), 1, 'midnight Taipei separates them');
  t.throws(() => fixedOffsetZone('UTC+8'), { instanceOf: RangeError });
  t.throws(() => formatWallClock(new Date(Number.NaN), TAIPEI, 'yyyyMMdd'), { instanceOf: RangeError });
});

// ── fields ──────────────────────────────────────────────────────────────────────────────────────

test('a form: decoded, empty values kept, a repeated name refused with an error naming it', (t) => {
  t.deepEqual(parseFormStrict('A=1&B=&C=a+b%26c'), { A: '1', B: '', C: 'a b&c' });
  t.deepEqual(parseFormStrict(new URLSearchParams([['x', '1']])), { x: '1' });
  const err = t.throws(() => parseFormStrict('A=1&PayToken=a&PayToken=b'), { instanceOf: ValidationError })!;
  t.is(err.code, REPEATED_FIELD);
  t.is(err.httpStatus, 400);
  t.deepEqual(err.details, [{ path: 'PayToken', message: 'is sent more than once' }]);
  t.throws(() => parseFormStrict('A=1&A=1'), { instanceOf: ValidationError }, 'even with the same value');
  t.throws(() => parseFormStrict('%41=1&A=2'), { instanceOf: ValidationError }, 'names compare decoded');
  const odd = parseFormStrict('A=1&__proto__=x');
  t.deepEqual(Object.keys(odd), ['A', '__proto__']);
  t.is(Object.getPrototypeOf(odd), Object.prototype);
});

test('any form with a name twice is refused; any form without is read whole', (t) => {
  holds(
    t,
    fc.property(fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 8 }), (pairs) => {
      const body = new URLSearchParams(pairs).toString();
      const names = pairs.map(([k]) => k);
      if (new Set(names).size < names.length) {
        try {
          parseFormStrict(body);
          return false;
        } catch (err) {
          return err instanceof ValidationError && err.code === REPEATED_FIELD;
        }
      }
      // Sorted: an object lists integer-like names first, whatever order they came in.
      const sorted = (entries: [string, string][]) => JSON.stringify(entries.map((e) => e.join('=')).sort());
      return sorted(Object.entries(parseFormStrict(body))) === sorted(pairs);
    }),
  );
});

test('a JSON object: must be an object, no key twice at any depth, keys compared decoded', (t) => {
  t.deepEqual(parseJsonObjectStrict('{"ShopNo":"A","PayToken":"b","n":{"x":[{"y":1},{"y":2}]}}'), { ShopNo: 'A', PayToken: 'b', n: { x: [{ y: 1 }, { y: 2 }] } });
  for (const text of ['', 'nope', '[]', '"s"', 'null', '1']) t.throws(() => parseJsonObjectStrict(text), { instanceOf: ValidationError }, text);
  const err = t.throws(() => parseJsonObjectStrict('{"PayToken":"a","PayToken":"b"}'), { instanceOf: ValidationError })!;
  t.is(err.code, REPEATED_FIELD);
  t.is(err.details[0]!.path, 'PayToken');
  t.throws(() => parseJsonObjectStrict('{"a":{"b":1,"b":2}}'), { instanceOf: ValidationError });
  t.throws(() => parseJsonObjectStrict('{"a":1,"\\u0061":2}'), { instanceOf: ValidationError });
  t.is(firstRepeatedKey('{"a":"\\",\\"a\\":","b":["a","a"],"c":{"a":1}}'), null, 'strings and arrays are not keys');
  t.is(firstRepeatedKey('{"a":{"x":1},"b":{"x":2}}'), null, 'one key set per object');
  t.is(firstRepeatedKey('{"a":[{},"a"],"b":{}}'), null, 'a string after an empty object in an array is a value');
  t.is(firstRepeatedKey('{"a":"unterminated'), null, 'text JSON.parse refuses ends the scan');
  t.is(firstRepeatedKey('{"a":[{"x":1}],"a":2}'), 'a', 'keys after a nested array still count');
  const proto = parseJsonObjectStrict('{"__proto__":{"polluted":true}}');
  t.true(Object.hasOwn(proto, '__proto__'));
  t.is(({} as Record<string, unknown>).polluted, undefined);
});

test('duplicate detection agrees with a rebuilt object for any JSON object', (t) => {
  holds(
    t,
    fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', '\\u0061'), fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 }), (pairs) => {
      const text = `{${pairs.map(([k, v]) => `"${k}":${JSON.stringify(v)}`).join(',')}}`;
      const names = pairs.map(([k]) => (k === '\\u0061' ? 'a' : k));
      const top = new Set(names).size < names.length;
      // Nested values come from JSON.stringify, which never repeats a key.
      return (firstRepeatedKey(text) !== null) === top;
    }),
  );
});

// ── responses ───────────────────────────────────────────────────────────────────────────────────

test('a provider answer that does not fit its schema is a retryable provider fault naming the path, never a value', (t) => {
  const schema = z.looseObject({ CardParam: z.looseObject({ CardPayURL: z.string().min(1) }), TSNo: z.string().optional() });
  t.deepEqual(parseProviderResponse(schema, { CardParam: { CardPayURL: 'https://x' }, extra: 1 }, { provider: 'SinoPac', operation: 'OrderCreate' }), {
    CardParam: { CardPayURL: 'https://x' },
    extra: 1,
  });
  const err = t.throws(() => parseProviderResponse(schema, { CardParam: { CardPayURL: 4111111111111111 }, TSNo: 'secret-ish' }, { provider: 'SinoPac', operation: 'OrderCreate' }), {
    instanceOf: ProviderUnavailableError,
  })!;
  t.true(err.retryable);
  t.is(err.httpStatus, 502);
  t.regex(err.message, /^SinoPac OrderCreate: the answer is malformed at CardParam\.CardPayURL: expected string$/);
  t.false(err.message.includes('4111'));
  t.regex(t.throws(() => parseProviderResponse(schema, null, { provider: 'X', operation: 'y' }))!.message, /malformed at \(the answer\)/);

  class Fault extends ProviderUnavailableError {}
  t.throws(() => parseProviderResponse(schema, {}, { provider: 'X', operation: 'y', fault: (detail) => new Fault(`X y: ${detail}`) }), { instanceOf: Fault });
});

test('the kit hands provider code core\'s escaping html template', (t) => {
  t.is(String(html`<p>${'<b>'}</p>`), '<p>&lt;b&gt;</p>');
});

test('adopted: a signed SinoPac answer is parsed by its schema; one that does not fit is a protocol fault, not a credentials one', async (t) => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bank = createSinopacSimulator({ baseUrl: base, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null });
  server.on('request', (req, res) => bank.handler(req, res));
  try {
    const config = sinopacConfig.parse(bank.accountConfig('default'));
    const client = new SinopacClient(config);
    const message = (orderNo: string) => ({
      ShopNo: config.ShopNo,
      OrderNo: orderNo,
      Amount: 50000,
      CurrencyID: 'TWD',
      PrdtName: 'Tea',
      ReturnURL: 'http://127.0.0.1:9/r',
      BackendURL: 'http://127.0.0.1:9/n',
      PayType: 'A',
      ATMParam: { ExpireDate: '20991231' },
    });
    const atm = await client.call('OrderCreate', message('K1'), orderCreateAtmAnswer);
    t.regex(atm.ATMParam.AtmPayNo, /^\d+$/);
    // An ATM answer read as a card answer lacks CardParam: before the kit, a plain Error (a 500).
    const err = await t.throwsAsync(client.call('OrderCreate', message('K2'), orderCreateCardAnswer), { instanceOf: SinopacFault });
    t.is(err.kind, 'protocol');
    t.false(err.credentialsRejected);
    t.true(err.retryable);
    t.is(err.message, 'SinoPac OrderCreate: the answer is malformed at CardParam: expected object');
  } finally {
    await bank.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
