/**
 * The provider conformance suite (docs/architecture.md#conformance-suite), written once and run by every provider against its
 * simulator over real HTTP with real crypto: create → the buyer pays → notify → query → the same
 * notify again → refund and cancel where the provider declares them.
 *
 * A provider joins with a file test/contract/<id>.test.ts calling `conformance({...})`.
 */
import type { ExecutionContext } from 'ava';
import { findOrder, loadSnapshot } from '../../core/orders.ts';
import { simulatorControlPath, type PaymentProvider, type ProviderModule, type SimulatorControlAction } from '../../core/payment-provider.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

export interface ConformanceTarget {
  providerId: string;
  /** Tells two runs of one provider apart in test titles. */
  label?: string;
  /** The provider's module, with its simulator. */
  modules: () => ProviderModule<any>[];
  /** A valid create-payment body for this provider (its method, currency and amounts). */
  paymentBody: (overrides?: Record<string, unknown>) => Record<string, unknown>;
  /** How long a notify may take to be applied after the simulated buyer acts. */
  settleMs?: number;
  /**
   * Whether the provider itself treats a repeated refund number as the same refund. Where it does
   * not (SinoPac's OrderMaintain has no such key), paygate's refund service must keep the promise.
   */
  refundIdempotentAtProvider?: boolean;
  /**
   * false where the provider refunds some methods but not this one (SinoPac ATM): a refund must then
   * be a clean `failed` result with code `unsupported`, never an exception.
   */
  refundable?: boolean;
  /**
   * What a buyer giving up leaves behind: a failed payment (card declines), or a closed trade for
   * providers that never report a failure (Alipay closes the trade: TRADE_CLOSED → cancelled).
   */
  declinedStatus?: 'failed' | 'cancelled';
}

async function control(app: TestApp, providerId: string, action: SimulatorControlAction, orderNo: string): Promise<any> {
  const res = await app.raw('POST', simulatorControlPath(providerId, action), {
    body: JSON.stringify({ orderNo }),
    headers: { 'content-type': 'application/json' },
  });
  if (res.status >= 400) throw new Error(`simulator ${action}: ${res.status} ${res.text}`);
  await app.background.drain();
  return res.text ? JSON.parse(res.text) : null;
}

/**
 * The buyer follows the next action as a browser would: opens the redirect, or submits the form.
 * Some providers only learn of a payment then (Alipay's hand-off is signed by us and carried by the
 * browser; the gateway has never heard of it before).
 */
async function followAction(action: { type: string; url?: string; method?: string; fields?: Record<string, string> }): Promise<void> {
  if (action.type === 'redirect') {
    const res = await fetch(action.url!, { redirect: 'follow' });
    await res.arrayBuffer();
    if (res.status >= 400) throw new Error(`the redirect answered ${res.status}`);
  } else if (action.type === 'form') {
    const res = await fetch(action.url!, {
      method: action.method ?? 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(action.fields ?? {}).toString(),
      redirect: 'follow',
    });
    await res.arrayBuffer();
    if (res.status >= 400) throw new Error(`the form answered ${res.status}`);
  }
}

