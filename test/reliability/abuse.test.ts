/**
 * 10,000 anonymous callback requests from four addresses (CI: fewer) while genuine payments are
 * created and paid (issue 13, item 2): forged notifies, unreadable bodies, oversized bodies,
 * unknown endpoints and junk browser returns. Every genuine notify is applied, none of the
 * anonymous requests gets a 5xx, and what they leave in the database is bounded by the per-address
 * budget (core/callback-guard.ts), not by how many were sent. Create latency is measured quiet and
 * under the flood and printed; the full run holds its p99 within 2x of the quiet one.
 */
import { DEFAULT_CALLBACK_GUARD } from '../../core/callback-guard.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { signed } from '../helpers/fakepay/crypto.ts';
import { SIM_MERCHANT } from '../helpers/fakepay/simulator.ts';
import { FULL, figure, pool, size } from './size.ts';

const ANONYMOUS = size(1_000, 10_000);
const ORDERS = size(60, 400);
const QUIET = size(60, 200);
const ADDRESSES = ['203.0.113.1', '203.0.113.2', '198.51.100.3', '2001:db8:abcd:12::7'];

function p(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function timedCreate(app: TestApp): Promise<{ ms: number; id: string; orderNo: string }> {
  const started = performance.now();
  const res = await app.api('POST', '/v1/payments', paymentBody());
  const ms = performance.now() - started;
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${res.text}`);
  return { ms, id: res.body.id, orderNo: res.body.orderNo };
}

/** One anonymous request of kind `i % 5`, from one of the four addresses. */
function anonymous(app: TestApp, i: number, orderNos: string[]) {
  const headers = { 'x-forwarded-for': ADDRESSES[i % ADDRESSES.length]!, 'content-type': 'application/x-www-form-urlencoded' };
  const orderNo = orderNos[i % Math.max(1, orderNos.length)] ?? '26120200000000000000';
  switch (i % 5) {
    case 0: {
      const fields = { merchant_id: SIM_MERCHANT, order_no: orderNo, trade_no: `X${i}`, amount: '79900', currency: 'TWD', status: 'PAID', notify_id: `anon-${i}-${Date.now()}` };
      return app.raw('POST', '/callbacks/fakepay/default/notify', { body: new URLSearchParams(signed(fields, 'guessed-secret-0000000000')).toString(), headers });
    }
    case 1:
      return app.raw('POST', '/callbacks/fakepay/default/notify', { body: `garbage=${'%'.repeat(50)}&n=${i}`, headers });
    case 2:
      return app.raw('POST', '/callbacks/fakepay/default/notify', { body: 'a='.padEnd(100 * 1024, 'z'), headers });
    case 3:
      return app.raw('POST', `/callbacks/nosuch${i % 7}/default/notify`, { body: 'a=1', headers });
    default:
      return app.raw('GET', `/callbacks/fakepay/default/return?order_no=${orderNo}&junk=${'j'.repeat(4_000)}&n=${i}`, { headers });
  }
}

dbTest(`${ANONYMOUS} anonymous callback requests during ${ORDERS} paid orders: every genuine notify applied, storage bounded`, async (t, h) => {
  t.timeout(15 * 60_000);
  const app = await startApp(h, { trustProxy: true, callbackGuard: {} });
  try {
    const quiet = await pool(QUIET, 4, () => timedCreate(app));
    const bytes = async () => {
      const row = await h.db('provider_callbacks').where('received_at', '>=', startedAt).select(h.db.raw('count(*) as n, sum(length(raw_body) + length(raw_query) + length(headers_json)) as b')).first();
      return { rows: Number(row.n), bytes: Number(row.b ?? 0) };
    };
    const startedAt = Date.now();
    const statuses = new Map<number, number>();
    const orderNos = quiet.map((q) => q.orderNo);
    const flood = pool(ANONYMOUS, 32, async (i) => {
      const res = await anonymous(app, i, orderNos);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    });
    const genuine = pool(ORDERS, 4, async () => {
      const created = await timedCreate(app);
      await app.control('pay', created.orderNo);
      return created;
    });
    const [, paidOrders] = await Promise.all([flood, genuine]);
    const seconds = (Date.now() - startedAt) / 1000;

    const statuses2 = await h.db('orders').whereIn('id', paidOrders.map((o) => o.id)).select('status');
    const paid = statuses2.filter((r: any) => r.status === 'paid').length;
    const stored = await bytes();
    const genuineRows = await h.db('provider_callbacks').where('received_at', '>=', startedAt).andWhere({ verified: true }).count({ n: '*' });
    const anonymousRows = stored.rows - Number(genuineRows[0]!.n);
    // Per address: the burst, plus what it earns back while the flood lasts (and one minute of slack).
    const bound = ADDRESSES.length * (DEFAULT_CALLBACK_GUARD.burst + Math.ceil((seconds / 60 + 1) * DEFAULT_CALLBACK_GUARD.refillPerMinute));
    const floodCreates = paidOrders.map((o) => o.ms);
    figure(`abuse [${h.kind}]`, {
      anonymous: ANONYMOUS,
      seconds: seconds.toFixed(1),
      answers: JSON.stringify(Object.fromEntries([...statuses].sort())),
      anonymousRowsStored: anonymousRows,
      bound,
      bytesStored: stored.bytes,
      genuinePaid: `${paid}/${ORDERS}`,
      createP50Quiet: p(quiet.map((q) => q.ms), 0.5).toFixed(1),
      createP99Quiet: p(quiet.map((q) => q.ms), 0.99).toFixed(1),
      createP50Flood: p(floodCreates, 0.5).toFixed(1),
      createP99Flood: p(floodCreates, 0.99).toFixed(1),
    });
    t.is(paid, ORDERS, 'every genuine notify applied');
    t.false([...statuses.keys()].some((s) => s >= 500), `no 5xx: ${JSON.stringify([...statuses])}`);
    t.true((statuses.get(429) ?? 0) > ANONYMOUS / 2, 'most of the flood was turned away before storage');
    t.true(anonymousRows <= bound, `${anonymousRows} anonymous rows stored, bound ${bound}`);
    if (FULL) t.true(p(floodCreates, 0.99) <= 2 * p(quiet.map((q) => q.ms), 0.99) + 5, 'create p99 under the flood within 2x of the quiet run');
  } finally {
    await app.close();
  }
});
