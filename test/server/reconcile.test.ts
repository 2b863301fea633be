import sinon from 'sinon';
import { expiryJob } from '../../core/jobs/expiry.ts';
import { reconcileJob, reconcileSweepJob } from '../../core/jobs/reconcile.ts';
import { sinopacModule } from '../../providers/sinopac/index.ts';
import type { SinopacSimulator } from '../../providers/sinopac/simulator/index.ts';
import { paymentBody, startApp, withApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';

async function order(app: TestApp, overrides: Record<string, unknown> = {}) {
  const res = await app.api('POST', '/v1/payments', paymentBody(overrides));
  if (res.status !== 201) throw new Error(res.text);
  return res.body as { id: string; orderNo: string; expiresAt: string };
}

const later = (ms: number) => () => new Date(Date.now() + ms);

/**
 * Runs a job until `done` holds (a few rounds at most). On MariaDB, SKIP LOCKED lets a claim pass
 * over a row that another test's claim is scanning at that instant; the next round takes it.
 */
async function runUntil(job: { run(): Promise<number> }, done: () => Promise<boolean>, rounds = 10): Promise<void> {
  for (let i = 0; i < rounds && !(await done()); i++) await job.run();
}

const statusOf = (app: TestApp, id: string) => app.api('GET', `/v1/payments/${id}`).then((r) => r.body.status as string);

dbTest('a payment whose callback never came is found by asking the provider', async (t, h) => {
  await withApp(t, h, async (app) => {
    const lost = await order(app);
    // The provider took the money but its notify never reached us.
    app.sim.byOrderNo(lost.orderNo)!.status = 'PAID';
    // Young orders are left to their callbacks.
    await reconcileJob({ ...app.deps, now: later(60_000) }, 'r1', { minAgeMs: 10 * 60_000, merchantId: app.merchant.id }).run();
    t.is((await app.api('GET', `/v1/payments/${lost.id}`)).body.status, 'pending');
    await runUntil(reconcileJob({ ...app.deps, now: later(11 * 60_000) }, 'r1', { minAgeMs: 10 * 60_000, merchantId: app.merchant.id }), async () => (await statusOf(app, lost.id)) === 'paid');
    const got = (await app.api('GET', `/v1/payments/${lost.id}`)).body;
    t.is(got.status, 'paid');
    const tr = await h.db('order_transitions').where({ order_id: lost.id, to_status: 'paid' }).first();
    t.is(tr.source, 'reconcile');
    t.is((await h.db('events').where({ order_id: lost.id, type: 'payment.paid' })).length, 1);
  });
}, { serial: true });

dbTest('still waiting: asked again on a growing backoff; a provider that cannot answer is flagged past the cap', async (t, h) => {
  await withApp(t, h, async (app) => {
    const o = await order(app);
    const provider = app.deps.registry.find('fakepay')!;
    let clock = Date.now() + 11 * 60_000;
    const job = reconcileJob({ ...app.deps, now: () => new Date(clock) }, 'r2', { baseBackoffMs: 60_000, maxFaults: 3, merchantId: app.merchant.id });
    await job.run();
    let row = await h.db('orders').where({ id: o.id }).first();
    t.is(Number(row.reconcile_attempts), 1);
    const first = Number(row.next_reconcile_at) - clock;
    t.is(first, 60_000);
    await job.run();
    t.is(Number((await h.db('orders').where({ id: o.id }).first()).reconcile_attempts), 1, 'not due yet');
    clock += first;
    await job.run();
    row = await h.db('orders').where({ id: o.id }).first();
    t.is(Number(row.next_reconcile_at) - clock, 120_000, 'the pause doubles');
    t.falsy(Number(row.attention), 'a provider that says "waiting" is not a problem');

    const stub = sinon.stub(provider, 'query').rejects(new Error('provider down'));
    try {
      for (let fault = 1; fault <= 3; fault++) {
        clock = Number((await h.db('orders').where({ id: o.id }).first()).next_reconcile_at);
        await job.run();
        const faults = Number((await h.db('orders').where({ id: o.id }).first()).reconcile_faults);
        t.is(faults, fault, 'faults are counted apart from answers');
        if (fault < 3) t.falsy(Number((await h.db('orders').where({ id: o.id }).first()).attention));
      }
      const got = (await app.api('GET', `/v1/payments/${o.id}`)).body;
      t.is(got.status, 'pending', 'never a guess');
      t.regex(got.attention, /Reconciliation could not learn/);
      t.is((await h.db('events').where({ order_id: o.id, type: 'payment.attention' })).length, 1);
    } finally {
      stub.restore();
    }
  });
}, { serial: true });

dbTest('two reconcilers at once never ask about one order twice', async (t, h) => {
  await withApp(t, h, async (app) => {
    const orders = await Promise.all(Array.from({ length: 6 }, () => order(app)));
    const provider = app.deps.registry.find('fakepay')!;
    const spy = sinon.spy(provider, 'query');
    try {
      const deps = { ...app.deps, now: later(11 * 60_000) };
      const only = { merchantId: app.merchant.id, batch: 2 };
      const jobs = ['a', 'b', 'c'].map((owner) => reconcileJob(deps, owner, only));
      for (let round = 0; round < 10 && new Set(spy.getCalls().map((c) => c.args[0].order.id)).size < 6; round++) {
        await Promise.all(jobs.map((j) => j.run()));
      }
      const asked = spy.getCalls().map((c) => c.args[0].order.id).filter((id) => orders.some((o) => o.id === id));
      t.is(asked.length, 6);
      t.is(new Set(asked).size, 6);
    } finally {
      spy.restore();
    }
  });
}, { serial: true });

dbTest('expiry closes at the provider, then expires; a payment that lands later still wins, flagged', async (t, h) => {
  await withApp(t, h, async (app) => {
    const o = await order(app, { expiresInMinutes: 5 });
    const job = expiryJob({ ...app.deps, now: later(7 * 60_000) }, 'x1', { merchantId: app.merchant.id });
    await runUntil(job, async () => (await statusOf(app, o.id)) === 'expired');
    const expired = (await app.api('GET', `/v1/payments/${o.id}`)).body;
    t.is(expired.status, 'expired');
    t.is(app.sim.byOrderNo(o.orderNo)!.status, 'CLOSED');
    t.is((await h.db('order_transitions').where({ order_id: o.id, to_status: 'expired' }).first()).source, 'expiry');
    t.is((await h.db('events').where({ order_id: o.id, type: 'payment.expired' })).length, 1);
    // The money arrives anyway (the provider's close raced the buyer).
    app.sim.byOrderNo(o.orderNo)!.status = 'WAITING';
    await app.control('pay', o.orderNo);
    const paid = (await app.api('GET', `/v1/payments/${o.id}`)).body;
    t.is(paid.status, 'paid');
    t.regex(paid.attention, /Paid after the order was expired/);

    // Already paid at the provider when the deadline passes: the close is refused, the payment applied.
    const p = await order(app, { expiresInMinutes: 5 });
    app.sim.byOrderNo(p.orderNo)!.status = 'PAID';
    await runUntil(job, async () => (await statusOf(app, p.id)) === 'paid');
    t.is((await app.api('GET', `/v1/payments/${p.id}`)).body.status, 'paid');
    // Not yet due: untouched.
    const fresh = await order(app, { expiresInMinutes: 60 });
    await job.run();
    t.is((await app.api('GET', `/v1/payments/${fresh.id}`)).body.status, 'pending');
  });
}, { serial: true });

dbTest("the sweep finds SinoPac payments we never heard of through OrderQuery windows", async (t, h) => {
  let bank: SinopacSimulator | undefined;
  const app = await startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null }, onSimulator: (s) => (bank = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', paymentBody({ provider: 'sinopac', method: 'atm' }));
    bank!.setBackendUrlDown(true); // the bank's BackendURL calls never reach us
    await bank!.pay(created.body.orderNo);
    t.is((await app.api('GET', `/v1/payments/${created.body.id}`)).body.status, 'pending');
    await reconcileSweepJob(app.deps, { windowMs: 60 * 60_000 }).run();
    const got = (await app.api('GET', `/v1/payments/${created.body.id}`)).body;
    t.is(got.status, 'paid');
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' }).first()).source, 'reconcile');
  } finally {
    await app.close();
  }
}, { serial: true });

