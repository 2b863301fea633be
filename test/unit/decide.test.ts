/**
 * What paygate does with news about a payment: the table of core/decide.ts, as a specification.
 *
 * The provider's facts are tried against every order status × outcome × where the news came from ×
 * amount agreement × trade-number agreement × the provider's "simulated" flag × whether the order's
 * deadline has passed (1,920 cases). Each case must give what the FIRST matching rule of FACT_RULES
 * says: read top to bottom, the rules are the specification. Every rule must decide at least one
 * case, so none is dead. The other kinds of news (create's answer, deadline, cancel, refunds) have
 * tables of their own below. docs/architecture.md repeats the table in words.
 */
import test from 'ava';
import { decide, NEWS_SOURCES, type News, type NewsSource, type Plan } from '../../core/decide.ts';
import type { Order } from '../../core/orders.ts';
import type { PaymentFacts, PaymentOutcome } from '../../core/payment-provider.ts';
import { ORDER_STATUSES, type OrderStatus } from '../../core/state-machine.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const AMOUNT = 79900;
const SETTLED: OrderStatus[] = ['paid', 'partially_refunded', 'refunded'];
const WAITING: OrderStatus[] = ['created', 'pending', 'failed'];

function order(status: OrderStatus, overrides: Partial<Order> = {}): Order {
  return {
    id: 'pay_1',
    merchantId: 'mch_1',
    merchantOrderId: 'M1',
    orderNo: '26120212000000000001',
    subject: 'Tea',
    currency: 'TWD',
    amount: AMOUNT,
    refundedAmount: status === 'refunded' ? AMOUNT : status === 'partially_refunded' ? 10000 : 0,
    status,
    provider: 'fakepay',
    account: 'default',
    method: 'card',
    providerTradeNo: status === 'created' ? null : 'T1',
    choices: null,
    action: null,
    failure: null,
    returnUrl: null,
    paidAt: SETTLED.includes(status) ? new Date('2026-12-02T11:00:00Z') : null,
    expiresAt: new Date(NOW.getTime() + 3_600_000),
    attention: false,
    attentionReason: null,
    simulated: false,
    metadata: {},
    attempt: 1,
    version: 3,
    createdAt: new Date('2026-12-02T10:00:00Z'),
    updatedAt: new Date('2026-12-02T10:00:00Z'),
    ...overrides,
  };
}

/** A plan in a few words: what the table compares. */
function summary(plan: Plan): string {
  switch (plan.kind) {
    case 'none':
      return `none ${plan.outcome}`;
    case 'reject':
      return `reject ${plan.outcome}${plan.flag ? ' +flag' : ''}`;
    case 'refuse':
      return `refuse ${plan.code}`;
    case 'flag':
      return `flag ${plan.outcome}`;
    case 'move':
      return `move ${plan.to}${plan.thenAgain ? ' +again' : ''}`;
    case 'instructions':
      return 'instructions';
    case 'refund':
      return `refund ${plan.from} ${plan.amount} -> ${plan.to ?? 'same status'}`;
  }
}

interface FactCase {
  status: OrderStatus;
  outcome: PaymentOutcome;
  source: NewsSource;
  amount: 'agrees' | 'differs';
  tradeNo: 'same' | 'other' | 'none';
  simulated: boolean;
  deadline: 'passed' | 'ahead';
}

type Rule = { when: (c: FactCase) => boolean; then: string | ((c: FactCase) => string); says: string };

