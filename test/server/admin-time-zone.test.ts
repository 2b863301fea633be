/**
 * The dashboard's time zone (PAYGATE_TIME_ZONE): dates are shown on the zone's wall clock, and the
 * charts and the date filters count the zone's days, which are epoch-ms ranges computed in
 * TypeScript (server/admin/time-zone.ts), so both databases agree. Daylight-saving days are 23 or
 * 25 hours long.
 */
import test from 'ava';
import Koa from 'koa';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../core/config.ts';
import { createMerchant } from '../../core/merchants.ts';
import { adminRoutes } from '../../server/admin/index.ts';
import { dailyFigures } from '../../server/admin/queries/figures.ts';
import { addDays, dateIn, daysBetween, formatDateTime, offsetLabel, startOfDay } from '../../server/admin/time-zone.ts';
import { ADMIN, startApp, type TestApp } from '../helpers/app.ts';
import { signedIn } from '../helpers/admin-browser.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

const HOUR = 3_600_000;
/** 01:21 on 3 December in Taipei, still 2 December in UTC. */
const LATE = Date.parse('2026-12-02T17:21:00Z');
/** 23:59 on 2 December in Taipei. */
const EARLY = Date.parse('2026-12-02T15:59:00Z');
/** The clock the apps run on: the afternoon of 3 December in both zones. */
const NOW = new Date('2026-12-03T09:00:00Z');

test('a day of the zone is the range from its first instant to the next day’s; DST days are 23 and 25 hours', (t) => {
  t.is(formatDateTime(LATE, 'Asia/Taipei'), '2026/12/03 01:21:00');
  t.is(formatDateTime(LATE, 'UTC'), '2026/12/02 17:21:00');
  t.is(dateIn(LATE, 'Asia/Taipei'), '2026-12-03');
  t.is(dateIn(LATE, 'UTC'), '2026-12-02');
  t.is(startOfDay('2026-12-03', 'Asia/Taipei'), Date.parse('2026-12-02T16:00:00Z'));
  t.is(startOfDay('2026-12-03', 'UTC'), Date.parse('2026-12-03T00:00:00Z'));
  t.is(addDays('2026-12-31', 1), '2027-01-01');
  t.is(addDays('2026-03-01', -1), '2026-02-28');

  // New York: clocks go forward on 8 March 2026 and back on 1 November 2026.
  const lengths = (first: string, last: string) => daysBetween(first, last, 'America/New_York').map((d) => [d.date, (d.end - d.start) / HOUR]);
  t.deepEqual(lengths('2026-03-07', '2026-03-09'), [
    ['2026-03-07', 24],
    ['2026-03-08', 23],
    ['2026-03-09', 24],
  ]);
  t.deepEqual(lengths('2026-10-31', '2026-11-02'), [
    ['2026-10-31', 24],
    ['2026-11-01', 25],
    ['2026-11-02', 24],
  ]);
  t.is(startOfDay('2026-11-02', 'America/New_York'), Date.parse('2026-11-02T05:00:00Z'), 'after the change, midnight is 05:00 UTC');
  t.is(startOfDay('2026-11-01', 'America/New_York'), Date.parse('2026-11-01T04:00:00Z'), 'before it, 04:00 UTC');
  // Where the change skips midnight itself (Santiago, 6 September 2026), the day starts at 01:00.
  t.is(startOfDay('2026-09-06', 'America/Santiago'), Date.parse('2026-09-06T04:00:00Z'));
  t.is(formatDateTime(startOfDay('2026-09-06', 'America/Santiago'), 'America/Santiago'), '2026/09/06 01:00:00');
  t.is(offsetLabel(LATE, 'Asia/Taipei'), 'UTC+8');
  t.is(offsetLabel(LATE, 'Asia/Kolkata'), 'UTC+5:30');
  t.is(offsetLabel(Date.parse('2026-07-01T12:00:00Z'), 'America/New_York'), 'UTC−4');
  t.is(loadConfig({}).timeZone, 'Asia/Taipei', 'the default zone');
});

let seq = 0;

