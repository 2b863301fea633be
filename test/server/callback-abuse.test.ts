/**
 * What anonymous traffic on the callback endpoints may cost (issue 13, item 2): body limits per
 * provider, a per-address bound on requests that fail pre-checks or verification (never on the
 * provider's own verified traffic), unverified browser returns kept only in part, and the retention
 * job that prunes what proved nothing.
 */
import { callbackRetentionJob } from '../../core/jobs/callback-retention.ts';
import { CallbackGuard, addressKey } from '../../core/callback-guard.ts';
import { silentLogger } from '../../core/logger.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import { createSinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import test from 'ava';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { paymentBody, startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { signed } from '../../providers/_template/crypto.ts';
import { SIM_MERCHANT, type FakePaySimulator } from '../../providers/_template/simulator.ts';
import { FakePayProvider } from '../../providers/_template/adapter.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import type { CallbackReply, CallbackRequest, CallbackVerification, ReplyKind } from '../../core/payment-provider.ts';

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
    // This order's rows only: other tests in this file record returns in the same database at once.
    const unverified = await h.db('provider_callbacks').where({ kind: 'return', verified: false }).andWhere('raw_query', 'like', `%${created.body.orderNo}%`).first();
    t.truthy(unverified);
    t.true(unverified.raw_query.length < 400, `kept ${unverified.raw_query.length} characters`);
    t.regex(unverified.raw_query, /…\[\d+ bytes, sha256 [0-9a-f]{64}\]$/);

    const genuine = new URLSearchParams(signed({ merchant_id: SIM_MERCHANT, order_no: created.body.orderNo, trade_no: 'T1', amount: '79900', currency: 'TWD', status: 'PENDING', note: 'y'.repeat(600) }, app.sim.accountConfig().secret)).toString();
    const ok = await app.raw('GET', `/callbacks/fakepay/default/return?${genuine}`);
    t.is(ok.status, 200);
    const verified = await h.db('provider_callbacks').where({ kind: 'return', verified: true }).andWhere('raw_query', 'like', `%${created.body.orderNo}%`).first();
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

/** A notify for `orderNo` signed with the simulator's own key: what FakePay itself would send. */
async function genuineNotify(app: TestApp, h: { db: any }, orderNo: string): Promise<string> {
  const order = await h.db('orders').where({ order_no: orderNo }).first();
  const fields = {
    merchant_id: SIM_MERCHANT,
    order_no: orderNo,
    trade_no: order.provider_trade_no,
    amount: '79900',
    currency: 'TWD',
    status: 'PAID',
    paid_at: new Date().toISOString(),
    refunded_amount: '',
    notify_id: `N${order.provider_trade_no}PAID`,
  };
  return new URLSearchParams(signed(fields, app.sim.accountConfig().secret)).toString();
}

dbTest('a replayed signed return grants no trust, is stored once, and each replay costs a token', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const created = await app.api('POST', '/v1/payments', paymentBody());
      const genuine = new URLSearchParams(
        signed({ merchant_id: SIM_MERCHANT, order_no: created.body.orderNo, trade_no: 'T1', amount: '79900', currency: 'TWD', status: 'PENDING' }, app.sim.accountConfig().secret),
      ).toString();
      const replayer = '203.0.113.60';
      for (let i = 0; i < 3; i++) {
        const res = await app.raw('GET', `/callbacks/fakepay/default/return?${genuine}`, { headers: { 'x-forwarded-for': replayer } });
        t.is(res.status, 200, 'the buyer sees the page each time (a refresh is only charged)');
        t.regex(res.text, new RegExp(created.body.orderNo));
      }
      const rows = await h.db('provider_callbacks').where({ provider: 'fakepay', kind: 'return' }).select('raw_query', 'verified');
      t.is(rows.filter((r: any) => r.raw_query === genuine).length, 1, 'one row for one content, however often it comes');
      t.is(metric((await app.raw('GET', '/metrics')).text, 'return_replayed'), 2);
      // The first return gave its token back, the two replays kept theirs: one of three is left,
      // and the address is not trusted, so forged notifies from it meet the limit.
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, i), headers: from(replayer) })).status);
      t.deepEqual(statuses, [400, 429, 429]);
    },
    { trustProxy: true, callbackGuard: { burst: 3, refillPerMinute: 1 } },
  );
});

