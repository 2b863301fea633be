/**
 * Paying again after a failure at a provider that takes every try as a trade of its own
 * (`payAgain: 'new-attempt'`, docs/architecture.md#paying-again): the result page's button posts to
 * the order's signed link, the attempt is counted once, create() is asked for the new attempt, and
 * the order moves failed → pending with the new next action. FakePay (the template) over real HTTP
 * plays the provider; the subclass only declares the capability.
 */
import test from 'ava';
import sinon from 'sinon';
import { canStartAgain } from '../../core/checkout.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { ProviderUnavailableError } from '../../core/errors.ts';
import type { Order } from '../../core/orders.ts';
import type { CallbackRequest, CallbackVerification, CreatePaymentInput, ProviderModule } from '../../core/payment-provider.ts';
import { FakePayProvider } from '../../providers/_template/adapter.ts';
import { fakePayModule } from '../../providers/_template/index.ts';
import type { FakePaySimulator } from '../../providers/_template/simulator.ts';
import { paymentBody, startApp, type TestApp } from '../helpers/app.ts';
import { dbTest, type TestDbHandle } from '../helpers/db.ts';

/** FakePay's order_no is unique for ever at FakePay too: attempt n > 1 is sent as `<orderNo>-<n>`, and read back. */
class NewAttemptPay extends FakePayProvider {
  readonly payAgain = 'new-attempt' as const;

  override create(input: CreatePaymentInput) {
    const { order } = input;
    return super.create({ ...input, order: { ...order, orderNo: order.attempt > 1 ? `${order.orderNo}-${order.attempt}` : order.orderNo } });
  }

  override async verifyCallback(request: CallbackRequest): Promise<CallbackVerification> {
    const v = await super.verifyCallback(request);
    return v.verified ? { ...v, facts: { ...v.facts, orderNo: v.facts.orderNo.replace(/-\d+$/, '') } } : v;
  }
}

/** FakePay declaring `new-attempt`, with every create() seen by `calls`. */
function newAttemptModule(calls: CreatePaymentInput[], onSimulator: (sim: FakePaySimulator) => void): ProviderModule<any> {
  const base = fakePayModule({ onSimulator });
  return {
    ...base,
    createProvider: (account, config) => {
      const provider = new NewAttemptPay(account, config as never);
      const create = provider.create.bind(provider);
      provider.create = async (input) => {
        calls.push(input);
        return create(input);
      };
      return provider;
    },
  };
}

async function failedOrder(h: TestDbHandle, options: { plain?: boolean } = {}) {
  const calls: CreatePaymentInput[] = [];
  let sim: FakePaySimulator | undefined;
  const app = await startApp(h, { modules: [options.plain ? fakePayModule({ onSimulator: (s) => (sim = s) }) : newAttemptModule(calls, (s) => (sim = s))] });
  const created = await app.api('POST', '/v1/payments', paymentBody({ provider: 'fakepay', method: 'card' }));
  if (created.status !== 201) throw new Error(created.text);
  const order = created.body as { id: string; orderNo: string; checkoutUrl: string; action: { url: string } };
  await sim!.decline(order.orderNo);
  await app.background.drain();
  return { app, order, calls, sim: sim! };
}

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

