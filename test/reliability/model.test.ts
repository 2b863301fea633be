/**
 * Model-based test of what paygate does with money news (issue 14): fast-check draws random
 * sequences of what merchants, buyers, the provider and the jobs do — create, pay (with or without
 * the notify arriving), decline, duplicate and late notifies, reconciliation, expiry, merchant
 * refunds (partial, three at once), refunds made in the provider's back office, cancels and second
 * payments — against the real HTTP API and FakePay's simulator, on both databases. After every
 * step the invariants below must hold; after the jobs have run, our books must agree with the
 * simulator's. A counterexample fast-check shrinks goes into test/unit/decide.test.ts's table.
 */
import fc from 'fast-check';
import type { Knex } from 'knex';
import { expiryJob } from '../../core/jobs/expiry.ts';
import { createMerchant } from '../../core/merchants.ts';
import { inboxRetryJob } from '../../core/jobs/inbox-retry.ts';
import { reconcileJob, sweepableProviders, sweepAccount } from '../../core/jobs/reconcile.ts';
import { eventTypeFor } from '../../core/outbox.ts';
import { SETTLED_PAID_STATUSES, type OrderStatus } from '../../core/state-machine.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { dbTest } from '../helpers/db.ts';
import { size } from './size.ts';

const RUNS = size(25, 200);
const MAX_COMMANDS = size(20, 40);

interface Model {
  orders: { id: string; orderNo: string; amount: number }[];
}

interface Real {
  app: TestApp;
  db: Knex;
  clock: { offsetMs: number };
  /** Each history is a merchant of its own, so the jobs see only its orders. */
  merchant: { id: string; apiKey: string };
}

type Cmd = fc.AsyncCommand<Model, Real, false>;

const pick = (model: Model, i: number) => model.orders[i % model.orders.length]!;

async function control(app: TestApp, action: string, body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${app.url}/sim/fakepay/_control/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  await app.background.drain();
  return res.status;
}

function accept(status: number, ok: number[], what: string): void {
  if (!ok.includes(status)) throw new Error(`${what} answered ${status}`);
}

class Create implements Cmd {
  constructor(readonly method: 'card' | 'atm', readonly amount: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const res = await real.app.api('POST', '/v1/payments', paymentBody({ method: this.method, amount: this.amount, items: [{ sku: 'A', name: 'Tea', unitAmount: this.amount, quantity: 1 }] }), {}, real.merchant);
    accept(res.status, [201], 'create');
    model.orders.push({ id: res.body.id, orderNo: res.body.orderNo, amount: this.amount });
  }
  toString = () => `create(${this.method}, ${this.amount})`;
}

class Pay implements Cmd {
  constructor(readonly i: number, readonly notify: boolean) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    accept(await control(real.app, 'pay', { orderNo: pick(model, this.i).orderNo, notify: this.notify }), [200, 409], 'pay');
  }
  toString = () => `pay(#${this.i}${this.notify ? '' : ', notify lost'})`;
}

class Decline implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    accept(await control(real.app, 'decline', { orderNo: pick(model, this.i).orderNo }), [200, 409], 'decline');
  }
  toString = () => `decline(#${this.i})`;
}

class Renotify implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    // The last notify again (a duplicate, or a late one after the order moved on); 404 before any.
    accept(await control(real.app, 'renotify', { orderNo: pick(model, this.i).orderNo }), [200, 404], 'renotify');
  }
  toString = () => `renotify(#${this.i})`;
}

class ProviderRefund implements Cmd {
  constructor(readonly i: number, readonly part: number) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    const order = pick(model, this.i);
    accept(await control(real.app, 'refund', { orderNo: order.orderNo, amount: Math.max(1, Math.floor((order.amount * this.part) / 4)) }), [200, 409], 'provider refund');
  }
  toString = () => `providerRefund(#${this.i}, ${this.part}/4)`;
}

class PayTwice implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    accept(await control(real.app, 'pay-twice', { orderNo: pick(model, this.i).orderNo }), [200, 409], 'pay twice');
  }
  toString = () => `payTwice(#${this.i})`;
}

class Refund implements Cmd {
  constructor(readonly i: number, readonly parts: number[]) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    const order = pick(model, this.i);
    // Several at once when parts has more than one: they race for the same amount.
    const answers = await Promise.all(
      this.parts.map((part) => real.app.api('POST', `/v1/payments/${order.id}/refunds`, { amount: Math.max(1, Math.floor((order.amount * part) / 4)) }, {}, real.merchant)),
    );
    for (const a of answers) accept(a.status, [201, 202, 409], `refund ${a.text}`);
  }
  toString = () => `refund(#${this.i}, ${this.parts.map((p) => `${p}/4`).join(' + ')})`;
}

