/**
 * Alipay end to end against its simulator over HTTP, with alipay-sdk on our side and RSA2 both
 * ways, on both databases.
 */
import sinon from 'sinon';
import { findOrder, loadSnapshot } from '../../../core/orders.ts';
import type { PaymentProvider } from '../../../core/payment-provider.ts';
import { alipayModule } from '../../../providers/alipay/index.ts';
import type { AlipaySimulator } from '../../../providers/alipay/simulator/index.ts';
import { startApp, type TestApp } from '../../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../../helpers/db.ts';

function body(method: 'page' | 'wap' = 'page', overrides: Record<string, unknown> = {}) {
  return {
    merchantOrderId: `A${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
    currency: 'CNY',
    amount: 8888,
    items: [{ sku: 'TEA-1', name: '西湖龙井 250g', unitAmount: 4444, quantity: 2 }],
    provider: 'alipay',
    method,
    returnUrl: 'https://shop.example/orders/9',
    ...overrides,
  };
}

async function withAlipay(h: TestDbHandle, fn: (app: TestApp, sim: AlipaySimulator, provider: PaymentProvider) => Promise<void>): Promise<void> {
  let sim: AlipaySimulator | undefined;
  const app = await startApp(h, { modules: [alipayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    await fn(app, sim!, app.deps.registry.find('alipay')!);
  } finally {
    await app.close();
  }
}

/** The buyer's browser opens the cashier hand-off (the only way Alipay learns of the trade). */
async function open(action: { type: string; url: string; fields?: Record<string, string> }): Promise<void> {
  const res =
    action.type === 'form'
      ? await fetch(action.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(action.fields).toString() })
      : await fetch(action.url);
  await res.arrayBuffer();
}

const payment = (app: TestApp, id: string) => app.api('GET', `/v1/payments/${id}`).then((r) => r.body);
const local = (app: TestApp, url: string) => url.replace(/^https?:\/\/[^/]+/, app.url);

function postNotify(app: TestApp, params: Record<string, string>) {
  return app.raw('POST', '/callbacks/alipay/default/notify', {
    body: new URLSearchParams(params).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  });
}

dbTest('page pay: the cashier hand-off verifies at the gateway, the buyer pays, the notify makes it paid once', async (t, h) => {
  await withAlipay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('page'));
    t.is(created.status, 201, created.text);
    t.is(created.body.action.type, 'redirect');
    const handoff = new URL(created.body.action.url);
    t.is(handoff.pathname, '/sim/alipay/gateway.do');
    t.is(handoff.searchParams.get('method'), 'alipay.trade.page.pay');
    t.true(handoff.searchParams.get('notify_url')!.endsWith('/callbacks/alipay/default/notify'));
    const biz = JSON.parse(handoff.searchParams.get('biz_content')!);
    t.is(biz.total_amount, '88.88');
    t.is(biz.out_trade_no, created.body.orderNo);
    t.regex(biz.time_expire, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // The browser follows the hand-off: the gateway checks the RSA2 signature and shows its cashier.
    const cashier = await fetch(created.body.action.url, { redirect: 'follow' });
    t.is(cashier.status, 200);
    t.true((await cashier.text()).includes('88.88'));

    const paid = await sim.pay(created.body.orderNo);
    t.deepEqual(paid.firstNotify, { status: 200, body: 'success' });
    const after = await payment(app, created.body.id);
    t.is(after.status, 'paid');
    t.is(after.providerTradeNo, paid.tradeNo);
    t.truthy(after.paidAt);

    // Replayed 20 times: answered success, one transition.
    for (let i = 0; i < 20; i++) t.is((await sim.renotify(created.body.orderNo)).body, 'success');
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' })).length, 1);
    // Each retry carries a new notify_time and signature: kept as its own row, applied once.
    const rows = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify' });
    t.deepEqual([...new Set(rows.map((r: any) => r.outcome))].sort(), rows.length > 1 ? ['applied', 'duplicate'] : ['applied']);
    t.is(rows.filter((r: any) => r.outcome === 'applied').length, 1);
    t.true(rows.every((r: any) => r.dedupe_key.startsWith(paid.notifyId)));

    // The sync return afterwards shows paid and changes nothing.
    const page = await app.raw('GET', new URL(local(app, paid.returnUrl)).pathname + new URL(paid.returnUrl).search + '&lang=zh-CN');
    t.is(page.status, 200);
    t.true(page.text.includes('支付成功'));
    t.true(page.text.includes(created.body.orderNo));
  });
});

dbTest('wap pay hands over a POST form that the gateway accepts', async (t, h) => {
  await withAlipay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('wap'));
    t.is(created.status, 201, created.text);
    const action = created.body.action;
    t.is(action.type, 'form');
    t.is(action.method, 'POST');
    t.truthy(action.fields.biz_content);
    t.is(JSON.parse(action.fields.biz_content).product_code, 'QUICK_WAP_WAY');
    const cashier = await fetch(action.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(action.fields).toString(),
    });
    t.is(cashier.status, 200);
    await sim.pay(created.body.orderNo);
    t.is((await payment(app, created.body.id)).status, 'paid');
  });
});

dbTest('the sync return before the notify shows paid (asked of trade.query) but never moves the order', async (t, h) => {
  await withAlipay(h, async (app, sim, provider) => {
    const created = await app.api('POST', '/v1/payments', body('page'));
    await open(created.body.action);
    // Our notify handling is down for a moment: Alipay hears "failure" and will retry.
    const stub = sinon.stub(provider, 'verifyCallback').callThrough();
    stub.withArgs(sinon.match({ kind: 'notify' })).rejects(new Error('temporarily unavailable'));
    let returnUrl: string;
    try {
      const paid = await sim.pay(created.body.orderNo);
      t.is(paid.firstNotify.body, 'failure');
      returnUrl = paid.returnUrl;
      const page = await app.raw('GET', new URL(local(app, returnUrl)).pathname + new URL(returnUrl).search + '&lang=en');
      t.true(page.text.includes('Payment received'));
      t.true(page.text.includes('The provider confirmed this payment'));
      t.is((await payment(app, created.body.id)).status, 'pending', 'the return changed nothing');
    } finally {
      stub.restore();
    }
    t.is((await sim.renotify(created.body.orderNo)).body, 'success');
    t.is((await payment(app, created.body.id)).status, 'paid');
    const returns = await h.db('provider_callbacks').where({ kind: 'return', order_id: created.body.id });
    t.is(returns.length, 1);
    t.is(returns[0].outcome, 'displayed');
  });
});

dbTest('forged and tampered notifies change nothing, are kept, and are answered failure', async (t, h) => {
  await withAlipay(h, async (app, sim) => {
    const created = await app.api('POST', '/v1/payments', body('page'));
    await open(created.body.action);
    const before = await h.db('orders').where({ id: created.body.id }).first();
    // Make Alipay's real notify for this order, without sending it to us.
    const base = await sim.notifyParams(created.body.orderNo, { status: 'TRADE_SUCCESS' });

    const cases: [string, Record<string, string>][] = [
      ['tampered total_amount', { ...base, notify_id: 'x1', total_amount: '0.01' }],
      ['bad signature', { ...base, notify_id: 'x2', sign: base.sign!.replace(/^.{8}/, 'AAAAAAAA') }],
      ['wrong app_id', sim.signParams({ ...strip(base), notify_id: 'x3', app_id: '9021000999999999' })],
      ['unknown out_trade_no', sim.signParams({ ...strip(base), notify_id: 'x4', out_trade_no: '26010100000000000000' })],
      ['amount not the order amount', sim.signParams({ ...strip(base), notify_id: 'x5', total_amount: '1.00' })],
      ['missing sign', { ...strip(base), notify_id: 'x6' }],
    ];
    for (const [name, params] of cases) {
      const res = await postNotify(app, params);
      t.is(res.text, 'failure', name);
    }
    const after = await h.db('orders').where({ id: created.body.id }).first();
    t.is(after.status, before.status);
    t.is(Number(after.version), Number(before.version) + 1, 'only the attention flag of the wrong-amount notify');
    t.truthy(after.attention);
    const rows = await h.db('provider_callbacks').whereIn('dedupe_key', ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']).orderBy('dedupe_key');
    t.deepEqual(
      rows.map((r: any) => [r.dedupe_key, r.outcome]),
      [
        ['x1', 'rejected'],
        ['x2', 'rejected'],
        ['x3', 'rejected'],
        ['x4', 'unknown_order'],
        ['x5', 'amount_mismatch'],
        ['x6', 'rejected'],
      ],
    );
    t.is((await h.db('order_transitions').where({ order_id: created.body.id })).length, 1);
  });
});

function strip(params: Record<string, string>): Record<string, string> {
  const { sign: _sign, sign_type: _type, ...rest } = params;
  return rest;
}

dbTest('refunds: two partial, one too many refused, a repeated out_request_no refunds once, full refund → refunded', async (t, h) => {
  await withAlipay(h, async (app, sim, provider) => {
    const created = await app.api('POST', '/v1/payments', body('page', { amount: 10000, items: [{ sku: 'A', name: 'Tea', unitAmount: 10000, quantity: 1 }] }));
    await open(created.body.action);
    await sim.pay(created.body.orderNo);
    const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
    t.like(await provider.refund!({ order: snapshot, refundNo: 'RF1', amount: 3000 }), { outcome: 'succeeded' });
    t.like(await provider.refund!({ order: snapshot, refundNo: 'RF1', amount: 3000 }), { outcome: 'succeeded' }, 'the same request again');
    t.like(await provider.refund!({ order: snapshot, refundNo: 'RF2', amount: 3000 }), { outcome: 'succeeded' });
    t.like(await provider.refund!({ order: snapshot, refundNo: 'RF3', amount: 4001 }), { outcome: 'failed', code: 'ACQ.REASON_TRADE_REFUND_FEE_ERR' });
    const trade = sim.trades.find((tr) => tr.outTradeNo === created.body.orderNo)!;
    t.is(trade.refundedMinor, 6000);
    await sim.settle();
    await app.background.drain();
    // Refunds made at Alipay without paygate's refund service: the refund_fee notify records them.
    const partly = await payment(app, created.body.id);
    t.is(partly.status, 'partially_refunded');
    t.is(partly.refundedAmount, 6000);
    t.like(await provider.refund!({ order: snapshot, refundNo: 'RF4', amount: 4000 }), { outcome: 'succeeded' });
    await sim.settle();
    await app.background.drain();
    t.is((await payment(app, created.body.id)).status, 'refunded', 'TRADE_CLOSED with the whole amount refunded');
  });
});

dbTest('close before payment cancels; a payment arriving after the close is paid with attention', async (t, h) => {
  await withAlipay(h, async (app, sim) => {
    // The buyer opened the cashier, so the trade exists at Alipay and trade.close closes it.
    const opened = await app.api('POST', '/v1/payments', body('page'));
    await open(opened.body.action);
    const closed = await app.api('POST', `/v1/payments/${opened.body.id}/cancel`);
    t.is(closed.status, 200, closed.text);
    t.is(closed.body.status, 'cancelled');
    t.is(sim.trades.find((tr) => tr.outTradeNo === opened.body.orderNo)?.status, 'TRADE_CLOSED');

    // Never opened: nothing to close at Alipay, cancelled here; the buyer pays later anyway.
    const late = await app.api('POST', '/v1/payments', body('page'));
    const cancelled = await app.api('POST', `/v1/payments/${late.body.id}/cancel`);
    t.is(cancelled.body.status, 'cancelled');
    // The buyer still had the cashier link (valid until time_expire) and pays with it.
    await open(late.body.action);
    await sim.pay(late.body.orderNo);
    const after = await payment(app, late.body.id);
    t.is(after.status, 'paid');
    t.regex(after.attention, /Paid after the order was cancelled/);
  });
});

dbTest('query maps "no trade yet" to not found and a paid trade to paid', async (t, h) => {
  await withAlipay(h, async (app, sim, provider) => {
    const created = await app.api('POST', '/v1/payments', body('page'));
    const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
    t.deepEqual(await provider.query({ order: snapshot }), { found: false });
    await open(created.body.action);
    const waiting = await provider.query({ order: snapshot });
    t.true(waiting.found && waiting.facts.outcome === 'pending', 'the buyer has the cashier open');
    await sim.pay(created.body.orderNo);
    const q = await provider.query({ order: snapshot });
    t.true(q.found && q.facts.outcome === 'paid' && q.facts.amount === 8888);
  });
});