/** An order of a provider no other test uses, created at `createdAt`. */
async function insertOrder(h: TestDbHandle, merchantId: string, provider: string, createdAt: number, status = 'paid') {
  const n = `${++seq}`.padStart(4, '0');
  const id = `pay_tz${provider}${n}`;
  const orderNo = `TZ${provider.toUpperCase()}${n}`.slice(0, 20);
  await h.db('orders').insert({
    id,
    merchant_id: merchantId,
    merchant_order_id: `TZ-${provider}-${n}`,
    order_no: orderNo,
    subject: 'time zone',
    currency: 'TWD',
    amount_minor: 500,
    status,
    provider,
    provider_account: 'default',
    provider_method: 'card',
    expires_at: createdAt + 86_400_000,
    created_at: createdAt,
    updated_at: createdAt,
    ...(status === 'paid' ? { paid_at: createdAt } : {}),
  });
  return { id, orderNo };
}

/** The same dashboard as `app`'s (its database, registry and clock), in another zone. */
async function dashboardIn(app: TestApp, timeZone: string): Promise<{ url: string; close: () => Promise<void> }> {
  const koa = new Koa();
  const router = adminRoutes({ ...app.deps, timeZone }, ADMIN, 'a-test-secret-for-the-zone-dashboard');
  koa.use(router.routes()).use(router.allowedMethods());
  const server = http.createServer(koa.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const figureRow = (html: string, day: string, provider: string) => new RegExp(`<tr><td class="nowrap">${day}</td><td>${provider}</td><td class="num" data-label="Created">(\\d+)</td>`).exec(html)?.[1];
const listed = (html: string) => [...html.matchAll(/data-order-no="([A-Z0-9]+)"/g)].map((x) => x[1]);

dbTest('an order at 17:21 UTC on 2 December is 2026/12/03 01:21 and counted on 12-03 in Taipei, on 12-02 in UTC', async (t, h) => {
  const app = await startApp(h, { now: () => NOW });
  const utc = await dashboardIn(app, 'UTC');
  try {
    const { merchant } = await createMerchant(h.db, { name: 'Zone shop' });
    const late = await insertOrder(h, merchant.id, 'tzpay', LATE);
    const early = await insertOrder(h, merchant.id, 'tzpay', EARLY);

    // Asia/Taipei, the default.
    const b = await signedIn(app);
    const order = await b.get(`/admin/orders/${late.id}`);
    t.is(order.status, 200);
    t.regex(order.text, /<dt>Created<\/dt><dd><time datetime="2026-12-02T17:21:00\.000Z" class="nowrap">2026\/12\/03 01:21:00<\/time>/);
    t.regex(order.text, /Times in Asia\/Taipei \(UTC\+8 now\)/);
    t.notRegex(order.text, / UTC</);
    const overview = await b.get('/admin');
    t.is(figureRow(overview.text, '2026-12-03', 'tzpay'), '1', 'the 01:21 order is on 3 December');
    t.is(figureRow(overview.text, '2026-12-02', 'tzpay'), '1', 'the 23:59 order is on 2 December');
    t.regex(overview.text, /last 14 days \(Asia\/Taipei\)/);
    t.regex(overview.text, /<th scope="col">Day \(Asia\/Taipei\)<\/th>/);
    const list = await b.get(`/admin/orders?merchant=${merchant.id}&from=2026-12-03&to=2026-12-03`);
    t.regex(list.text, /Created from \(Asia\/Taipei\)/);
    t.deepEqual(listed(list.text), [late.orderNo]);
    t.deepEqual(listed((await b.get(`/admin/orders?merchant=${merchant.id}&to=2026-12-02`)).text), [early.orderNo]);
    t.regex(list.text, /2026\/12\/03 01:21:00/);

    // UTC: both orders are on 2 December.
    const u = await signedIn(utc);
    const inUtc = await u.get(`/admin/orders/${late.id}`);
    t.regex(inUtc.text, /<dt>Created<\/dt><dd><time datetime="2026-12-02T17:21:00\.000Z" class="nowrap">2026\/12\/02 17:21:00<\/time>/);
    t.regex(inUtc.text, /Times in UTC \(UTC now\)/);
    const utcOverview = await u.get('/admin');
    t.is(figureRow(utcOverview.text, '2026-12-02', 'tzpay'), '2');
    t.is(figureRow(utcOverview.text, '2026-12-03', 'tzpay'), undefined);
    t.deepEqual(listed((await u.get(`/admin/orders?merchant=${merchant.id}&from=2026-12-03`)).text), []);
    t.deepEqual(listed((await u.get(`/admin/orders?merchant=${merchant.id}&from=2026-12-02&to=2026-12-02`)).text).sort(), [early.orderNo, late.orderNo].sort());
  } finally {
    await utc.close();
    await app.close();
  }
});

dbTest('in America/New_York the charts count a 25-hour day and a 23-hour day, and the filters use them', async (t, h) => {
  const { merchant } = await createMerchant(h.db, { name: 'DST shop' });
  const zone = 'America/New_York';
  // 1 November 2026 runs from 04:00 UTC to 05:00 UTC the next day (25 hours).
  const fallDay = daysBetween('2026-11-01', '2026-11-01', zone)[0]!;
  const atStart = await insertOrder(h, merchant.id, 'dstfall', fallDay.start);
  const lastHour = await insertOrder(h, merchant.id, 'dstfall', fallDay.start + 24.5 * HOUR); // 23:30 local, 04:30 UTC on the 2nd
  const nextDay = await insertOrder(h, merchant.id, 'dstfall', fallDay.end); // 00:00 on 2 November
  await insertOrder(h, merchant.id, 'dstfall', fallDay.start - 1); // 23:59:59.999 on 31 October
  // 8 March 2026 runs from 05:00 UTC to 04:00 UTC the next day (23 hours).
  const springDay = daysBetween('2026-03-08', '2026-03-08', zone)[0]!;
  t.is(springDay.end - springDay.start, 23 * HOUR);
  await insertOrder(h, merchant.id, 'dstspring', springDay.end - 1, 'failed'); // 23:59:59.999 local
  await insertOrder(h, merchant.id, 'dstspring', springDay.end); // 00:00 on 9 March: 04:00 UTC, which a 24-hour day would still count on the 8th

  const days = daysBetween('2026-10-31', '2026-11-02', zone);
  const figures = await dailyFigures(h.db, [...days.map((d) => d.start), days[days.length - 1]!.end]);
  const created = (provider: string, list: typeof figures, at: typeof days) => at.map((d) => list.find((f) => f.provider === provider && f.day === d.start)?.created ?? 0);
  t.deepEqual(created('dstfall', figures, days), [1, 2, 1], '31 Oct: 1; 1 Nov (25 h): 2; 2 Nov: 1');

  const spring = daysBetween('2026-03-08', '2026-03-09', zone);
  const springFigures = await dailyFigures(h.db, [...spring.map((d) => d.start), spring[1]!.end]);
  t.deepEqual(created('dstspring', springFigures, spring), [1, 1], '8 Mar (23 h): 1; 9 Mar: 1');
  t.is(springFigures.find((f) => f.provider === 'dstspring' && f.day === spring[0]!.start)?.decided, 1);

  // The date filter of a dashboard in New York takes the same 25-hour day.
  const app = await startApp(h, { now: () => new Date('2026-11-02T17:00:00Z') });
  const ny = await dashboardIn(app, zone);
  try {
    const b = await signedIn(ny);
    const page = await b.get(`/admin/orders?merchant=${merchant.id}&provider=dstfall&from=2026-11-01&to=2026-11-01`);
    t.is(page.status, 200);
    t.deepEqual(listed(page.text).sort(), [atStart.orderNo, lastHour.orderNo].sort());
    t.regex(page.text, /2026\/11\/01 23:30:00/);
    t.deepEqual(listed((await b.get(`/admin/orders?merchant=${merchant.id}&provider=dstfall&from=2026-11-02`)).text), [nextDay.orderNo]);
    // And the overview draws the zone's days: today (2 November) is the last one.
    const overview = await b.get('/admin');
    t.is(figureRow(overview.text, '2026-11-01', 'dstfall'), '2');
    t.is(figureRow(overview.text, '2026-11-02', 'dstfall'), '1');
    t.regex(overview.text, /Times in America\/New_York \(UTC−5 now\)/);
  } finally {
    await ny.close();
    await app.close();
  }
});

test('a date the zone skipped altogether (Pacific/Apia, 2011-12-30) is no day: the days around it meet', (t) => {
  const days = daysBetween('2011-12-29', '2011-12-31', 'Pacific/Apia');
  t.deepEqual(days.map((d) => d.date), ['2011-12-29', '2011-12-31']);
  t.is(days[0]!.end, days[1]!.start);
  t.true(days.every((d) => d.end - d.start === 86_400_000));
});