class Cancel implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.orders.length > 0;
  async run(model: Model, real: Real) {
    const res = await real.app.api('POST', `/v1/payments/${pick(model, this.i).id}/cancel`, {}, {}, real.merchant);
    accept(res.status, [200, 409], `cancel ${res.text}`);
  }
  toString = () => `cancel(#${this.i})`;
}

class Reconcile implements Cmd {
  check = () => true;
  async run(_model: Model, real: Real) {
    await reconcileJob(real.app.deps, 'model', { minAgeMs: 0, baseBackoffMs: 0, maxBackoffMs: 0, merchantId: real.merchant.id }).run();
    await real.app.background.drain();
  }
  toString = () => 'reconcile()';
}

class Expire implements Cmd {
  check = () => true;
  async run(_model: Model, real: Real) {
    // A day and a bit passes: every payment still waiting is past its deadline.
    real.clock.offsetMs += 25 * 60 * 60_000;
    await expiryJob(real.app.deps, 'model', { graceMs: 0, merchantId: real.merchant.id }).run();
    await real.app.background.drain();
  }
  toString = () => 'expire()';
}

/** The invariants of issue 14, over every order of this run. Returns what is wrong. */
async function invariants(db: Knex, orderIds: string[]): Promise<string[]> {
  if (orderIds.length === 0) return [];
  const problems: string[] = [];
  const orders = await db('orders').whereIn('id', orderIds);
  for (const o of orders) {
    const status = o.status as OrderStatus;
    const amount = Number(o.amount_minor);
    const refunded = Number(o.refunded_minor);
    const refunds = await db('refunds').where({ order_id: o.id });
    const succeeded = refunds.filter((r: any) => r.status === 'succeeded').reduce((s: number, r: any) => s + Number(r.amount_minor), 0);
    const tag = `${o.order_no} (${status})`;
    if (refunded !== succeeded) problems.push(`${tag}: refunded ${refunded} but succeeded refunds add up to ${succeeded}`);
    if (refunded > amount) problems.push(`${tag}: refunded ${refunded} of ${amount}`);
    if (status === 'partially_refunded' && !(refunded > 0 && refunded < amount)) problems.push(`${tag}: partially refunded with ${refunded} of ${amount}`);
    if (status === 'refunded' && refunded !== amount) problems.push(`${tag}: refunded with ${refunded} of ${amount}`);
    if (status === 'paid' && refunded !== 0) problems.push(`${tag}: paid with ${refunded} refunded`);
    if (!SETTLED_PAID_STATUSES.includes(status) && refunded !== 0) problems.push(`${tag}: ${refunded} refunded on an unpaid order`);
    if (SETTLED_PAID_STATUSES.includes(status) && (o.paid_at === null || !o.provider_trade_no)) problems.push(`${tag}: settled without paid time or trade number`);
    const transitions = await db('order_transitions').where({ order_id: o.id }).orderBy('id');
    const events = (await db('events').where({ order_id: o.id }).orderBy('id')).map((e: any) => ({ type: e.type, data: JSON.parse(e.payload_json).data }));
    const changes = events.filter((e: any) => e.data.from !== undefined);
    if (changes.length !== transitions.length) problems.push(`${tag}: ${transitions.length} transitions but ${changes.length} status events`);
    transitions.forEach((tr: any, k: number) => {
      const e = changes[k];
      if (!e || e.type !== eventTypeFor(tr.to_status) || e.data.from !== tr.from_status) problems.push(`${tag}: transition ${tr.from_status}→${tr.to_status} has event ${e?.type} from ${e?.data.from}`);
    });
    if (transitions.length > 0 && transitions[transitions.length - 1].to_status !== status) problems.push(`${tag}: the last transition does not end in the status`);
  }
  return problems;
}

/** Once the jobs have run, our books and FakePay's agree. */
async function agreesWithProvider(real: Real, model: Model): Promise<string[]> {
  const problems: string[] = [];
  for (const m of model.orders) {
    const o = await real.db('orders').where({ id: m.id }).first();
    const trade = real.app.sim.byOrderNo(m.orderNo);
    if (!trade) continue;
    const status = o.status as OrderStatus;
    const settledHere = SETTLED_PAID_STATUSES.includes(status);
    const paidThere = trade.status === 'PAID' || trade.status === 'REFUNDED';
    if (paidThere !== settledHere) problems.push(`${m.orderNo}: FakePay ${trade.status}, here ${status}`);
    // Paid twice: which payment a refund belongs to is for the person the attention flag calls.
    if (paidThere && trade.secondPayments === 0 && Number(o.refunded_minor) !== trade.refunded) problems.push(`${m.orderNo}: FakePay refunded ${trade.refunded}, here ${o.refunded_minor}`);
    if (trade.status === 'CLOSED' && status !== 'cancelled' && status !== 'expired') problems.push(`${m.orderNo}: FakePay CLOSED, here ${status}`);
    if (trade.secondPayments > 0 && !Number(o.attention)) problems.push(`${m.orderNo}: paid twice without attention`);
  }
  return problems;
}

