/**
 * Refunds made in the provider's own back office (issue 14, item 3): paygate did not ask for them,
 * but its books follow: a refund row (source provider, with the provider's number), the refunded
 * amount and status, and `payment.refunded` for the merchant. Refunds paygate made are never
 * counted twice, and news of more than was paid raises attention instead of being stored.
 */
import { paymentBody, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

async function control(app: TestApp, action: string, body: Record<string, unknown>) {
  const res = await fetch(`${app.url}/sim/fakepay/_control/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  await app.background.drain();
  return { status: res.status, body: json as any };
}

dbTest('a refund made at the provider becomes a refund row, the refunded amount and a payment.refunded event', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    await app.control('pay', created.body.orderNo);
    // One through paygate, then one in the provider's back office.
    const ours = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 10000 });
    t.is(ours.status, 201, ours.text);
    const theirs = await control(app, 'refund', { orderNo: created.body.orderNo, amount: 20000 });
    t.is(theirs.status, 200, JSON.stringify(theirs.body));
    t.is(theirs.body.firstNotify.body, 'OK');

    const payment = (await app.api('GET', `/v1/payments/${created.body.id}`)).body;
    t.is(payment.status, 'partially_refunded');
    t.is(payment.refundedAmount, 30000);
    const refunds = (await app.api('GET', `/v1/payments/${created.body.id}/refunds`)).body.data;
    t.deepEqual(
      refunds.map((r: any) => [r.amount, r.status, r.source]),
      [
        [10000, 'succeeded', 'merchant'],
        [20000, 'succeeded', 'provider'],
      ],
    );
    t.is(refunds[1].providerRefundNo, theirs.body.refundId);
    const events = (await app.api('GET', '/v1/events?type=payment.refunded')).body.data.filter((e: any) => e.data.payment.id === created.body.id);
    t.is(events.length, 2, 'one event per refund');
    t.true(events.some((e: any) => e.data.refund?.source === 'provider' && e.data.refund.amount === 20000));

    // The same notify again changes nothing; the rest refunded at the provider closes it.
    await fetch(`${app.url}/sim/fakepay/_control/renotify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderNo: created.body.orderNo }) });
    await control(app, 'refund', { orderNo: created.body.orderNo, amount: 79900 - 30000 });
    const done = (await app.api('GET', `/v1/payments/${created.body.id}`)).body;
    t.is(done.status, 'refunded');
    t.is(done.refundedAmount, 79900);
    const rows = await h.db('refunds').where({ order_id: created.body.id, status: 'succeeded' });
    t.is(rows.reduce((s: number, r: any) => s + Number(r.amount_minor), 0), 79900);
  });
});

dbTest('a payment refunded at the provider before its notify reached us: paid, then refunded, both recorded', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    t.is((await control(app, 'pay', { orderNo: created.body.orderNo, notify: false })).status, 200);
    await control(app, 'refund', { orderNo: created.body.orderNo, amount: 79900 });
    const payment = (await app.api('GET', `/v1/payments/${created.body.id}`)).body;
    t.is(payment.status, 'refunded');
    t.is(payment.refundedAmount, 79900);
    t.truthy(payment.paidAt);
    const moves = (await h.db('order_transitions').where({ order_id: created.body.id }).orderBy('id')).map((r: any) => `${r.from_status}>${r.to_status}`);
    t.deepEqual(moves, ['created>pending', 'pending>paid', 'paid>refunded']);
  });
});

dbTest('news of more refunded than paid raises attention and stores nothing as truth', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody());
    await app.control('pay', created.body.orderNo);
    const trade = app.sim.byOrderNo(created.body.orderNo)!;
    trade.refunded = trade.amount + 500; // the provider's books say more went back than came in
    trade.lastNotify = null; // the next notify is built afresh from those books
    await app.control('renotify', created.body.orderNo);
    const payment = (await app.api('GET', `/v1/payments/${created.body.id}`)).body;
    t.is(payment.status, 'paid');
    t.is(payment.refundedAmount, 0);
    t.regex(payment.attention ?? '', /80400 refunded of a 79900 payment/);
    t.is((await h.db('refunds').where({ order_id: created.body.id })).length, 0);
  });
});
