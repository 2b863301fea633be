import type { ExecutionContext } from 'ava';
import type { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import sinon from 'sinon';
import { toNumber } from '../../core/db.ts';
import { IllegalTransitionError } from '../../core/errors.ts';
import { findOrder } from '../../core/orders.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { newOrderNo } from '../../core/order-no.ts';
import { ORDER_STATUSES, checkTransition, type OrderStatus } from '../../core/state-machine.ts';
import { transition, type TransitionEvent, type TransitionHook, type TransitionRequest } from '../../core/order-writer.ts';
import { dbTest } from '../helpers/db.ts';

const CREATED_AT = Date.parse('2026-11-22T01:00:00.000Z');
const NOW = new Date('2026-11-22T02:00:00.000Z');
const START_VERSION = 3;

const rid = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 24)}`;

async function insertMerchant(db: Knex): Promise<string> {
  const id = rid('mch');
  await db('merchants').insert({
    id,
    name: 'transition test',
    api_key_hash: randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''),
    webhook_url: null,
    webhook_secret: 'whsec_test',
    created_at: CREATED_AT,
  });
  return id;
}

async function insertOrder(db: Knex, merchantId: string, status: OrderStatus, extra: Record<string, unknown> = {}): Promise<string> {
  const id = rid('pay');
  await db('orders').insert({
    id,
    merchant_id: merchantId,
    merchant_order_id: rid('m'),
    order_no: newOrderNo(),
    subject: 'T-shirt',
    currency: 'TWD',
    amount_minor: 79900,
    status,
    provider: 'fakepay',
    provider_account: 'default',
    provider_method: 'card',
    provider_trade_no: null,
    action_json: null,
    failure_code: null,
    failure_message: null,
    return_url: null,
    paid_at: null,
    expires_at: CREATED_AT + 3 * 86_400_000,
    attention: false,
    attention_reason: null,
    version: START_VERSION,
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    ...extra,
  });
  return id;
}

async function orderRow(db: Knex, id: string): Promise<Record<string, unknown>> {
  return (await db('orders').where({ id }).first()) as Record<string, unknown>;
}

async function transitionRows(db: Knex, orderId: string): Promise<Array<Record<string, unknown>>> {
  return (await db('order_transitions').where({ order_id: orderId }).orderBy('id')) as Array<Record<string, unknown>>;
}

function deps(db: Knex, extra: { logger?: Logger; hooks?: readonly TransitionHook[]; now?: () => Date } = {}) {
  return { db, logger: extra.logger ?? silentLogger, now: extra.now ?? (() => NOW), hooks: extra.hooks };
}

/** BIGINT / BOOLEAN come back as numbers or strings depending on the driver: compare them as numbers. */
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const k of ['amount_minor', 'paid_at', 'expires_at', 'attention', 'version', 'created_at', 'updated_at']) {
    if (out[k] !== null && out[k] !== undefined) out[k] = toNumber(out[k]);
  }
  return out;
}

const request = (to: OrderStatus, extra: Partial<TransitionRequest> = {}): TransitionRequest => ({
  to,
  cause: `test moves to ${to}`,
  source: 'callback:42',
  ...extra,
});

function pairs(kind: ReturnType<typeof checkTransition>): Array<[OrderStatus, OrderStatus]> {
  const out: Array<[OrderStatus, OrderStatus]> = [];
  for (const from of ORDER_STATUSES) for (const to of ORDER_STATUSES) if (checkTransition(from, to) === kind) out.push([from, to]);
  return out;
}

async function expectUntouched(t: ExecutionContext, db: Knex, id: string, before: Record<string, unknown>, label: string) {
  t.deepEqual(normalise(await orderRow(db, id)), normalise(before), `${label}: order row changed`);
  t.is((await transitionRows(db, id)).length, 0, `${label}: a transition row was written`);
}

dbTest('every allowed move applies: new status, version + 1, one transition row', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const allowed = pairs('apply');
  t.true(allowed.length >= 11, 'the state machine lost moves');
  for (const [from, to] of allowed) {
    const label = `${from} → ${to}`;
    const id = await insertOrder(db, merchantId, from);
    const result = await transition(deps(db), id, request(to));
    t.is(result.result, 'applied', label);
    if (result.result === 'applied') t.is(result.from, from, label);
    t.is(result.order.status, to, label);
    t.is(result.order.version, START_VERSION + 1, label);

    const row = normalise(await orderRow(db, id));
    t.is(row.status, to, label);
    t.is(row.version, START_VERSION + 1, label);
    t.is(row.updated_at, NOW.getTime(), label);
    const moves = await transitionRows(db, id);
    t.is(moves.length, 1, label);
    t.like(moves[0], { order_id: id, from_status: from, to_status: to, cause: `test moves to ${to}`, source: 'callback:42' }, label);
    t.is(toNumber(moves[0]!.created_at), NOW.getTime(), label);
  }
});

dbTest('the order a move returns (and hands its hooks) is the order a fresh read gives', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const seen: TransitionEvent[] = [];
  const hook: TransitionHook = async (_trx, event) => {
    seen.push(event);
  };
  const extra = {
    return_url: 'https://shop.example/orders/7',
    provider_trade_no: 'T-OLD',
    action_json: JSON.stringify({ type: 'redirect', url: 'https://pay.example/old' }),
    refunded_minor: 100,
  };
  const rich = (to: OrderStatus): TransitionRequest =>
    request(to, {
      providerTradeNo: `T-${to}`,
      paidAt: new Date('2026-11-22T01:59:30.123Z'),
      failure: { code: 'DECLINED', message: `卡片被拒絕 (${to}) ` + 'x'.repeat(600) },
      action: { type: 'instructions', atm: { bankCode: '822', account: '9100000000000001', amount: 79900, deadline: '2026-11-25T00:00:00.000Z' } },
      eventData: { refundId: 'rf_1' },
    });
  for (const [from, to] of pairs('apply')) {
    for (const [label, req] of [
      ['bare', request(to)],
      ['with every fact', rich(to)],
    ] as const) {
      const id = await insertOrder(db, merchantId, from, extra);
      const result = await transition(deps(db, { hooks: [hook] }), id, req);
      const fresh = await findOrder(db, id);
      t.deepEqual(result.order, fresh, `${from} → ${to}, ${label}`);
      t.deepEqual(seen.at(-1)?.order, fresh, `${from} → ${to}, ${label}: the hook's order`);
    }
  }
  // Attention already raised stays raised, and a message cut inside a character is stored (and
  // returned) as the driver stores it.
  const id = await insertOrder(db, merchantId, 'pending', { attention: true, attention_reason: 'earlier' });
  const cut = 'é'.repeat(11) + '😀'.repeat(300);
  const result = await transition(deps(db), id, request('failed', { failure: { code: 'E', message: cut } }));
  t.deepEqual(result.order, await findOrder(db, id));
  t.true(result.order.attention);
});