const create = fc.tuple(fc.constantFrom('card' as const, 'atm' as const), fc.constantFrom(1000, 79900, 12345)).map(([m, a]) => new Create(m, a));
const pay = fc.tuple(fc.nat({ max: 7 }), fc.boolean()).map(([i, n]) => new Pay(i, n));
// Creating and paying come up more often than the rest (fc.commands draws evenly from the list).
const commands = [
  create,
  create,
  pay,
  pay,
  pay,
  fc.nat({ max: 7 }).map((i) => new Decline(i)),
  fc.nat({ max: 7 }).map((i) => new Renotify(i)),
  fc.tuple(fc.nat({ max: 7 }), fc.integer({ min: 1, max: 4 })).map(([i, p]) => new ProviderRefund(i, p)),
  fc.nat({ max: 7 }).map((i) => new PayTwice(i)),
  fc.tuple(fc.nat({ max: 7 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })).map(([i, parts]) => new Refund(i, parts)),
  fc.nat({ max: 7 }).map((i) => new Cancel(i)),
  fc.constant(new Reconcile()),
  fc.constant(new Expire()),
];

function replay(): { seed?: number; path?: string } {
  const seed = process.env.PAYGATE_MODEL_SEED;
  return seed === undefined ? {} : { seed: Number(seed), path: process.env.PAYGATE_MODEL_PATH };
}

dbTest(`model-based: ${RUNS} random histories of money news keep the books right`, async (t, h) => {
  t.timeout(10 * 60_000);
  const clock = { offsetMs: 0 };
  const app = await startApp(h, { now: () => new Date(Date.now() + clock.offsetMs) });
  try {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: MAX_COMMANDS }), async (cmds) => {
        const model: Model = { orders: [] };
        const made = await createMerchant(h.db, { name: `model ${Date.now()}` });
        const real: Real = { app, db: h.db, clock, merchant: { id: made.merchant.id, apiKey: made.apiKey } };
        // Every history starts with two payments waiting, so the first commands have something to act on.
        await new Create('card', 79900).run(model, real);
        await new Create('atm', 12345).run(model, real);
        // The invariants are checked after every step, not only at the end.
        const checked = [...cmds].map((c) => {
          const step: Cmd = {
            check: (m) => c.check(m) as boolean,
            run: async (m, r) => {
              await c.run(m, r);
              const problems = await invariants(h.db, m.orders.map((o) => o.id));
              if (problems.length > 0) throw new Error(`after ${c.toString()}: ${problems.join('; ')}`);
            },
            toString: () => c.toString(),
          };
          return step;
        });
        await fc.asyncModelRun(() => ({ model, real }), checked);
        // The jobs catch up (a lost notify, a closed trade), then the books must agree.
        await reconcileJob(app.deps, 'model', { minAgeMs: 0, baseBackoffMs: 0, maxBackoffMs: 0, merchantId: real.merchant.id }).run();
        await inboxRetryJob(app.deps, 'model').run();
        // The sweep lists every payment the provider took: a second payment is found even when the
        // first one's notify never came (core/jobs/reconcile.ts sweepAccount).
        for (const provider of sweepableProviders(app.deps)) await sweepAccount(app.deps, provider, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) });
        await app.background.drain();
        const problems = [...(await invariants(h.db, model.orders.map((o) => o.id))), ...(await agreesWithProvider(real, model))];
        if (problems.length > 0) throw new Error(`after the jobs: ${problems.join('; ')}`);
      }),
      // PAYGATE_MODEL_SEED and PAYGATE_MODEL_PATH replay a failure fast-check reported.
      { numRuns: RUNS, ...replay() },
    ).catch((err: unknown) => {
      // ava shows only the message: add what went wrong in the shrunk history.
      const cause = (err as { cause?: unknown }).cause;
      throw cause ? new Error(`${(err as Error).message}\nWhat failed: ${cause instanceof Error ? cause.message : String(cause)}`) : err;
    });
    t.pass();
  } finally {
    await app.close();
  }
});