/** FakePay as a provider whose notify the buyer's browser brings (PaymentProvider.notifyFrom). */
class BrowserFakePay extends FakePayProvider {
  readonly notifyFrom = 'browser' as const;
  override reply(kind: ReplyKind): CallbackReply {
    const plain = super.reply(kind);
    return kind === 'reject' ? plain : { ...plain, status: 303, headers: { location: '/after' } };
  }
}

dbTest('a notify the buyer\'s browser brings gives its token back but the buyer\'s address no trust: forged notifies from it still meet the limit', async (t, h) => {
  let sim: FakePaySimulator | undefined;
  const plain = fakePayModule({ onSimulator: (s) => (sim = s) });
  const app = await startApp(h, {
    modules: [{ ...plain, createProvider: (account: string, config: Parameters<typeof plain.createProvider>[1]) => new BrowserFakePay(account, config) }],
    trustProxy: true,
    callbackGuard: { burst: 3, refillPerMinute: 1 },
  });
  try {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    const secret = sim!.secret;
    const genuine = new URLSearchParams(
      signed({ merchant_id: SIM_MERCHANT, order_no: created.body.orderNo, trade_no: 'TB1', amount: String(created.body.amount), currency: 'TWD', status: 'PAID', paid_at: '2026-12-03T00:00:00.000Z', notify_id: `browser-${created.body.orderNo}` }, secret),
    ).toString();
    const buyer = '203.0.113.77';
    const res = await app.raw('GET', `/callbacks/fakepay/default/notify?${genuine}`, { headers: { 'x-forwarded-for': buyer } });
    t.is(res.status, 303, res.text);
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
    await app.background.drain();
    // The genuine one gave its token back (3 left); a trusted address would never hear 429.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, i), headers: from(buyer) })).status);
    t.deepEqual(statuses, [400, 400, 400, 429]);
  } finally {
    await app.close();
  }
});

/** FakePay whose signed messages with a `customer-` notify_id are of a kind only the buyer's browser brings (as NewebPay's CustomerURL). */
class CustomerPostFakePay extends FakePayProvider {
  override async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    const v = await super.verifyCallback(request);
    return v.verified && new URLSearchParams(request.rawBody).get('notify_id')?.startsWith('customer-') ? { ...v, fromBrowser: true } : v;
  }
}

for (const ackAfter of ['applied', 'stored'] as const) {
  dbTest(`ack after ${ackAfter}: a verified message the provider marks as browser-brought (no mark in the URL) gives its token back but no trust`, async (t, h) => {
    let sim: FakePaySimulator | undefined;
    const plain = fakePayModule({ ackAfter, onSimulator: (s) => (sim = s) });
    const app = await startApp(h, {
      modules: [{ ...plain, createProvider: (account: string, config: Parameters<typeof plain.createProvider>[1]) => new CustomerPostFakePay(account, config) }],
      trustProxy: true,
      callbackGuard: { burst: 3, refillPerMinute: 1 },
    });
    try {
      const created = await app.api('POST', '/v1/payments', paymentBody());
      const genuine = new URLSearchParams(
        signed({ merchant_id: SIM_MERCHANT, order_no: created.body.orderNo, trade_no: 'TC1', amount: String(created.body.amount), currency: 'TWD', status: 'PAID', paid_at: '2026-12-03T00:00:00.000Z', notify_id: `customer-${created.body.orderNo}` }, sim!.secret),
      ).toString();
      const buyer = '203.0.113.78';
      const res = await app.raw('POST', '/callbacks/fakepay/default/notify', { body: genuine, headers: from(buyer) });
      t.is(res.status, 200, res.text);
      await app.background.drain();
      t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
      // Token back (3 left), no trust: the fourth forgery meets the limit.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, i), headers: from(buyer) })).status);
      // Acknowledged on store, a forgery hears 200 and is refused later; the budget is the same.
      const refused = ackAfter === 'stored' ? 200 : 400;
      t.deepEqual(statuses, [refused, refused, refused, 429]);
    } finally {
      await app.close();
    }
  });
}

