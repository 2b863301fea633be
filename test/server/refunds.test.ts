import sinon from 'sinon';
import { ProviderUnavailableError } from '../../core/errors.ts';
import { refundRecheckJob } from '../../core/jobs/refund-recheck.ts';
import { paymentBody, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

async function paidOrder(app: TestApp, amount = 10000) {
  const created = await app.api('POST', '/v1/payments', paymentBody({ amount, items: [{ sku: 'A', name: 'Tea', unitAmount: amount, quantity: 1 }] }));
  if (created.status !== 201) throw new Error(created.text);
  await app.control('pay', created.body.orderNo);
  return created.body as { id: string; orderNo: string };
}

dbTest('partial refunds, then the rest: partially_refunded, then refunded, with events', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await paidOrder(app);
    const first = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 3000, reason: 'one cup broken' });
    t.is(first.status, 201, first.text);
    t.like(first.body, { amount: 3000, status: 'succeeded', currency: 'TWD', paymentId: order.id, reason: 'one cup broken' });
    t.regex(first.body.refundNo, /^R\d{12}[0-9A-Z]{8}$/);
    let payment = (await app.api('GET', `/v1/payments/${order.id}`)).body;
    t.is(payment.status, 'partially_refunded');
    t.is(payment.refundedAmount, 3000);

    t.is((await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 2000 })).status, 201);
    payment = (await app.api('GET', `/v1/payments/${order.id}`)).body;
    t.is(payment.status, 'partially_refunded');
    t.is(payment.refundedAmount, 5000);

    const over = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 5001 });
    t.is(over.status, 409);
    t.is(over.body.error.code, 'refund_exceeds_payment');
    t.is(over.body.error.details[0].path, 'amount');

    t.is((await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 5000 })).status, 201);
    payment = (await app.api('GET', `/v1/payments/${order.id}`)).body;
    t.is(payment.status, 'refunded');
    t.is(payment.refundedAmount, 10000);
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 10000, 'the provider gave back exactly that');

    const list = await app.api('GET', `/v1/payments/${order.id}/refunds`);
    t.deepEqual(list.body.data.map((r: { amount: number }) => r.amount), [3000, 2000, 5000]);
    const events = await h.db('events').where({ order_id: order.id, type: 'payment.refunded' });
    t.is(events.length, 3, 'one event per refund, including the one that did not change the status');
    t.is(JSON.parse(events[1].payload_json).data.refund.amount, 2000);
  });
});

dbTest('100 concurrent partial refunds never give back more than was paid', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await paidOrder(app, 10000);
    const answers = await Promise.all(Array.from({ length: 100 }, () => app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 300 })));
    // 201 settled; 202 accepted but the provider did not answer in time (a loaded machine): its
    // amount is reserved all the same, and the recheck job settles it below.
    const ok = answers.filter((a) => a.status === 201 || a.status === 202);
    const refused = answers.filter((a) => a.status === 409);
    t.is(ok.length + refused.length, 100, answers.filter((a) => a.status !== 201 && a.status !== 202 && a.status !== 409).map((a) => a.text).join('\n'));
    t.is(ok.length, 33, '33 × 300 = 9,900 fits in 10,000; a 34th would not');
    const job = refundRecheckJob({ ...app.deps, now: () => new Date(Date.now() + 3 * 60_000) }, { batch: 100 });
    for (let i = 0; i < 5 && (await h.db('refunds').where({ order_id: order.id, status: 'pending' })).length > 0; i++) await job.run();
    const sum = (await h.db('refunds').where({ order_id: order.id, status: 'succeeded' })).reduce((n: number, r: any) => n + Number(r.amount_minor), 0);
    t.is(sum, 9900);
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 9900);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.refundedAmount, 9900);
  });
});