dbTest('a repeat of the current state is a no-op: no row, version unchanged', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  for (const status of ORDER_STATUSES) {
    const id = await insertOrder(db, merchantId, status);
    const before = await orderRow(db, id);
    const result = await transition(deps(db), id, request(status, { providerTradeNo: 'T-CHANGED', paidAt: NOW }));
    t.is(result.result, 'noop', status);
    t.is(result.order.version, START_VERSION, status);
    await expectUntouched(t, db, id, before, status);
  }
});

dbTest('every illegal move throws IllegalTransitionError, is logged and writes nothing', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const illegal = pairs('illegal');
  t.true(illegal.length >= 30);
  for (const [from, to] of illegal) {
    const label = `${from} → ${to}`;
    const warn = sinon.spy();
    const logger: Logger = { ...silentLogger, warn };
    const id = await insertOrder(db, merchantId, from);
    const before = await orderRow(db, id);
    const err = await t.throwsAsync(transition(deps(db, { logger }), id, request(to)), { instanceOf: IllegalTransitionError }, label);
    t.is(err?.from, from, label);
    t.is(err?.to, to, label);
    t.is(err?.code, 'illegal_transition', label);
    t.true(warn.calledOnce, `${label}: not logged`);
    t.like(warn.firstCall?.args[0], { orderId: id, from, to }, label);
    await expectUntouched(t, db, id, before, label);
  }
});

