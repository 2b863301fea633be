/**
 * LINE Pay through the whole gateway against its simulator over HTTP (docs/protocols/linepay.md): the
 * buyer's return as the notify, Confirm as the only fact, the 19-digit ids kept whole, and what
 * happens when the buyer never comes back, when Confirm's answer is lost, when the return is forged,
 * when the buyer cancels or fails, and refunds.
 */
import { inboxRetryJob } from '../../../core/jobs/inbox-retry.ts';
import { reconcileJob } from '../../../core/jobs/reconcile.ts';
import { authHeaders } from '../../../providers/linepay/crypto.ts';
import { linepayModule } from '../../../providers/linepay/index.ts';
import type { LinepaySimulator, LinepaySimulatorOptions } from '../../../providers/linepay/simulator/index.ts';
import { paymentBody, startApp, type TestApp } from '../../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../../helpers/db.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

async function withLinePay(h: TestDbHandle, fn: (app: TestApp, sim: LinepaySimulator) => Promise<void>, options: LinepaySimulatorOptions = {}): Promise<void> {
  let sim: LinepaySimulator | undefined;
  const app = await startApp(h, { modules: [linepayModule({ simulator: options, onSimulator: (s) => (sim = s) })] });
  try {
    await fn(app, sim!);
  } finally {
    await app.close();
  }
}

async function newPayment(app: TestApp): Promise<{ id: string; orderNo: string; action: { type: string; url: string } }> {
  const res = await app.api('POST', '/v1/payments', paymentBody({ provider: 'linepay', method: 'wallet', amount: 79800, items: [{ sku: 'TEA-1', name: '凍頂烏龍茶 300g', unitAmount: 39900, quantity: 2 }] }));
  if (res.status !== 201) throw new Error(res.text);
  return res.body;
}

async function control(app: TestApp, action: string, input: Record<string, unknown>): Promise<any> {
  const res = await app.raw('POST', `/sim/linepay/_control/${action}`, { body: JSON.stringify(input), headers: { 'content-type': 'application/json' } });
  await app.background.drain();
  if (res.status >= 400) throw new Error(`${action}: ${res.status} ${res.text}`);
  return JSON.parse(res.text);
}

const statusOf = async (app: TestApp, id: string) => (await app.api('GET', `/v1/payments/${id}`)).body.status as string;
const gatewayPath = (url: string) => new URL(url).pathname + new URL(url).search;

dbTest('approve, back at the confirmUrl: Confirm is called with the order\'s amount, paid, the browser sent on to the result page; the 19-digit id is kept whole', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const created = await newPayment(app);
    t.is(created.action.type, 'redirect');
    const page = await fetch(created.action.url);
    t.is(page.status, 200);
    t.regex(await page.text(), /NT\$<span id="amount">798<\/span>/);

    const paid = await control(app, 'pay', { orderNo: created.orderNo });
    const txn = sim.byOrderNo(created.orderNo)!;
    t.true(BigInt(txn.transactionId) > MAX_SAFE, 'the simulator hands out ids JSON.parse would round');
    t.is(paid.nextUrl, `${app.url}/callbacks/linepay/default/notify?transactionId=${txn.transactionId}&orderId=${encodeURIComponent(txn.orderId)}`);
    t.is(paid.firstNotify.status, 303);
    t.is(paid.firstNotify.location, `${app.url}/callbacks/linepay/default/return?transactionId=${txn.transactionId}&orderId=${encodeURIComponent(txn.orderId)}`);

    const order = await h.db('orders').where({ id: created.id }).first();
    t.is(order.status, 'paid');
    t.is(order.provider_trade_no, txn.transactionId, 'digit for digit');
    t.is(txn.status, 'CAPTURE');
    t.deepEqual(txn.payInfo, [{ method: 'CREDIT_CARD', amount: 798 }]);

    // The result page the browser lands on shows the payment; looking changes nothing.
    const result = await app.raw('GET', gatewayPath(paid.firstNotify.location));
    t.is(result.status, 200);
    t.regex(result.text, /NT\$798/);
    // A refresh of the confirmUrl is the same row: acknowledged, no second Confirm, nothing moves.
    const again = await app.raw('GET', gatewayPath(paid.nextUrl));
    t.is(again.status, 303);
    t.is((await h.db('order_transitions').where({ order_id: created.id, to_status: 'paid' })).length, 1);
    t.is((await h.db('provider_callbacks').where({ order_id: created.id, kind: 'notify' })).length, 1);
  });
});

