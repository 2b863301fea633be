/**
 * 10,000 deliveries of one verified notify, 64 at a time (CI: fewer): exactly one transition and
 * one payment.paid event, and every delivery answered "success". Alipay over HTTP, RSA2-signed by
 * its simulator, verified by alipay-sdk.
 */
import { alipayModule } from '../../providers/alipay/index.ts';
import type { AlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { figure, pool, size } from './size.ts';

const DELIVERIES = size(1_000, 10_000);
const CONCURRENCY = 64;

dbTest(`${DELIVERIES} duplicate notifies, ${CONCURRENCY} at a time: one transition, one payment.paid event`, async (t, h) => {
  t.timeout(10 * 60_000);
  let sim: AlipaySimulator | undefined;
  const app = await startApp(h, { modules: [alipayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', {
      merchantOrderId: `DUP-${Date.now()}`,
      currency: 'CNY',
      amount: 8888,
      items: [{ sku: 'A', name: 'Tea', unitAmount: 8888, quantity: 1 }],
      provider: 'alipay',
      method: 'page',
    });
    t.is(created.status, 201, created.text);
    await (await fetch(created.body.action.url)).arrayBuffer(); // the buyer opens the cashier
    const params = sim!.notifyParams(created.body.orderNo, { status: 'TRADE_SUCCESS' });
    const body = new URLSearchParams(params).toString();
    const started = Date.now();
    const answers = await pool(DELIVERIES, CONCURRENCY, () =>
      app.raw('POST', '/callbacks/alipay/default/notify', { body, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }).then((r) => r.text),
    );
    const seconds = (Date.now() - started) / 1000;
    const success = answers.filter((a) => a === 'success').length;
    const transitions = await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' });
    const events = await h.db('events').where({ order_id: created.body.id, type: 'payment.paid' });
    const rows = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify' });
    figure(`duplicates [${h.kind}]`, { deliveries: DELIVERIES, concurrency: CONCURRENCY, success, transitions: transitions.length, paidEvents: events.length, inboxRows: rows.length, seconds: seconds.toFixed(1) });
    t.is(success, DELIVERIES, 'every delivery answered success');
    t.is(transitions.length, 1);
    t.is(events.length, 1);
    t.is(rows.length, 1, 'the same bytes are one inbox row');
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');
  } finally {
    await app.close();
  }
});