dbTest('paid from cancelled or expired sets attention with a reason; from pending it does not', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const events: TransitionEvent[] = [];
  const hook: TransitionHook = async (_trx, event) => {
    events.push(event);
  };
  for (const from of ['cancelled', 'expired'] as const) {
    const id = await insertOrder(db, merchantId, from);
    const result = await transition(deps(db, { hooks: [hook] }), id, request('paid'));
    t.is(result.order.status, 'paid', from);
    t.true(result.order.attention, from);
    const row = normalise(await orderRow(db, id));
    t.is(row.attention, 1, from);
    t.is(typeof row.attention_reason, 'string', from);
    t.true((row.attention_reason as string).includes(from), `${from}: reason should name the old status`);
    t.true(events.at(-1)?.attentionRaised, from);
  }
  for (const from of ['created', 'pending', 'failed'] as const) {
    const id = await insertOrder(db, merchantId, from);
    await transition(deps(db, { hooks: [hook] }), id, request('paid'));
    const row = normalise(await orderRow(db, id));
    t.is(row.attention, 0, from);
    t.is(row.attention_reason, null, from);
    t.false(events.at(-1)?.attentionRaised, from);
  }
});

dbTest('paid sets paid_at: the provider’s time when given, else now', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const reported = new Date('2026-11-22T01:59:30.123Z');

  const a = await insertOrder(db, merchantId, 'pending');
  await transition(deps(db), a, request('paid', { paidAt: reported, providerTradeNo: 'PT-1' }));
  const rowA = normalise(await orderRow(db, a));
  t.is(rowA.paid_at, reported.getTime());
  t.is(rowA.provider_trade_no, 'PT-1');

  const b = await insertOrder(db, merchantId, 'pending');
  const result = await transition(deps(db), b, request('paid'));
  t.is(normalise(await orderRow(db, b)).paid_at, NOW.getTime());
  t.is(result.order.paidAt?.getTime(), NOW.getTime());

  // Other moves leave paid_at alone.
  const c = await insertOrder(db, merchantId, 'pending');
  await transition(deps(db), c, request('failed', { failure: { code: 'DECLINED', message: 'card declined' } }));
  const rowC = normalise(await orderRow(db, c));
  t.is(rowC.paid_at, null);
  t.is(rowC.failure_code, 'DECLINED');
  t.is(rowC.failure_message, 'card declined');
});

dbTest('failure and the buyer action follow the state', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const id = await insertOrder(db, merchantId, 'created');
  const action = { type: 'redirect', url: 'https://pay.example/1' } as const;
  await transition(deps(db), id, request('pending', { action }));
  t.deepEqual(JSON.parse((await orderRow(db, id)).action_json as string), action);

  await transition(deps(db), id, request('failed', { failure: { code: 'X', message: 'declined' } }));
  let row = await orderRow(db, id);
  t.is(row.failure_code, 'X');
  t.truthy(row.action_json, 'a failed order can be paid again, so its action stays');

  await transition(deps(db), id, request('pending'));
  row = await orderRow(db, id);
  t.is(row.failure_code, null, 'pay again clears the old decline');
  t.is(row.failure_message, null);

  await transition(deps(db), id, request('paid'));
  row = normalise(await orderRow(db, id));
  t.is(row.action_json, null, 'a paid order has no next action');
  t.is(row.version, START_VERSION + 4);
  t.deepEqual(
    (await transitionRows(db, id)).map((r) => `${r.from_status}>${r.to_status}`),
    ['created>pending', 'pending>failed', 'failed>pending', 'pending>paid'],
  );
});