/** An app whose SinoPac account points at a port nobody listens on: every verification is a fault. */
async function withUnreachableBank(t: any, h: any, guard: Record<string, number>, fn: (app: TestApp, shopNo: string) => Promise<void>): Promise<void> {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
  const keys = createSinopacSimulator({ baseUrl: base, logger: silentLogger, timeScale: 0.001 }, { atmAutoPayMs: null });
  const account = keys.accountConfig('default');
  await keys.close();
  const app = await startApp(h, { modules: [sinopacModule()], providers: { sinopac: { default: account } }, trustProxy: true, callbackGuard: guard });
  try {
    await fn(app, account.ShopNo);
  } finally {
    await app.close();
  }
  t.pass();
}

async function forgedSinopac(app: TestApp, shopNo: string, address: string): Promise<number> {
  const res = await app.raw('POST', '/callbacks/sinopac/default/notify', {
    body: `{"ShopNo":"${shopNo}","PayToken":"${randomBytes(32).toString('hex')}"}`,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
  });
  await app.background.drain();
  return res.status;
}

async function sinopacRowsFrom(h: { db: any }, address: string): Promise<any[]> {
  const rows = await h.db('provider_callbacks').where({ provider: 'sinopac', kind: 'notify' }).select('id', 'headers_json', 'processed_at', 'outcome');
  return rows.filter((r: any) => JSON.parse(r.headers_json)['remote-address'] === address);
}

dbTest('with the bank unreachable, forged SinoPac notifies are charged at admission: throttled after the burst, stored rows bounded', async (t, h) => {
  await withUnreachableBank(t, h, { burst: 4, refillPerMinute: 1 }, async (app, shopNo) => {
    const forger = '203.0.113.70';
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await forgedSinopac(app, shopNo, forger));
    t.deepEqual(statuses, [...Array(4).fill(200), ...Array(6).fill(429)], 'acknowledged on store, then 429: a fault keeps the token spent');
    const rows = await sinopacRowsFrom(h, forger);
    t.is(rows.length, 4);
    t.true(rows.every((r) => r.processed_at === null), 'each waits for a retry');
  });
});

dbTest('rows awaiting verification are capped per address; a row finished elsewhere frees its place', async (t, h) => {
  // Tokens come back within milliseconds here: only the cap on unfinished rows holds the forger.
  await withUnreachableBank(t, h, { burst: 3, refillPerMinute: 600_000 }, async (app, shopNo) => {
    const forger = '203.0.113.80';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push(await forgedSinopac(app, shopNo, forger));
      await new Promise((r) => setTimeout(r, 5));
    }
    t.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429]);
    const rows = await sinopacRowsFrom(h, forger);
    t.is(rows.length, 3);
    t.is(await forgedSinopac(app, shopNo, '203.0.113.81'), 200, 'another address is not held by them');
    // The worker (perhaps another process) gives up on one: the address may send one more.
    await h.db('provider_callbacks').where({ id: rows[0].id }).update({ processed_at: Date.now(), verified: false, outcome: 'rejected' });
    t.is(await forgedSinopac(app, shopNo, forger), 200);
    t.is(await forgedSinopac(app, shopNo, forger), 429);
    t.is((await sinopacRowsFrom(h, forger)).length, 4);
  });
});

dbTest('behind a proxy paygate does not trust: junk from others does not throttle the genuine notify, which trusts no one', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const created = await app.api('POST', '/v1/payments', paymentBody());
      t.is(created.status, 201, created.text);
      // PAYGATE_TRUST_PROXY is off: every request below has the proxy's address (127.0.0.1).
      const junk: number[] = [];
      for (let i = 0; i < 5; i++) junk.push((await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, i), headers: from('198.51.100.20') })).status);
      t.deepEqual(junk, [400, 400, 400, 400, 400], 'no per-address bucket for a meaningless address');
      const res = await app.raw('POST', '/callbacks/fakepay/default/notify', { body: await genuineNotify(app, h, created.body.orderNo), headers: from('198.51.100.21') });
      t.is(res.status, 200, res.text);
      t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
      // The global budget (8) had 3 left and the genuine notify gave its token back; the proxy's
      // address was not trusted by it, so junk through the proxy still spends the global budget.
      const more: number[] = [];
      for (let i = 0; i < 4; i++) more.push((await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(created.body.orderNo, 10 + i), headers: from('198.51.100.22') })).status);
      t.deepEqual(more, [400, 400, 400, 429]);
    },
    { callbackGuard: { burst: 3, refillPerMinute: 1, globalBurst: 8, globalRefillPerMinute: 1 } },
  );
});