dbTest(
  'the buyer approves and never comes back: reconciliation finds the approval (Check 0110), confirms it, and the order is paid',
  async (t, h) => {
    await withLinePay(h, async (app, sim) => {
      const created = await newPayment(app);
      await control(app, 'pay', { orderNo: created.orderNo, redirect: false });
      t.is(sim.byOrderNo(created.orderNo)!.status, 'APPROVED');
      t.is(await statusOf(app, created.id), 'pending');
      const job = reconcileJob({ ...app.deps, now: () => new Date(Date.now() + 11 * 60_000) }, 'lp1', { minAgeMs: 10 * 60_000, merchantId: app.merchant.id });
      for (let i = 0; i < 10 && (await statusOf(app, created.id)) !== 'paid'; i++) await job.run();
      t.is(await statusOf(app, created.id), 'paid');
      t.is(sim.byOrderNo(created.orderNo)!.status, 'CAPTURE');
      t.is((await h.db('order_transitions').where({ order_id: created.id, to_status: 'paid' }).first()).source, 'reconcile');
    });
  },
  { serial: true },
);

dbTest(
  'Confirm\'s answer is lost (the change made, the connection dropped): the browser goes on, the row is retried, and the second Confirm\'s "already done" is settled by Payment Details, never by a second charge',
  async (t, h) => {
    await withLinePay(h, async (app, sim) => {
      const created = await newPayment(app);
      sim.inject('confirm', { dropAfterCommit: true });
      const paid = await control(app, 'pay', { orderNo: created.orderNo });
      t.is(paid.firstNotify.status, 303, 'the buyer still goes on to the result page');
      t.is(sim.byOrderNo(created.orderNo)!.status, 'CAPTURE', 'LINE Pay took the money');
      t.is(await statusOf(app, created.id), 'pending', 'paygate could not know');
      const row = await h.db('provider_callbacks').where({ order_id: null, dedupe_key: sim.byOrderNo(created.orderNo)!.transactionId }).first();
      t.truthy(row, 'the return is on record');
      t.is(row.processed_at, null);
      t.true(Number(row.attempts) >= 1, 'scheduled for another try');
      // The inbox-retry job's next try: Confirm again answers 1172; Check says completed; Details has the payment.
      await inboxRetryJob({ ...app.deps, now: () => new Date(Date.now() + 3_600_000) }, 'w1').run();
      t.is(await statusOf(app, created.id), 'paid');
      t.deepEqual(sim.byOrderNo(created.orderNo)!.payInfo, [{ method: 'CREDIT_CARD', amount: 798 }], 'charged once');
    });
  },
  // The inbox-retry job, an hour ahead, takes whatever row is due in the file's shared database: alone.
  { serial: true },
);

dbTest('a forged return (another transactionId, or an order of nobody) is refused, kept, and confirms nothing', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const created = await newPayment(app);
    await control(app, 'pay', { orderNo: created.orderNo, redirect: false });
    const txn = sim.byOrderNo(created.orderNo)!;
    const other = (BigInt(txn.transactionId) + 7n).toString();
    const forged = await app.raw('GET', `/callbacks/linepay/default/notify?transactionId=${other}&orderId=${txn.orderId}`);
    t.is(forged.status, 400);
    const nobody = await app.raw('GET', `/callbacks/linepay/default/notify?transactionId=${txn.transactionId}&orderId=26010100000000000000-abcdef`);
    t.is(nobody.status, 400);
    t.is(txn.status, 'APPROVED', 'no Confirm was sent');
    t.is(await statusOf(app, created.id), 'pending');
    const kept = await h.db('provider_callbacks').whereIn('dedupe_key', [other, txn.transactionId]).orderBy('id');
    t.deepEqual(kept.map((r: any) => [r.outcome, Number(r.verified)]), [['rejected', 0], ['rejected', 0]]);
  });
});

dbTest('the buyer fails or cancels on LINE Pay\'s page: the cancelUrl hit is checked with LINE Pay (0122 failed, 0121 cancelled)', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const failed = await newPayment(app);
    const declined = await control(app, 'decline', { orderNo: failed.orderNo, returnCode: '1142' });
    t.is(declined.firstNotify.status, 303);
    t.is(await statusOf(app, failed.id), 'failed');
    const order = await h.db('orders').where({ id: failed.id }).first();
    t.is(order.failure_code, '0122', 'LINE Pay\'s Check answer: the payment failed');

    const cancelled = await newPayment(app);
    await control(app, 'cancel', { orderNo: cancelled.orderNo });
    t.is(await statusOf(app, cancelled.id), 'cancelled');
    t.is(sim.byOrderNo(cancelled.orderNo)!.status, 'CANCELLED');
  });
});

dbTest('an approval that lapsed (past the 20 minutes) is closed, not paid; a request never approved stays pending', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const waiting = await newPayment(app);
    const provider = app.deps.registry.find('linepay')!;
    const snapshot = async (id: string) => (await import('../../../core/orders.ts')).loadSnapshot(h.db, (await (await import('../../../core/orders.ts')).findOrder(h.db, id))!);
    const before = await provider.query({ order: await snapshot(waiting.id) });
    t.true(before.found && before.facts.outcome === 'pending');
    await control(app, 'pay', { orderNo: waiting.orderNo, redirect: false });
    sim.advanceClock(21 * 60_000);
    const after = await provider.query({ order: await snapshot(waiting.id) });
    t.true(after.found && after.facts.outcome === 'closed' && after.facts.code === '0121', JSON.stringify(after));
    t.is(sim.byOrderNo(waiting.orderNo)!.status, 'EXPIRED');
  });
});

