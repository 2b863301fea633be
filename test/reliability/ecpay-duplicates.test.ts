/**
 * 10,000 deliveries of one ECPay ReturnURL notice (CI: fewer), 64 at a time, half as ECPay's first
 * delivery and half as its re-send (RtnMsg=paid, signed anew): one transition, one payment.paid
 * event, two inbox rows (one per distinct body), and every delivery answered exactly `1|OK`.
 */
import { ecpayModule } from '../../providers/ecpay/index.ts';
import type { EcpaySimulator } from '../../providers/ecpay/simulator/index.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { figure, pool, size } from './size.ts';

const DELIVERIES = size(1_000, 10_000);
const CONCURRENCY = 64;

dbTest(`ECPay: ${DELIVERIES} duplicate notices, ${CONCURRENCY} at a time: one transition, one payment.paid event, all 1|OK`, async (t, h) => {
  t.timeout(10 * 60_000);
  let sim: EcpaySimulator | undefined;
  const app = await startApp(h, { modules: [ecpayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', {
      merchantOrderId: `EDUP-${Date.now()}`,
      currency: 'TWD',
      amount: 120000,
      items: [{ sku: 'A', name: 'Tea', unitAmount: 120000, quantity: 1 }],
      provider: 'ecpay',
      method: 'card',
    });
    t.is(created.status, 201, created.text);
    // The buyer's browser brings the form to AioCheckOut, so ECPay knows the order.
    const handOff = await fetch(created.body.action.url, { method: 'POST', body: new URLSearchParams(created.body.action.fields), redirect: 'manual' });
    t.is(handOff.status, 303);
    const first = sim!.noticeFields(created.body.orderNo, 'paid');
    const resend = sim!.sign({ ...first, RtnMsg: 'paid' }, first.MerchantID!);
    const bodies = [new URLSearchParams(first).toString(), new URLSearchParams(resend).toString()];
    const started = Date.now();
    const answers = await pool(DELIVERIES, CONCURRENCY, (i) =>
      app.raw('POST', '/callbacks/ecpay/default/notify', { body: bodies[i % 2]!, headers: { 'content-type': 'application/x-www-form-urlencoded' } }).then((r) => r.text),
    );
    const seconds = (Date.now() - started) / 1000;
    const ok = answers.filter((a) => a === '1|OK').length;
    const transitions = await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' });
    const events = await h.db('events').where({ order_id: created.body.id, type: 'payment.paid' });
    const rows = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify' });
    figure(`ecpay duplicates [${h.kind}]`, { deliveries: DELIVERIES, concurrency: CONCURRENCY, ok, transitions: transitions.length, paidEvents: events.length, inboxRows: rows.length, seconds: seconds.toFixed(1) });
    t.is(ok, DELIVERIES, 'every delivery answered exactly 1|OK');
    t.is(transitions.length, 1);
    t.is(events.length, 1);
    t.is(rows.length, 2, 'one inbox row per distinct body');
    t.deepEqual(rows.map((r: any) => r.outcome).sort(), ['applied', 'duplicate']);
    const paid = await app.api('GET', `/v1/payments/${created.body.id}`);
    t.is(paid.body.status, 'paid');
    t.is(paid.body.providerTradeNo, first.TradeNo);
  } finally {
    await app.close();
  }
});
