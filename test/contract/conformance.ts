/**
 * The provider conformance suite (docs/architecture.md#conformance-suite), written once and run by every provider against its
 * simulator over real HTTP with real crypto: create → the buyer pays → notify → query → the same
 * notify again → refund and cancel where the provider declares them; then the genuine notify the
 * gateway stored, re-posted as is (many at once), with its signature or amount changed, malformed,
 * and to a second account of the provider with other keys: applied once, the rest refused and kept.
 *
 * A provider joins with a file test/contract/<id>.test.ts calling `conformance({...})`.
 */
import type { ExecutionContext } from 'ava';
import { REJECTED_OUTCOMES, type CallbackRow } from '../../core/inbox.ts';
import { findOrder, loadSnapshot } from '../../core/orders.ts';
import { simulatorControlPath, type PaymentProvider, type ProviderModule, type SimulatorControlAction } from '../../core/payment-provider.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';
import { pool } from '../reliability/size.ts';
import { addSecondAccount, asRequest, footprint, post, rowsOf } from './inbox-replay.ts';
import { malformed, tamperField, type CallbackFields, type RawCallback, type TamperKind } from './tamper.ts';

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
  /**
   * The fields of this provider's notify the refusal cases change: what proves it (a signature, or
   * the token the gateway exchanges) and its amount where it carries one, e.g.
   * `{ signature: 'CheckMacValue', amount: 'TradeAmt' }`. Form bodies and JSON objects.
   */
  callbackFields: CallbackFields;
  /**
   * For a notify the default cannot edit: the stored genuine request with `kind` tampered, or null
   * where the notify carries no such thing (the case then is not run).
   */
  tamper?: (kind: TamperKind, raw: RawCallback) => RawCallback | null;
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


/** Deliveries of the stored notify at once in the duplicate case. */
const DUPLICATES = 24;

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

  dbTest(title('the stored notify again, forged, tampered, malformed, or at another account: applied once, the rest refused and kept'), async (t, h) => {
    await withTarget(h, target, async (app, provider) => {
      const second = addSecondAccount(app, target.providerId);
      const created = await app.api('POST', '/v1/payments', target.paymentBody());
      t.is(created.status, 201, created.text);
      await followAction(created.body.action);
      await control(app, target.providerId, 'pay', created.body.orderNo);
      t.is((await waitForStatus(app, created.body.id, 'paid', settle)).status, 'paid');

      // The genuine notify as the gateway stored it (core/inbox.ts), byte for byte.
      const genuine = (await h.db('provider_callbacks')
        .where({ order_id: created.body.id, kind: 'notify', outcome: 'applied' })
        .orderBy('id')
        .first()) as CallbackRow | undefined;
      if (!genuine) return t.fail('the payment left no applied notify in the inbox');
      const raw: RawCallback = { httpMethod: genuine.http_method, contentType: genuine.content_type, rawBody: genuine.raw_body, rawQuery: genuine.raw_query };
      const ack = provider.reply('ack', asRequest(raw));
      const reject = provider.reply('reject', asRequest(raw));
      const before = await footprint(h, created.body.id);

      // Duplicates, many at once: the same bytes are the same row, acknowledged, applied once.
      const answers = await pool(DUPLICATES, 16, () => post(app, target.providerId, 'default', raw));
      t.deepEqual(answers.filter((a) => a.status !== ack.status || a.text !== ack.body).map((a) => `${a.status} ${a.text}`), [], 'every duplicate acknowledged');
      t.deepEqual((await rowsOf(h, target.providerId, 'default', raw)).map((r) => r.id), [genuine.id], 'a duplicate adds no inbox row');
      t.deepEqual(await footprint(h, created.body.id), before, 'duplicates change nothing');

      const refusals: { label: string; account: string; request: RawCallback; unverified: boolean }[] = [];
      for (const kind of ['signature', 'amount'] as const) {
        const request = target.tamper ? target.tamper(kind, raw) : tamperField(kind, raw, target.callbackFields);
        if (request) refusals.push({ label: `${kind} tampered`, account: 'default', request, unverified: true });
        else t.true(kind === 'amount' && !target.callbackFields.amount, `${kind}: the target gives no way to tamper with it`);
      }
      for (const m of malformed(raw, target.callbackFields, created.body.orderNo)) refusals.push({ label: `malformed (${m.label})`, account: 'default', request: m.request, unverified: true });
      // Genuine bytes at an account with other keys: that account's verification or core's account check refuses it.
      refusals.push({ label: 'replayed to another account', account: second.account, request: raw, unverified: false });

      for (const r of refusals) {
        const res = await post(app, target.providerId, r.account, r.request);
        t.true(res.status < 500, `${r.label}: answered ${res.status} ${res.text.slice(0, 120)}`);
        if (provider.ackAfter === 'applied') {
          t.true(res.status >= 400 || (res.status === reject.status && res.text === reject.body), `${r.label}: refused (${res.status} ${res.text.slice(0, 80)})`);
          t.not(res.text, ack.body, `${r.label}: not acknowledged`);
        }
        const kept = await rowsOf(h, target.providerId, r.account, r.request);
        t.is(kept.length, 1, `${r.label}: kept for audit`);
        const row = kept[0];
        if (row) {
          // The row's bookkeeping in the message tells a lost finishing UPDATE (leased, no attempts)
          // from a fault scheduled for a retry (attempts and an error) if this ever fails.
          t.not(row.processed_at, null, `${r.label}: finished (${JSON.stringify({ outcome: row.outcome, error: row.error, attempts: row.attempts, lease: row.lease_owner, verified: row.verified })})`);
          t.true(REJECTED_OUTCOMES.has(row.outcome ?? ''), `${r.label}: recorded as refused (${row.outcome}: ${row.error})`);
          if (r.unverified) t.false(row.verified === true || Number(row.verified) === 1, `${r.label}: failed verification`);
        }
        t.deepEqual(await footprint(h, created.body.id), before, `${r.label}: nothing changed`);
      }
    });
  });
}