/** The specification, first match wins. */
const FACT_RULES: Rule[] = [
  { says: 'a paid report for another amount is refused and flags the order', when: (c) => c.amount === 'differs' && c.outcome === 'paid', then: 'reject amount_mismatch +flag' },
  { says: 'any other report for another amount is refused', when: (c) => c.amount === 'differs', then: 'reject amount_mismatch' },
  { says: 'a provider\'s test payment is recorded, never money', when: (c) => c.simulated && (c.outcome === 'paid' || c.outcome === 'refunded'), then: 'none simulated' },
  {
    says: 'paid or refunded under another trade number for a paid order: a double payment for a person, never booked against ours',
    when: (c) => (c.outcome === 'paid' || c.outcome === 'refunded') && SETTLED.includes(c.status) && c.tradeNo === 'other',
    then: 'flag double_payment',
  },
  { says: 'paid again for a paid order: a duplicate', when: (c) => c.outcome === 'paid' && SETTLED.includes(c.status), then: 'none duplicate' },
  { says: 'paid moves every other order to paid (from cancelled/expired with attention)', when: (c) => c.outcome === 'paid', then: 'move paid' },
  { says: 'refunded for an order never paid here: it was paid first, then (asked again) refunded', when: (c) => c.outcome === 'refunded' && !SETTLED.includes(c.status), then: 'move paid +again' },
  { says: 'refunded for a refunded order: a duplicate', when: (c) => c.outcome === 'refunded' && c.status === 'refunded', then: 'none duplicate' },
  {
    says: 'refunded beyond what paygate refunded: the rest is a refund made at the provider',
    when: (c) => c.outcome === 'refunded',
    then: (c) => `refund provider ${AMOUNT - (c.status === 'partially_refunded' ? 10000 : 0)} -> refunded`,
  },
  { says: 'still waiting moves a created order to pending', when: (c) => c.outcome === 'pending' && c.status === 'created', then: 'move pending' },
  { says: 'still waiting for a pending order: a duplicate', when: (c) => c.outcome === 'pending' && c.status === 'pending', then: 'none duplicate' },
  { says: 'still waiting never reopens anything else', when: (c) => c.outcome === 'pending', then: 'none ignored' },
  { says: 'failed for a failed order: a duplicate', when: (c) => c.outcome === 'failed' && c.status === 'failed', then: 'none duplicate' },
  { says: 'failed moves a created or pending order', when: (c) => c.outcome === 'failed' && (c.status === 'created' || c.status === 'pending'), then: 'move failed' },
  { says: 'failed after anything else is stale', when: (c) => c.outcome === 'failed', then: 'none ignored' },
  { says: 'closed again: a duplicate', when: (c) => c.outcome === 'closed' && (c.status === 'cancelled' || c.status === 'expired'), then: 'none duplicate' },
  { says: 'closed past the deadline: expired, never cancelled', when: (c) => c.outcome === 'closed' && WAITING.includes(c.status) && c.deadline === 'passed', then: 'move expired' },
  { says: 'closed before the deadline: cancelled', when: (c) => c.outcome === 'closed' && WAITING.includes(c.status), then: 'move cancelled' },
  { says: 'closed after the money arrived is stale', when: (c) => c.outcome === 'closed', then: 'none ignored' },
];

function cases(): FactCase[] {
  const out: FactCase[] = [];
  for (const status of ORDER_STATUSES)
    for (const outcome of ['pending', 'paid', 'failed', 'closed', 'refunded'] as const)
      for (const source of ['callback', 'reconcile'] as const)
        for (const amount of ['agrees', 'differs'] as const)
          for (const tradeNo of ['same', 'other', 'none'] as const)
            for (const simulated of [false, true])
              for (const deadline of ['passed', 'ahead'] as const) out.push({ status, outcome, source, amount, tradeNo, simulated, deadline });
  return out;
}

function factsFor(c: FactCase, o: Order): PaymentFacts {
  return {
    orderNo: o.orderNo,
    outcome: c.outcome,
    amount: c.amount === 'agrees' ? AMOUNT : AMOUNT + 1,
    currency: 'TWD',
    providerTradeNo: c.tradeNo === 'same' ? 'T1' : c.tradeNo === 'other' ? 'T2' : null,
    paidAt: null,
    ...(c.simulated ? { simulated: true } : {}),
    ...(c.outcome === 'failed' ? { code: 'DECLINED', message: 'no' } : {}),
  };
}

test('the table of provider facts: every status × outcome × source × agreement × simulated × deadline gives its rule', (t) => {
  const used = new Set<Rule>();
  let checked = 0;
  const wrong: string[] = [];
  for (const c of cases()) {
    const o = order(c.status, { expiresAt: new Date(NOW.getTime() + (c.deadline === 'passed' ? -60_000 : 3_600_000)) });
    const plan = decide({ order: o, news: { kind: 'facts', facts: factsFor(c, o), reporter: { provider: 'fakepay', account: 'default' } }, source: c.source, now: NOW, pendingRefunds: 0 });
    const rule = FACT_RULES.find((r) => r.when(c))!;
    used.add(rule);
    const expected = typeof rule.then === 'string' ? rule.then : rule.then(c);
    if (summary(plan) !== expected) wrong.push(`${JSON.stringify(c)}: got "${summary(plan)}", the rule "${rule.says}" says "${expected}"`);
    checked++;
  }
  t.is(checked, 1920);
  t.deepEqual(wrong.slice(0, 10), []);
  t.deepEqual(FACT_RULES.filter((r) => !used.has(r)).map((r) => r.says), [], 'every rule decides some case');
});