dbTest('expiry asks first: a SinoPac transfer booked at the last minute is paid, not expired', async (t, h) => {
  let bank: SinopacSimulator | undefined;
  const app = await startApp(h, { modules: [sinopacModule({ simulator: { atmAutoPayMs: null }, onSimulator: (s) => (bank = s) })] });
  try {
    const created = await app.api('POST', '/v1/payments', paymentBody({ provider: 'sinopac', method: 'atm', expiresInMinutes: 5 }));
    bank!.setBackendUrlDown(true);
    await bank!.pay(created.body.orderNo);
    const deadline = Date.parse(created.body.expiresAt);
    const job = expiryJob({ ...app.deps, now: () => new Date(deadline + 2 * 60_000) }, 'x2', { merchantId: app.merchant.id });
    await runUntil(job, async () => (await statusOf(app, created.body.id)) !== 'pending');
    t.is(await statusOf(app, created.body.id), 'paid');
    t.is((await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'expired' })).length, 0);
  } finally {
    await app.close();
  }
}, { serial: true });

dbTest('a provider that will not close a waiting payment does not keep expiry busy: it expires here', async (t, h) => {
  await withApp(t, h, async (app) => {
    const o = await order(app, { expiresInMinutes: 5 });
    const provider = app.deps.registry.find('fakepay')!;
    const cancel = sinon.stub(provider, 'cancel').resolves({ outcome: 'not_cancellable', code: 'BUSY', message: 'try later' });
    const query = sinon.spy(provider, 'query');
    try {
      const job = expiryJob({ ...app.deps, now: later(7 * 60_000) }, 'x3', { merchantId: app.merchant.id });
      await runUntil(job, async () => (await statusOf(app, o.id)) === 'expired');
      t.is(await statusOf(app, o.id), 'expired');
      const cause = (await h.db('order_transitions').where({ order_id: o.id, to_status: 'expired' }).first()).cause;
      t.regex(cause, /would not close it \(BUSY\)/);
      const asked = query.callCount;
      await job.run();
      t.is(query.callCount, asked, 'an expired order is not asked again by expiry');
    } finally {
      cancel.restore();
      query.restore();
    }
  });
}, { serial: true });