dbTest('50 concurrent moves to paid on one pending order: exactly one transition row, version + 1', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const id = await insertOrder(db, merchantId, 'pending', { version: 0 });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => transition(deps(db), id, request('paid', { source: `callback:${i}` }))),
  );
  t.is(results.filter((r) => r.result === 'applied').length, 1);
  t.is(results.filter((r) => r.result === 'noop').length, 49);
  t.true(results.every((r) => r.order.status === 'paid'));
  const moves = await transitionRows(db, id);
  t.is(moves.length, 1);
  t.like(moves[0], { from_status: 'pending', to_status: 'paid' });
  const row = normalise(await orderRow(db, id));
  t.is(row.status, 'paid');
  t.is(row.version, 1);
});

dbTest('a TransitionHook runs inside the transaction: its writes commit with the move', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const id = await insertOrder(db, merchantId, 'pending');
  const marker = rid('hook');
  const seen: Array<{ isTransaction: boolean; statusInTrx: unknown; event: TransitionEvent }> = [];
  const hook: TransitionHook = async (trx, event) => {
    // Inside the transaction the update is already visible.
    const row = await trx('orders').where({ id }).first('status');
    seen.push({ isTransaction: trx.isTransaction === true, statusInTrx: row?.status, event });
    await trx('idempotency_keys').insert({
      merchant_id: merchantId,
      key: marker,
      request_hash: 'h'.repeat(64),
      response_status: null,
      response_body: null,
      locked_until: 0,
      created_at: NOW.getTime(),
    });
  };
  await transition(deps(db, { hooks: [hook] }), id, request('paid'));
  t.is(seen.length, 1);
  t.true(seen[0]!.isTransaction);
  t.is(seen[0]!.statusInTrx, 'paid');
  t.like(seen[0]!.event, { from: 'pending', to: 'paid', cause: 'test moves to paid', source: 'callback:42', attentionRaised: false });
  t.is(seen[0]!.event.order.status, 'paid');
  t.is(seen[0]!.event.order.version, START_VERSION + 1);
  t.is((await db('idempotency_keys').where({ key: marker })).length, 1);

  // A no-op runs no hook.
  await transition(deps(db, { hooks: [hook] }), id, request('paid'));
  t.is(seen.length, 1);
});

dbTest('a TransitionHook that throws rolls the whole move back', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const id = await insertOrder(db, merchantId, 'pending');
  const before = await orderRow(db, id);
  const marker = rid('hook');
  const boom = new Error('outbox write failed');
  const first: TransitionHook = async (trx) => {
    await trx('idempotency_keys').insert({
      merchant_id: merchantId,
      key: marker,
      request_hash: 'h'.repeat(64),
      locked_until: 0,
      created_at: NOW.getTime(),
    });
  };
  const failing: TransitionHook = async () => {
    throw boom;
  };
  const err = await t.throwsAsync(transition(deps(db, { hooks: [first, failing] }), id, request('paid')));
  t.is(err, boom);
  await expectUntouched(t, db, id, before, 'hook threw');
  t.is((await db('idempotency_keys').where({ key: marker })).length, 0, 'the first hook’s write was not rolled back');

  // The order is still movable afterwards.
  const result = await transition(deps(db), id, request('paid'));
  t.is(result.result, 'applied');
});

dbTest('an unknown order id is an error and writes nothing', async (t, { db }) => {
  const missing = rid('pay');
  await t.throwsAsync(transition(deps(db), missing, request('paid')), { message: /does not exist/ });
  t.is((await transitionRows(db, missing)).length, 0);
});

dbTest('a move whose transaction the database picks as a deadlock victim is rolled back and applied once on the next try', async (t, { db }) => {
  const merchantId = await insertMerchant(db);
  const id = await insertOrder(db, merchantId, 'pending');
  let calls = 0;
  // Fails after the order row and its transition row were written, as a deadlock detected at the
  // transaction's last statement would: the retry must start from a clean, rolled-back state.
  const loseOnce: TransitionHook = async () => {
    calls++;
    if (calls === 1) throw Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
  };
  const result = await transition(deps(db, { hooks: [loseOnce] }), id, request('paid'));
  t.is(calls, 2);
  t.is(result.result, 'applied');
  const row = normalise(await orderRow(db, id));
  t.is(row.status, 'paid');
  t.is(row.version, START_VERSION + 1, 'moved once');
  t.is((await transitionRows(db, id)).length, 1, 'one transition row');
});
