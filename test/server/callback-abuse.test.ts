/**
 * What anonymous traffic on the callback endpoints may cost (issue 13, item 2): body limits per
 * provider, a per-address bound on requests that fail pre-checks or verification (never on the
 * provider's own verified traffic), unverified browser returns kept only in part, and the retention
 * job that prunes what proved nothing.
 */
import { callbackRetentionJob } from '../../core/jobs/callback-retention.ts';
import { CallbackGuard, addressKey } from '../../core/callback-guard.ts';
import test from 'ava';
import { paymentBody, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { signed } from '../helpers/fakepay/crypto.ts';
import { SIM_MERCHANT } from '../helpers/fakepay/simulator.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A notify for `orderNo` signed with a key that is not the provider's. */
function forged(orderNo: string, i: number): string {
  const fields = { merchant_id: SIM_MERCHANT, order_no: orderNo, trade_no: `FORGED${i}`, amount: '79900', currency: 'TWD', status: 'PAID', notify_id: `abuse-${Date.now()}-${i}-${Math.random()}` };
  return new URLSearchParams(signed(fields, 'not-the-providers-secret-000')).toString();
}

const from = (address: string) => ({ ...FORM, 'x-forwarded-for': address });

function metric(text: string, outcome: string): number {
  const line = text.split('\n').find((l) => l.startsWith('paygate_callbacks_total{') && l.includes(`outcome="${outcome}"`) && l.includes('provider="fakepay"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function rowsFor(app: TestApp, h: { db: any }, address: string): Promise<number> {
  const rows = await h.db('provider_callbacks').where({ provider: 'fakepay' }).select('headers_json');
  void app;
  return rows.filter((r: any) => JSON.parse(r.headers_json)['remote-address'] === address).length;
}

dbTest('failed notifies from one address are refused before storage once its budget is spent; others and the provider are not', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const created = await app.api('POST', '/v1/payments', paymentBody());
      t.is(created.status, 201, created.text);
      const attacker = '203.0.113.7';
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, i), headers: from(attacker) });
        statuses.push(res.status);
        if (res.status === 429) t.truthy(res.headers.get('retry-after'));
      }
      t.deepEqual(statuses, [...Array(5).fill(400), ...Array(7).fill(429)], 'five rejected in the provider’s words, then 429');
      t.is(await rowsFor(app, h, attacker), 5, 'a throttled request is not stored');

      // Another address has its own budget; the provider itself (the simulator, from loopback) pays.
      const other = await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, 99), headers: from('203.0.113.8') });
      t.is(other.status, 400);
      await app.control('pay', created.body.orderNo);
      t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
      t.is(metric((await app.raw('GET', '/metrics')).text, 'throttled'), 7);
    },
    { trustProxy: true, callbackGuard: { burst: 5, refillPerMinute: 1 } },
  );
});

dbTest('an address that sent a verified notify is never throttled, whatever else it sends', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const first = await app.api('POST', '/v1/payments', paymentBody());
      await app.control('pay', first.body.orderNo); // the simulator's verified notify, from 127.0.0.1
      t.is((await app.api('GET', `/v1/payments/${first.body.id}`)).body.status, 'paid');
      const statuses = new Set<number>();
      for (let i = 0; i < 10; i++) {
        const res = await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(first.body.orderNo, i), headers: FORM });
        statuses.add(res.status);
      }
      t.deepEqual([...statuses], [400], 'rejected each time, never 429');
      const second = await app.api('POST', '/v1/payments', paymentBody());
      await app.control('pay', second.body.orderNo);
      t.is((await app.api('GET', `/v1/payments/${second.body.id}`)).body.status, 'paid');
    },
    { callbackGuard: { burst: 3, refillPerMinute: 1 } },
  );
});

dbTest('unknown endpoints and oversized bodies cost the sender; an oversized body is never stored', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const big = await app.raw('POST', '/callbacks/fakepay/default/notify', { body: 'a='.padEnd(70 * 1024, 'x'), headers: from('198.51.100.1') });
      t.is(big.status, 413, 'over the 64 KB default for a provider that declares no limit');
      t.is(await rowsFor(app, h, '198.51.100.1'), 0);
      const answers: number[] = [];
      for (let i = 0; i < 4; i++) answers.push((await app.raw('POST', `/callbacks/nopay${i}/x/notify`, { body: 'a=1', headers: from('198.51.100.1') })).status);
      t.deepEqual(answers, [404, 404, 429, 429], 'one 413 and two 404s spend a budget of three');
      t.is((await app.raw('GET', '/callbacks/fakepay/default/return?x=1', { headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 429, 'returns count too');
      t.is((await app.raw('GET', '/callbacks/fakepay/default/return?x=1', { headers: { 'x-forwarded-for': '198.51.100.2' } })).status, 200, 'per address');
    },
    { trustProxy: true, callbackGuard: { burst: 3, refillPerMinute: 1 } },
  );
});