test('callbacks and reconciliation decide alike: the source changes nothing but the words of the cause', (t) => {
  for (const c of cases().filter((x) => x.source === 'callback')) {
    const o = order(c.status, { expiresAt: new Date(NOW.getTime() + (c.deadline === 'passed' ? -60_000 : 3_600_000)) });
    const plans = (['callback', 'reconcile', 'return'] as const).map((source) =>
      summary(decide({ order: o, news: { kind: 'facts', facts: factsFor(c, o), reporter: { provider: 'fakepay', account: 'default' } }, source, now: NOW, pendingRefunds: 0 })),
    );
    if (new Set(plans).size !== 1) t.fail(`${JSON.stringify(c)}: ${plans.join(' / ')}`);
  }
  t.pass();
});

test('who may report: an unknown order, another provider or another account is refused', (t) => {
  const facts: PaymentFacts = { orderNo: 'X', outcome: 'paid', amount: AMOUNT, currency: 'TWD' };
  const run = (o: Order | null, reporter: { provider: string; account: string }) =>
    summary(decide({ order: o, news: { kind: 'facts', facts, reporter }, source: 'callback', now: NOW, pendingRefunds: 0 }));
  t.is(run(null, { provider: 'fakepay', account: 'default' }), 'reject unknown_order');
  t.is(run(order('pending'), { provider: 'otherpay', account: 'default' }), 'reject unknown_order');
  t.is(run(order('pending'), { provider: 'fakepay', account: 'shop2' }), 'reject account_mismatch');
  t.is(run(order('pending', { currency: 'CNY' }), { provider: 'fakepay', account: 'default' }), 'reject amount_mismatch +flag');
});

test('attention is raised once: the same reason again is a duplicate, another reason flags', (t) => {
  const facts: PaymentFacts = { orderNo: 'X', outcome: 'paid', amount: AMOUNT, currency: 'TWD', providerTradeNo: 'T2' };
  const news: News = { kind: 'facts', facts, reporter: { provider: 'fakepay', account: 'default' } };
  const first = decide({ order: order('paid'), news, source: 'reconcile', now: NOW, pendingRefunds: 0 });
  t.is(first.kind, 'flag');
  const reason = first.kind === 'flag' ? first.reason : '';
  t.is(summary(decide({ order: order('paid', { attention: true, attentionReason: reason }), news, source: 'reconcile', now: NOW, pendingRefunds: 0 })), 'none duplicate');
  t.is(summary(decide({ order: order('paid', { attention: true, attentionReason: 'something else' }), news, source: 'reconcile', now: NOW, pendingRefunds: 0 })), 'flag double_payment');
  // A wrong amount flags once too.
  const wrong: News = { kind: 'facts', facts: { ...facts, amount: 1 }, reporter: { provider: 'fakepay', account: 'default' } };
  const flagged = decide({ order: order('pending'), news: wrong, source: 'callback', now: NOW, pendingRefunds: 0 });
  t.is(summary(flagged), 'reject amount_mismatch +flag');
  const again = decide({ order: order('pending', { attention: true, attentionReason: flagged.kind === 'reject' ? flagged.flag : null }), news: wrong, source: 'callback', now: NOW, pendingRefunds: 0 });
  t.is(summary(again), 'reject amount_mismatch');
});

