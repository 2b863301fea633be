/**
 * A refund that fails, or stays pending, is an event too (`refund.failed`, `refund.pending`), with
 * the same body shape as every other event: `{id, type, createdAt, data: {payment, refund}}`.
 * Both run against simulators over real HTTP.
 */
import { alipayModule } from '../../providers/alipay/index.ts';
import type { AlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import { paymentBody, withApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

async function eventsOf(h: TestDbHandle, paymentId: string, type: string): Promise<any[]> {
  const rows = (await h.db('events').where({ order_id: paymentId, type }).orderBy('id')) as { payload_json: string }[];
  return rows.map((r) => JSON.parse(r.payload_json));
}

dbTest('a refund the provider refuses writes refund.failed with the payment and the refund', async (t, h) => {
  await withApp(t, h, async (app) => {
    const created = await app.api('POST', '/v1/payments', paymentBody({ amount: 5000, items: [{ sku: 'A', name: 'Tea', unitAmount: 5000, quantity: 1 }] }));
    t.is(created.status, 201, created.text);
    await app.control('pay', created.body.orderNo);
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
    // FakePay's books say the money already went back (a refund in its back office we never heard of).
    const trade = [...app.sim.trades.values()].find((tr) => tr.orderNo === created.body.orderNo)!;
    trade.refunded = trade.amount;

    const refund = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 2000, reason: 'damaged' });
    t.is(refund.status, 201, refund.text);
    t.is(refund.body.status, 'failed');

    const [event, ...more] = await eventsOf(h, created.body.id, 'refund.failed');
    t.is(more.length, 0, 'one event per failed refund');
    t.truthy(event);
    t.deepEqual(Object.keys(event).sort(), ['createdAt', 'data', 'id', 'type']);
    t.is(event.type, 'refund.failed');
    t.regex(event.id, /^evt_/);
    t.is(event.data.payment.id, created.body.id);
    t.is(event.data.payment.status, 'paid', 'a failed refund leaves the payment as it was');
    t.is(event.data.payment.action, undefined);
    t.like(event.data.refund, { id: refund.body.id, amount: 2000, status: 'failed', reason: 'damaged', paymentId: created.body.id });
    t.is(event.data.refund.failure.code, 'REFUND_EXCEEDS');
    t.is((await eventsOf(h, created.body.id, 'refund.pending')).length, 0, 'a refund settled on the spot is not pending');

    // Listed and filterable like any other event.
    const listed = await app.api('GET', '/v1/events?type=refund.failed');
    t.is(listed.status, 200);
    t.true(listed.body.data.some((e: any) => e.id === event.id));
  });
});

dbTest('a refund whose outcome is unknown writes refund.pending; a succeeded one does not', async (t, h) => {
  let sim: AlipaySimulator | undefined;
  await withApp(
    t,
    h,
    async (app) => {
      const created = await app.api('POST', '/v1/payments', {
        merchantOrderId: `RE-${Date.now()}`,
        currency: 'CNY',
        amount: 3000,
        items: [{ sku: 'A', name: 'Tea', unitAmount: 3000, quantity: 1 }],
        provider: 'alipay',
        method: 'page',
      });
      t.is(created.status, 201, created.text);
      await (await fetch(created.body.action.url)).arrayBuffer();
      await sim!.pay(created.body.orderNo);
      await app.background.drain();
      t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');

      const ok = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 1000 });
      t.is(ok.body.status, 'succeeded', ok.text);
      t.is((await eventsOf(h, created.body.id, 'refund.pending')).length, 0);

      // Alipay answers 503 to everything: the refund's outcome cannot be known.
      const down = await fetch(`${app.url}/sim/alipay/_control/outage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ down: true }) });
      t.is(down.status, 200);
      const pending = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: 500 });
      t.is(pending.status, 202, pending.text);
      t.is(pending.body.status, 'pending');
      const events = await eventsOf(h, created.body.id, 'refund.pending');
      t.is(events.length, 1);
      t.is(events[0].type, 'refund.pending');
      t.like(events[0].data.refund, { id: pending.body.id, amount: 500, status: 'pending', failure: null });
      t.is(events[0].data.payment.id, created.body.id);
      t.is(events[0].data.payment.status, 'partially_refunded');
      sim!.setOutage(false);
    },
    { modules: [alipayModule({ onSimulator: (s) => (sim = s) })] },
  );
});