dbTest('an unverified return is kept only in part; a verified one byte for byte', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    const junk = 'x'.repeat(8_000);
    const res = await app.raw('GET', `/callbacks/fakepay/default/return?order_no=${created.body.orderNo}&junk=${junk}`);
    t.is(res.status, 200);
    const unverified = await h.db('provider_callbacks').where({ kind: 'return', verified: false }).orderBy('id', 'desc').first();
    t.truthy(unverified);
    t.true(unverified.raw_query.length < 400, `kept ${unverified.raw_query.length} characters`);
    t.regex(unverified.raw_query, /…\[\d+ bytes, sha256 [0-9a-f]{64}\]$/);

    const genuine = new URLSearchParams(signed({ merchant_id: SIM_MERCHANT, order_no: created.body.orderNo, trade_no: 'T1', amount: '79900', currency: 'TWD', status: 'PENDING', note: 'y'.repeat(600) }, app.sim.accountConfig().secret)).toString();
    const ok = await app.raw('GET', `/callbacks/fakepay/default/return?${genuine}`);
    t.is(ok.status, 200);
    const verified = await h.db('provider_callbacks').where({ kind: 'return', verified: true }).orderBy('id', 'desc').first();
    t.truthy(verified, 'the signed return verified');
    t.is(verified.raw_query, genuine);
  });
});

dbTest('retention: old rejected and unverified rows are pruned; verified, unfinished and recent ones stay', async (t, h) => {
  const day = 24 * 60 * 60_000;
  const now = Date.now();
  const base = { provider: 'retain', account: 'default', kind: 'notify', http_method: 'POST', content_type: 'x', raw_body: 'b', raw_query: '', headers_json: '{}', attempts: 0, next_attempt_at: 0 };
  const make = (tag: string, fields: Record<string, unknown>) => h.db('provider_callbacks').insert({ ...base, dedupe_key: `${tag}-${now}`, ...fields });
  await make('old-rejected', { received_at: now - 31 * day, verified: false, processed_at: now - 31 * day, outcome: 'rejected' });
  await make('old-displayed', { received_at: now - 40 * day, verified: false, processed_at: now - 40 * day, outcome: 'displayed', kind: 'return' });
  await make('old-verified', { received_at: now - 90 * day, verified: true, processed_at: now - 90 * day, outcome: 'applied' });
  await make('old-unfinished', { received_at: now - 90 * day, verified: null, processed_at: null });
  await make('new-rejected', { received_at: now - 29 * day, verified: false, processed_at: now - 29 * day, outcome: 'rejected' });
  const deps = { db: h.db, now: () => new Date(now), logger: (await import('../../core/logger.ts')).silentLogger } as any;
  const job = callbackRetentionJob(deps, { retentionDays: 30, batch: 1 });
  t.is(await job.run(), 1, 'a batch at a time');
  t.is(await job.run(), 1);
  t.is(await job.run(), 0);
  const left = (await h.db('provider_callbacks').where({ provider: 'retain' }).select('dedupe_key')).map((r: any) => String(r.dedupe_key).split('-').slice(0, 2).join('-')).sort();
  t.deepEqual(left, ['new-rejected', 'old-unfinished', 'old-verified']);
});

test('the guard: buckets refill, trust exempts, IPv6 counts per /64, memory is bounded', (t) => {
  const guard = new CallbackGuard({ burst: 2, refillPerMinute: 60, maxAddresses: 3 });
  const t0 = 1_000_000;
  t.true(guard.allow('10.0.0.1', t0));
  guard.charge('10.0.0.1', t0);
  guard.charge('10.0.0.1', t0);
  t.false(guard.allow('10.0.0.1', t0));
  t.is(guard.retryAfterSeconds('10.0.0.1', t0), 1);
  t.true(guard.allow('10.0.0.1', t0 + 1_000), 'one token back after a second at 60/min');
  guard.charge('2001:db8:1:2::5', t0);
  guard.charge('2001:db8:1:2:ffff::9', t0);
  t.false(guard.allow('2001:db8:1:2:aaaa::1', t0), 'the same /64');
  t.true(guard.allow('2001:db8:1:3::1', t0));
  t.is(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(addressKey('2001:DB8:0001:0002:0:0:0:5'), '2001:db8:1:2::/64');
  guard.trust('10.0.0.1', t0);
  for (let i = 0; i < 10; i++) guard.charge('10.0.0.1', t0);
  t.true(guard.allow('10.0.0.1', t0), 'trusted');
  for (let i = 0; i < 10; i++) guard.charge(`192.0.2.${i}`, t0);
  t.true(guard.size <= 3);
});