test('refunds the provider reports: ours (succeeded or pending) are known; the rest is the provider\'s; more than paid is for a person', (t) => {
  const news = (refundedAmount: number, outcome: PaymentOutcome = 'paid'): News => ({
    kind: 'facts',
    facts: { orderNo: 'X', outcome, amount: AMOUNT, currency: 'TWD', providerTradeNo: 'T1', refundedAmount },
    reporter: { provider: 'fakepay', account: 'default' },
  });
  const run = (o: Order, n: News, pendingRefunds = 0) => summary(decide({ order: o, news: n, source: 'callback', now: NOW, pendingRefunds }));
  t.is(run(order('paid'), news(20000)), 'refund provider 20000 -> partially_refunded');
  t.is(run(order('partially_refunded'), news(10000)), 'none duplicate', 'the 10000 paygate refunded');
  t.is(run(order('partially_refunded'), news(30000)), 'refund provider 20000 -> same status');
  t.is(run(order('partially_refunded'), news(30000), 20000), 'none refund_pending', 'our pending 20000 accounts for it');
  t.is(run(order('partially_refunded'), news(50000), 20000), 'refund provider 20000 -> same status', 'beyond ours pending and succeeded');
  t.is(run(order('partially_refunded'), news(AMOUNT, 'refunded')), 'refund provider 69900 -> refunded');
  t.is(run(order('paid'), news(AMOUNT + 1)), 'flag refund_excess');
  t.is(run(order('pending'), news(AMOUNT, 'refunded')), 'move paid +again', 'paid first; the refund is decided on the paid order');
  t.is(run(order('pending'), news(20000)), 'move paid +again');
  t.is(run(order('paid', { refundedAmount: 0 }), news(AMOUNT, 'refunded')), 'refund provider 79900 -> refunded', 'what the second decision gives');
});

test('the other news: create\'s answer, the deadline, a cancel, our refunds', (t) => {
  const run = (status: OrderStatus, news: News, extra: Partial<Order> = {}) => summary(decide({ order: order(status, extra), news, source: 'api', now: NOW, pendingRefunds: 0 }));
  const created: News = { kind: 'created', outcome: 'pending', action: { type: 'redirect', url: 'https://pay.example/1' }, providerTradeNo: 'T1', expiresAt: null, failure: null };
  const declined: News = { kind: 'created', outcome: 'failed', action: null, providerTradeNo: null, expiresAt: null, failure: { code: 'RISK', message: 'no' } };
  const deadline: News = { kind: 'deadline', how: 'closed at the provider' };
  const cancel: News = { kind: 'cancel', how: 'closed at the provider' };
  const ours: News = { kind: 'refund_succeeded', refundNo: 'R1', amount: 10000, providerRefundNo: null };
  const unconfirmed: News = { kind: 'refund_unconfirmed', refundNo: 'R1', amount: 10000 };
  const table: Record<OrderStatus, string[]> = {
    //                  created's answer, decline,         deadline,         cancel,                    our refund,                                 unconfirmed
    created: ['move pending', 'move failed', 'move expired', 'move cancelled', 'flag conflict', 'flag refund_unconfirmed'],
    pending: ['none ignored', 'none ignored', 'move expired', 'move cancelled', 'flag conflict', 'flag refund_unconfirmed'],
    failed: ['none ignored', 'none ignored', 'move expired', 'move cancelled', 'flag conflict', 'flag refund_unconfirmed'],
    paid: ['none ignored', 'none ignored', 'none ignored', 'refuse not_cancellable', 'refund merchant 10000 -> partially_refunded', 'flag refund_unconfirmed'],
    partially_refunded: ['none ignored', 'none ignored', 'none ignored', 'refuse not_cancellable', 'refund merchant 10000 -> same status', 'flag refund_unconfirmed'],
    refunded: ['none ignored', 'none ignored', 'none ignored', 'refuse not_cancellable', 'flag refund_excess', 'flag refund_unconfirmed'],
    cancelled: ['none ignored', 'none ignored', 'none ignored', 'none duplicate', 'flag conflict', 'flag refund_unconfirmed'],
    expired: ['none ignored', 'none ignored', 'none ignored', 'refuse not_cancellable', 'flag conflict', 'flag refund_unconfirmed'],
  };
  for (const status of ORDER_STATUSES) {
    t.deepEqual([created, declined, deadline, cancel, ours, unconfirmed].map((n) => run(status, n)), table[status], status);
  }
  t.is(run('partially_refunded', { ...ours, amount: 69900 } as News), 'refund merchant 69900 -> refunded');
  t.is(run('pending', deadline, { attention: true, attentionReason: 'x' }), 'none ignored', 'a flagged order waits for a person, not for expiry');
  t.is(run('paid', unconfirmed, { attention: true, attentionReason: 'x' }), 'none duplicate');
  t.true(NEWS_SOURCES.includes('admin'));
});