dbTest('refunds through the API: partial, then the rest, never more; Payment Details then shows them as refunded', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const created = await newPayment(app);
    await control(app, 'pay', { orderNo: created.orderNo });
    t.is(await statusOf(app, created.id), 'paid');
    const part = await app.api('POST', `/v1/payments/${created.id}/refunds`, { amount: 30000 });
    t.is(part.status, 201, part.text);
    t.is(part.body.status, 'succeeded');
    t.true(BigInt(part.body.providerRefundNo ?? sim.byOrderNo(created.orderNo)!.refunds[0]!.refundTransactionId) > MAX_SAFE);
    const cents = await app.api('POST', `/v1/payments/${created.id}/refunds`, { amount: 150 });
    t.true(cents.status >= 400 || cents.body.status === 'failed', `cents are refused: ${cents.status} ${cents.text}`);
    const rest = await app.api('POST', `/v1/payments/${created.id}/refunds`, { amount: 49800 });
    t.is(rest.body.status, 'succeeded', rest.text);
    t.deepEqual(sim.byOrderNo(created.orderNo)!.refunds.map((r) => r.amount), [300, 498]);
    t.is(await statusOf(app, created.id), 'refunded');
  });
});

dbTest('the simulator checks every call: a bad signature, a reused nonce and an unknown channel are refused', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const config = sim.accountConfig('default');
    const path = '/v3/payments/requests/1000000000000000001/check';
    const call = (headers: Record<string, string>) => fetch(`${config.baseUrl}${path}`, { headers }).then((r) => r.json() as Promise<{ returnCode: string }>);
    const good = authHeaders(config.channelId, config.channelSecret, path, '', 'nonce-1');
    t.is((await call(good)).returnCode, '1150', 'good keys: the transaction is unknown');
    t.is((await call(good)).returnCode, '1106', 'the same nonce again');
    t.is((await call(authHeaders(config.channelId, 'x'.repeat(32), path, '', 'nonce-2'))).returnCode, '1106');
    t.is((await call(authHeaders('1699999999', config.channelSecret, path, '', 'nonce-3'))).returnCode, '1104');
    t.is((await call({})).returnCode, '1106', 'no headers');
    t.is((await app.deps.registry.find('linepay')!.probe!()).status, 'ok');
  });
});

dbTest('capture: false: Confirm authorises and paygate captures at once; an authorisation left behind is captured by reconciliation while the order waits, voided once it no longer does', async (t, h) => {
  await withLinePay(h, async (app, sim) => {
    const { LinepayProvider } = await import('../../../providers/linepay/adapter.ts');
    const { linepayConfig } = await import('../../../providers/linepay/config.ts');
    const { findOrder, loadSnapshot } = await import('../../../core/orders.ts');
    const separate = new LinepayProvider('default', linepayConfig.parse({ ...sim.accountConfig('default'), capture: false }), { notifyUrl: `${app.url}/n`, returnUrl: `${app.url}/r` });
    const snapshotOf = async (id: string) => loadSnapshot(h.db, (await findOrder(h.db, id))!);

    const first = await newPayment(app);
    const order1 = await snapshotOf(first.id);
    const created = await separate.create({ order: order1, urls: { notifyUrl: `${app.url}/n`, returnUrl: `${app.url}/r` } });
    t.is(created.outcome, 'pending');
    const tid1 = created.outcome === 'pending' ? created.providerTradeNo! : '';
    sim.transactions.get(tid1)!.status = 'APPROVED';
    const paid = await separate.query({ order: { ...order1, providerTradeNo: tid1 } });
    t.true(paid.found && paid.facts.outcome === 'paid', JSON.stringify(paid));
    t.is(sim.transactions.get(tid1)!.status, 'CAPTURE', 'authorised, then captured');

    const second = await newPayment(app);
    const order2 = await snapshotOf(second.id);
    const again = await separate.create({ order: order2, urls: { notifyUrl: `${app.url}/n`, returnUrl: `${app.url}/r` } });
    const tid2 = again.outcome === 'pending' ? again.providerTradeNo! : '';
    sim.transactions.get(tid2)!.status = 'APPROVED';
    sim.inject('capture', { returnCode: '9000' });
    await t.throwsAsync(separate.query({ order: { ...order2, providerTradeNo: tid2 } }), { message: /capture: returnCode 9000/ });
    t.is(sim.transactions.get(tid2)!.status, 'AUTHORIZATION', 'the capture failed: the money is only held');
    const dropped = await separate.query({ order: { ...order2, providerTradeNo: tid2, status: 'cancelled' } });
    t.true(dropped.found && dropped.facts.outcome === 'closed', JSON.stringify(dropped));
    t.is(sim.transactions.get(tid2)!.status, 'VOIDED_AUTHORIZATION', 'released, not captured, for an order no longer waiting');
  });
});