const again = (app: TestApp, link: string, from = 1) =>
  app.raw('POST', pathOf(link), { body: `again=${from}`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' } });

dbTest('pay again at a new-attempt provider: the failed page posts to the signed link, attempt 2 is created, the order is pending with the new action', async (t, h) => {
  const { app, order, calls, sim } = await failedOrder(h);
  try {
    t.like((await app.api('GET', `/v1/payments/${order.id}`)).body, { status: 'failed' });
    const page = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.regex(page.text, /<form method="post" action="[^"]+"><input type="hidden" name="again" value="1"><button type="submit" class="button primary">Pay again<\/button><\/form>/);
    t.false(page.text.includes(`href="${order.action.url}"`), 'the old trade\'s page is not offered: the provider never takes it twice');
    // The button's post may be answered with a redirect to the provider's page: the CSP must allow it.
    t.false(page.headers.get('content-security-policy')!.includes('form-action'), page.headers.get('content-security-policy')!);

    const moved = await again(app, order.checkoutUrl);
    t.is(moved.status, 303);
    const stored = (await h.db('orders').where({ id: order.id }).first()) as { attempt: number; status: string; action_json: string; failure_code: string | null };
    t.is(Number(stored.attempt), 2);
    t.is(stored.status, 'pending');
    t.is(stored.failure_code, null);
    const action = JSON.parse(stored.action_json) as { url: string };
    t.is(moved.headers.get('location'), action.url, 'on to the new trade\'s page');
    t.not(action.url, order.action.url);
    t.deepEqual(calls.map((c) => c.order.attempt), [1, 2]);
    t.is(calls[1]!.order.status, 'failed');

    const moves = await h.db('order_transitions').where({ order_id: order.id }).orderBy('id');
    t.deepEqual(moves.map((m: any) => `${m.from_status}→${m.to_status}`), ['created→pending', 'pending→failed', 'failed→pending']);
    t.regex(moves[2].cause, /attempt 2/);
    t.deepEqual((await h.db('events').where({ order_id: order.id }).orderBy('id')).map((e: any) => e.type).slice(-1), ['payment.pending']);

    // The same post again (the back button): the order is pending now, nothing is counted or created.
    const twice = await again(app, order.checkoutUrl);
    t.is(twice.status, 303);
    t.is(Number((await h.db('orders').where({ id: order.id }).first()).attempt), 2);
    t.is(calls.length, 2);

    // The buyer pays attempt 2; its notify names that trade and pays the one order.
    await sim.pay(`${order.orderNo}-2`);
    await app.background.drain();
    t.like((await app.api('GET', `/v1/payments/${order.id}`)).body, { status: 'paid', amount: 79900 });
    t.is((await app.raw('GET', pathOf(order.checkoutUrl))).text.includes('name="again"'), false, 'paid: nothing to pay again');
  } finally {
    await app.close();
  }
});

dbTest('pay again: a double click counts one attempt and asks the provider once', async (t, h) => {
  const { app, order, calls } = await failedOrder(h);
  try {
    const answers = await Promise.all([again(app, order.checkoutUrl), again(app, order.checkoutUrl), again(app, order.checkoutUrl)]);
    for (const a of answers) t.is(a.status, 303);
    t.is(Number((await h.db('orders').where({ id: order.id }).first()).attempt), 2);
    t.is(calls.length, 2);
    t.is((await app.api('GET', `/v1/payments/${order.id}`)).body.status, 'pending');
  } finally {
    await app.close();
  }
});

dbTest('pay again: a provider fault leaves the order failed (its attempt spent) and the buyer tries once more', async (t, h) => {
  const { app, order, calls } = await failedOrder(h);
  try {
    const provider = app.deps.registry.find('fakepay', 'default')!;
    const create = sinon.stub(provider, 'create').rejects(new ProviderUnavailableError('fakepay create: timeout'));
    const down = await again(app, order.checkoutUrl);
    t.is(down.status, 503);
    t.true(down.text.includes('Pay again'), 'the page still offers another try');
    t.like(await h.db('orders').where({ id: order.id }).first(), { status: 'failed' });
    t.is(Number((await h.db('orders').where({ id: order.id }).first()).attempt), 2);
    create.restore();

    t.regex(down.text, /name="again" value="2"/, 'the page names the attempt that failed now');
    const up = await again(app, order.checkoutUrl, 2);
    t.is(up.status, 303);
    t.like(await h.db('orders').where({ id: order.id }).first(), { status: 'pending' });
    t.deepEqual(calls.map((c) => c.order.attempt), [1, 3], 'attempt 2 is never reused');
  } finally {
    await app.close();
  }
});

dbTest('pay again at a provider without new attempts: the old link as before, and a posted again=1 changes nothing', async (t, h) => {
  const { app, order } = await failedOrder(h, { plain: true });
  try {
    const page = await app.raw('GET', pathOf(order.checkoutUrl), { headers: { 'accept-language': 'en' } });
    t.true(page.text.includes(`href="${order.action.url.replace(/&/g, '&amp;')}"`), 'the card page that takes another try');
    t.false(page.text.includes('name="again"'));
    t.true(page.headers.get('content-security-policy')!.includes("form-action 'self'"), 'no button: forms only to ourselves');
    const before = await h.db('orders').where({ id: order.id }).first();
    const posted = await again(app, order.checkoutUrl);
    t.is(posted.status, 303);
    t.deepEqual(await h.db('orders').where({ id: order.id }).first(), before);
  } finally {
    await app.close();
  }
});

test('canStartAgain: only a failed, unflagged order before its deadline, at a new-attempt provider', (t) => {
  const now = new Date('2026-12-03T12:00:00Z');
  const providers: Record<string, { payAgain?: 'new-attempt' }> = { neweb: { payAgain: 'new-attempt' }, plain: {} };
  const deps = { registry: { find: (p: string) => providers[p] } } as unknown as CoreDeps;
  const order = { status: 'failed', attention: false, provider: 'neweb', account: 'default', expiresAt: new Date(now.getTime() + 60_000) } as Order;
  t.true(canStartAgain(deps, order, now));
  t.false(canStartAgain(deps, { ...order, provider: 'plain' }, now));
  t.false(canStartAgain(deps, { ...order, provider: 'gone' }, now));
  for (const status of ['created', 'pending', 'paid', 'cancelled', 'expired'] as const) t.false(canStartAgain(deps, { ...order, status }, now), status);
  t.false(canStartAgain(deps, { ...order, attention: true }, now));
  t.false(canStartAgain(deps, { ...order, expiresAt: now }, now));
  t.false(canStartAgain(deps, { ...order, provider: null }, now));
});