test('a new attempt\'s answer (pay again): only a failed order on that very attempt moves to pending; a decline of it changes nothing', (t) => {
  const run = (status: OrderStatus, news: News, extra: Partial<Order> = {}) => summary(decide({ order: order(status, extra), news, source: 'api', now: NOW, pendingRefunds: 0 }));
  const second: News = { kind: 'created', outcome: 'pending', action: { type: 'redirect', url: 'https://pay.example/2' }, providerTradeNo: null, expiresAt: null, failure: null, attempt: 2 };
  for (const status of ORDER_STATUSES) t.is(run(status, second, { attempt: 2 }), status === 'failed' ? 'move pending' : 'none ignored', status);
  t.is(run('failed', second, { attempt: 3 }), 'none ignored', 'a later attempt was counted meanwhile: this answer is stale');
  t.is(run('failed', second, { attempt: 1 }), 'none ignored');
  t.is(run('failed', { ...second, outcome: 'failed', action: null, failure: { code: 'RISK', message: 'no' } } as News, { attempt: 2 }), 'none ignored');
  const plan = decide({ order: order('failed', { attempt: 2 }), news: second, source: 'api', now: NOW, pendingRefunds: 0 });
  t.like(plan, { kind: 'move', to: 'pending', fields: { action: { type: 'redirect', url: 'https://pay.example/2' } } });
});

test('news of an earlier attempt: its failure, close or "still waiting" changes nothing; its payment counts and the order takes that attempt', (t) => {
  const facts = (outcome: PaymentFacts['outcome'], attempt?: number): PaymentFacts => ({ orderNo: 'X', outcome, amount: AMOUNT, currency: 'TWD', providerTradeNo: 'T9', paidAt: NOW, ...(attempt === undefined ? {} : { attempt }) });
  const plan = (status: OrderStatus, f: PaymentFacts) => decide({ order: order(status, { attempt: 2 }), news: { kind: 'facts', facts: f, reporter: { provider: 'fakepay', account: 'default' } }, source: 'callback', now: NOW, pendingRefunds: 0 });
  for (const outcome of ['failed', 'closed', 'pending'] as const) {
    t.is(summary(plan('pending', facts(outcome, 1))), 'none ignored', `${outcome} of attempt 1`);
    t.not(summary(plan('pending', facts(outcome, 2))), 'none ignored', `${outcome} of attempt 2 is the order's own`);
  }
  t.is(summary(plan('pending', facts('failed'))), 'move failed', 'a provider that does not tell attempts apart: as before');
  t.like(plan('pending', facts('paid', 1)), { kind: 'move', to: 'paid', fields: { attempt: 1 } });
  t.like(plan('failed', facts('paid', 1)), { kind: 'move', to: 'paid', fields: { attempt: 1 } });
  const own = plan('pending', facts('paid', 2));
  t.true(own.kind === 'move' && own.fields.attempt === undefined, 'the current attempt\'s payment leaves the attempt as it is');
});

test('instructions handed out after create replace the buyer\'s next step once', (t) => {
  const action = { type: 'instructions' as const, atm: { bankCode: '812', account: '1234', amount: AMOUNT, deadline: '2026-12-03T15:59:59.000Z' } };
  const news: News = {
    kind: 'facts',
    facts: { orderNo: 'X', outcome: 'pending', amount: AMOUNT, currency: 'TWD', action, expiresAt: new Date('2026-12-03T15:59:59Z') },
    reporter: { provider: 'fakepay', account: 'default' },
  };
  t.is(summary(decide({ order: order('pending'), news, source: 'callback', now: NOW, pendingRefunds: 0 })), 'instructions');
  const already = order('pending', { action, expiresAt: new Date('2026-12-03T15:59:59Z') });
  t.is(summary(decide({ order: already, news, source: 'callback', now: NOW, pendingRefunds: 0 })), 'none duplicate');
  t.is(summary(decide({ order: order('created'), news, source: 'callback', now: NOW, pendingRefunds: 0 })), 'move pending');
});