dbTest('refund rules: unpaid, bad amounts, other merchants, and idempotent replays', async (t, h) => {
  await withApp(t, h, async (app) => {
    const unpaid = await app.api('POST', '/v1/payments', paymentBody());
    const notYet = await app.api('POST', `/v1/payments/${unpaid.body.id}/refunds`, { amount: 100 });
    t.is(notYet.status, 409);
    t.is(notYet.body.error.code, 'not_refundable');

    const order = await paidOrder(app);
    for (const [body, field] of [
      [{ amount: 0 }, 'amount'],
      [{ amount: 1.5 }, 'amount'],
      [{ amount: '100' }, 'amount'],
      [{}, 'amount'],
      [{ amount: 100, extra: 1 }, 'extra'],
    ] as const) {
      const res = await app.api('POST', `/v1/payments/${order.id}/refunds`, body);
      t.is(res.status, 400, JSON.stringify(body));
      t.true(res.body.error.details.some((d: { path: string }) => d.path === field));
    }
    t.is((await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 100 }, {}, app.other)).status, 404);
    t.is((await app.api('GET', `/v1/payments/${order.id}/refunds`, undefined, {}, app.other)).status, 404);

    const key = { 'idempotency-key': `refund-${order.id}` };
    const a = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 1000 }, key);
    const b = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 1000 }, key);
    t.is(b.status, 201);
    t.is(b.body.id, a.body.id);
    t.is((await h.db('refunds').where({ order_id: order.id })).length, 1, 'the replay refunded nothing more');
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 1000);
  });
});

dbTest('a refund whose outcome was never confirmed stays reserved, and is asked again with the same number', async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await paidOrder(app);
    const provider = app.deps.registry.find('fakepay')!;
    const stub = sinon.stub(provider, 'refund').rejects(new ProviderUnavailableError('fakepay refund: timeout'));
    let pending: any;
    try {
      pending = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 6000 });
      t.is(pending.status, 202);
      t.is(pending.body.status, 'pending');
      // Its amount stays reserved: only 4,000 is left.
      const over = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 4001 });
      t.is(over.status, 409);
    } finally {
      stub.restore();
    }
    const job = refundRecheckJob({ ...app.deps, now: () => new Date(Date.now() + 3 * 60_000) });
    for (let i = 0; i < 5 && (await h.db('refunds').where({ id: pending.body.id }).first()).status === 'pending'; i++) await job.run();
    const settled = await h.db('refunds').where({ id: pending.body.id }).first();
    t.is(settled.status, 'succeeded');
    t.is(settled.refund_no, pending.body.refundNo);
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 6000, 'refunded once');
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.refundedAmount, 6000);
  });
}, { serial: true });

dbTest("a refund settles even when the provider's own notify already marked the order refunded", async (t, h) => {
  await withApp(t, h, async (app) => {
    const order = await paidOrder(app);
    const provider = app.deps.registry.find('fakepay')!;
    const stub = sinon.stub(provider, 'refund').rejects(new ProviderUnavailableError('fakepay refund: timeout'));
    let pending: any;
    try {
      pending = await app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: 10000 });
      t.is(pending.status, 202);
    } finally {
      stub.restore();
    }
    // The refund did go through at the provider, and its notify arrives first.
    await provider.refund!({ order: { orderNo: order.orderNo } as never, refundNo: pending.body.refundNo, amount: 10000 });
    await h.db('orders').where({ id: order.id }).update({ status: 'refunded' });
    const job = refundRecheckJob({ ...app.deps, now: () => new Date(Date.now() + 3 * 60_000) });
    for (let i = 0; i < 5 && (await h.db('refunds').where({ id: pending.body.id }).first()).status === 'pending'; i++) await job.run();
    t.is((await h.db('refunds').where({ id: pending.body.id }).first()).status, 'succeeded');
    const payment = (await app.api('GET', `/v1/payments/${order.id}`)).body;
    t.is(payment.status, 'refunded');
    t.is(payment.refundedAmount, 10000);
    t.is(app.sim.byOrderNo(order.orderNo)!.refunded, 10000, 'refunded once');
  });
}, { serial: true });