async function waitForStatus(app: TestApp, id: string, status: string, ms: number): Promise<any> {
  const deadline = Date.now() + ms;
  for (;;) {
    await app.background.drain();
    const got = await app.api('GET', `/v1/payments/${id}`);
    if (got.body.status === status || Date.now() > deadline) return got.body;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function withTarget(h: TestDbHandle, target: ConformanceTarget, fn: (app: TestApp, provider: PaymentProvider) => Promise<void>) {
  const app = await startApp(h, { modules: target.modules() });
  try {
    const provider = app.deps.registry.find(target.providerId);
    if (!provider) throw new Error(`${target.providerId} has no default account`);
    await fn(app, provider);
  } finally {
    await app.close();
  }
}

export function conformance(target: ConformanceTarget): void {
  const settle = target.settleMs ?? 10_000;
  const title = (s: string) => `${target.providerId}${target.label ? ` (${target.label})` : ''} conforms: ${s}`;

  dbTest(title('create → pay → notify → query → duplicate notify'), async (t: ExecutionContext, h) => {
    await withTarget(h, target, async (app, provider) => {
      const created = await app.api('POST', '/v1/payments', target.paymentBody());
      t.is(created.status, 201, created.text);
      t.is(created.body.status, 'pending');
      t.truthy(created.body.action, 'a pending payment carries the next action');
      t.true(['redirect', 'form', 'instructions'].includes(created.body.action.type));

      await followAction(created.body.action);
      await control(app, target.providerId, 'pay', created.body.orderNo);
      const paid = await waitForStatus(app, created.body.id, 'paid', settle);
      t.is(paid.status, 'paid');
      t.truthy(paid.paidAt);

      const order = (await findOrder(h.db, created.body.id))!;
      const queried = await provider.query({ order: await loadSnapshot(h.db, order) });
      t.true(queried.found);
      if (queried.found) {
        t.is(queried.facts.outcome, 'paid');
        t.is(queried.facts.amount, created.body.amount);
        t.is(queried.facts.currency, created.body.currency);
        t.is(queried.facts.orderNo, created.body.orderNo);
      }

      await control(app, target.providerId, 'renotify', created.body.orderNo);
      await waitForStatus(app, created.body.id, 'paid', 200);
      const toPaid = await h.db('order_transitions').where({ order_id: created.body.id, to_status: 'paid' });
      t.is(toPaid.length, 1, 'a repeated notify moves nothing');
      const verified = await h.db('provider_callbacks').where({ order_id: created.body.id, kind: 'notify', verified: true });
      t.true(verified.length >= 1);
    });
  });

  const declined = target.declinedStatus ?? 'failed';
  dbTest(title(`a declined payment is ${declined}, not an error`), async (t, h) => {
    await withTarget(h, target, async (app) => {
      const created = await app.api('POST', '/v1/payments', target.paymentBody());
      t.is(created.status, 201, created.text);
      await followAction(created.body.action);
      await control(app, target.providerId, 'decline', created.body.orderNo);
      const after = await waitForStatus(app, created.body.id, declined, settle);
      t.is(after.status, declined);
    });
  });

  dbTest(title('query of an order the provider never saw is "not found", not an error'), async (t, h) => {
    await withTarget(h, target, async (app, provider) => {
      const created = await app.api('POST', '/v1/payments', target.paymentBody());
      const order = (await findOrder(h.db, created.body.id))!;
      const snapshot = await loadSnapshot(h.db, order);
      const result = await provider.query({ order: { ...snapshot, orderNo: '26010100000000000000', providerTradeNo: null } });
      t.false(result.found);
    });
  });

  dbTest(title('refund (partial, then the rest, never more than paid) where supported'), async (t, h) => {
    await withTarget(h, target, async (app, provider) => {
      if (!provider.capabilities.has('refund') || !provider.refund) {
        t.false(provider.capabilities.has('refund'), 'no refund method, no refund capability');
        return;
      }
      const created = await app.api('POST', '/v1/payments', target.paymentBody());
      await followAction(created.body.action);
      await control(app, target.providerId, 'pay', created.body.orderNo);
      await waitForStatus(app, created.body.id, 'paid', settle);
      const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
      if (target.refundable === false) {
        const refused = await provider.refund({ order: snapshot, refundNo: `R0${snapshot.orderNo.slice(-10)}`, amount: snapshot.amount });
        t.is(refused.outcome, 'failed');
        t.is(refused.outcome === 'failed' ? refused.code : '', 'unsupported');
        // The contract says so up front, and the API refuses at once: 422, no refund row.
        t.false((provider.refundMethods ?? provider.methods).includes(snapshot.method), 'refundMethods leaves this method out');
        const answer = await app.api('POST', `/v1/payments/${created.body.id}/refunds`, { amount: snapshot.amount });
        t.is(answer.status, 422);
        t.is(answer.body.error.code, 'refund_unsupported');
        t.is(Number((await h.db('refunds').where({ order_id: created.body.id }).count({ n: '*' }).first())!.n), 0);
        return;
      }
      const part = Math.floor(snapshot.amount / 2);
      const first = await provider.refund({ order: snapshot, refundNo: `R1${snapshot.orderNo.slice(-10)}`, amount: part });
      t.not(first.outcome, 'failed');
      if (target.refundIdempotentAtProvider !== false) {
        const replay = await provider.refund({ order: snapshot, refundNo: `R1${snapshot.orderNo.slice(-10)}`, amount: part });
        t.not(replay.outcome, 'failed', 'the same refund number is idempotent');
      }
      const rest = await provider.refund({ order: snapshot, refundNo: `R2${snapshot.orderNo.slice(-10)}`, amount: snapshot.amount - part });
      t.not(rest.outcome, 'failed');
      const over = await provider.refund({ order: snapshot, refundNo: `R3${snapshot.orderNo.slice(-10)}`, amount: 1 });
      t.is(over.outcome, 'failed');
    });
  });

  dbTest(title('cancel closes an unpaid payment where supported'), async (t, h) => {
    await withTarget(h, target, async (app, provider) => {
      const created = await app.api('POST', '/v1/payments', target.paymentBody());
      await followAction(created.body.action);
      const res = await app.api('POST', `/v1/payments/${created.body.id}/cancel`);
      t.is(res.status, 200, res.text);
      t.is(res.body.status, 'cancelled');
      if (provider.capabilities.has('cancel')) {
        const snapshot = await loadSnapshot(h.db, (await findOrder(h.db, created.body.id))!);
        const queried = await provider.query({ order: snapshot });
        t.true(queried.found && queried.facts.outcome === 'closed', 'the provider closed it too');
      }
    });
  });
}
