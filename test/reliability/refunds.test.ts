/**
 * 100 concurrent partial refunds on one Alipay payment: the total refunded never exceeds what was
 * paid, at Alipay (its simulator's books) and here, exactly.
 */
import { alipayModule } from '../../providers/alipay/index.ts';
import type { AlipaySimulator } from '../../providers/alipay/simulator/index.ts';
import { startApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { figure } from './size.ts';

const CONCURRENT = 100;

dbTest(`${CONCURRENT} concurrent partial refunds on one order: refunded ≤ paid, exactly`, async (t, h) => {
  t.timeout(5 * 60_000);
  let sim: AlipaySimulator | undefined;
  const app = await startApp(h, { modules: [alipayModule({ onSimulator: (s) => (sim = s) })] });
  try {
    const paidAmount = 10_000; // ¥100.00
    const created = await app.api('POST', '/v1/payments', {
      merchantOrderId: `RF-${Date.now()}`,
      currency: 'CNY',
      amount: paidAmount,
      items: [{ sku: 'A', name: 'Tea', unitAmount: paidAmount, quantity: 1 }],
      provider: 'alipay',
      method: 'page',
    });
    await (await fetch(created.body.action.url)).arrayBuffer();
    await sim!.pay(created.body.orderNo);
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'paid');

    const each = 300; // 34 × 3.00 would be 102.00
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: each })));
    await sim!.settle();
    await app.background.drain();
    const succeeded = answers.filter((a) => a.status === 201 && a.body.status === 'succeeded').length;
    const refused = answers.filter((a) => a.status === 409).length;
    const ours = (await h.db('refunds').where({ order_id: created.body.id, status: 'succeeded' })).reduce((n: number, r: any) => n + Number(r.amount_minor), 0);
    const theirs = sim!.trades.find((tr) => tr.outTradeNo === created.body.orderNo)!.refundedMinor;
    const payment = (await app.api('GET', `/v1/payments/${created.body.id}`)).body;
    figure(`refunds [${h.kind}]`, { concurrent: CONCURRENT, paid: paidAmount, succeeded, refused, refundedHere: ours, refundedAtProvider: theirs });
    t.is(succeeded + refused, CONCURRENT, answers.filter((a) => a.status !== 201 && a.status !== 409).map((a) => a.text).join('\n'));
    t.is(succeeded, Math.floor(paidAmount / each));
    t.is(ours, succeeded * each);
    t.is(theirs, ours, 'the provider gave back exactly what we recorded');
    t.true(ours <= paidAmount);
    t.is(payment.refundedAmount, ours);
    t.is(payment.status, 'partially_refunded');
  } finally {
    await app.close();
  }
});