dbTest('a global budget across addresses: 15 /64s of one /48 share it, and a trusted provider still passes when it is spent', async (t, h) => {
  await withApp(
    t,
    h,
    async (app) => {
      const first = await app.api('POST', '/v1/payments', paymentBody());
      await app.control('pay', first.body.orderNo); // the simulator's fresh verified notify trusts 127.0.0.1
      t.is((await app.api('GET', `/v1/payments/${first.body.id}`)).body.status, 'paid');
      const statuses: number[] = [];
      for (let i = 0; i < 15; i++) {
        statuses.push((await app.raw('POST', '/callbacks/fakepay/default/notify', { body: forged(first.body.orderNo, i), headers: from(`2001:db8:7:${i.toString(16)}::1`) })).status);
      }
      t.deepEqual(statuses, [...Array(10).fill(400), ...Array(5).fill(429)], 'each /64 has budget left, everyone together has not');
      const second = await app.api('POST', '/v1/payments', paymentBody());
      await app.control('pay', second.body.orderNo);
      t.is((await app.api('GET', `/v1/payments/${second.body.id}`)).body.status, 'paid', 'the trusted address is not refused');
    },
    { trustProxy: true, callbackGuard: { burst: 3, refillPerMinute: 1, globalBurst: 10, globalRefillPerMinute: 1 } },
  );
});

test('the guard: tickets are charged at admission and given back by proof; trust only from a proof that asks for it', (t) => {
  const guard = new CallbackGuard({ burst: 2, refillPerMinute: 1, globalBurst: 3, globalRefillPerMinute: 1, trustedForMs: 1_000 });
  const t0 = Date.now();
  const a = guard.admit('10.0.0.1', {}, t0);
  const b = guard.admit('10.0.0.1', {}, t0);
  t.truthy(a.ticket && b.ticket);
  t.is(guard.admit('10.0.0.1', {}, t0).refused, 'address', 'two in flight spend a burst of two');
  guard.proved(a.ticket!, { trust: false }, t0);
  t.truthy(guard.admit('10.0.0.1', {}, t0).ticket, 'a proof gives the token back, without trust');
  t.truthy(guard.admit('10.0.0.2', {}, t0).ticket);
  t.is(guard.admit('10.0.0.3', {}, t0).refused, 'global', 'three taken of a global three');
  guard.proved(b.ticket!, { trust: true }, t0);
  const trusted = guard.admit('10.0.0.1', {}, t0);
  t.false(trusted.ticket!.charged, 'trusted: nothing taken');
  t.false(trusted.ticket!.wantsVerdict, 'and nothing to learn while most of the trust is ahead');
  t.true(guard.admit('10.0.0.1', {}, t0 + 600).ticket!.wantsVerdict, 'in its second half a proof renews it');
  const shared = guard.admit('10.0.0.1', { shared: true }, t0).ticket!;
  t.true(shared.charged, 'a shared request is never exempt (its address is a proxy’s)');
  t.is(shared.key, null, 'and its proof cannot trust that address');
  const u = new CallbackGuard({ burst: 2, refillPerMinute: 1e6 });
  const held = u.admit('10.0.0.9', {}, t0).ticket!;
  u.unfinished(held, 42);
  u.unfinished(u.admit('10.0.0.9', {}, t0).ticket!, 43);
  const capped = u.admit('10.0.0.9', {}, t0 + 60_000);
  t.is(capped.refused, 'unfinished');
  t.deepEqual(capped.waiting!.map((w) => w.rowId).sort(), [42, 43]);
  u.spent(held);
  t.truthy(u.admit('10.0.0.9', {}, t0 + 60_000).ticket, 'a finished row frees its place');
});
