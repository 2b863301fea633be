import type { Order } from './orders.ts';
import type { NextAction, PaymentFacts } from './payment-provider.ts';
import { SETTLED_PAID_STATUSES, WAITING_STATUSES, type OrderStatus } from './state-machine.ts';

/**
 * The one decision (docs/architecture.md, "What paygate does with news"): what a piece of news
 * about a payment does to its order. Pure: no I/O, no clock but `now`. Every path that learns
 * something (a provider's callback, a reconciliation answer, the expiry job, a cancel, a refund the
 * provider confirmed or never did) asks here, with the order as locked, and hands the plan to the
 * one writer (core/order-writer.ts). test/unit/decide.test.ts holds the whole table of cases.
 */

/** Where the news came from. */
export const NEWS_SOURCES = ['callback', 'return', 'reconcile', 'refund_recheck', 'expiry', 'admin', 'api'] as const;
export type NewsSource = (typeof NEWS_SOURCES)[number];

export type News =
  /** What a provider said, verified (a callback, or the answer to our own query). */
  | { kind: 'facts'; facts: PaymentFacts; reporter: { provider: string; account: string } }
  /** The provider's answer to our create: the buyer's next step, or a decline. */
  | {
      kind: 'created';
      outcome: 'pending' | 'failed';
      action: NextAction | null;
      providerTradeNo: string | null;
      /** The provider's own deadline for the payment, when it differs from the order's. */
      expiresAt: Date | null;
      failure: { code: string; message: string } | null;
      /** Set for a new attempt after a failure (pay again): the attempt the provider was asked for. */
      attempt?: number;
    }
  /** The order's deadline passed and the provider has been asked (the expiry job). */
  | { kind: 'deadline'; how: string }
  /** The merchant (API or dashboard) cancels it. */
  | { kind: 'cancel'; how: string; reason?: string | null }
  /** One of our refunds the provider confirmed. */
  | { kind: 'refund_succeeded'; refundNo: string; amount: number; providerRefundNo: string | null }
  /** One of our refunds the provider never confirmed, and that cannot be asked again safely. */
  | { kind: 'refund_unconfirmed'; refundNo: string; amount: number };

export interface DecideInput {
  /** The order as locked; null when the news names no order of ours. */
  order: Order | null;
  news: News;
  source: NewsSource;
  now: Date;
  /** Our refunds of this order still awaiting the provider's word (their amounts are reserved). */
  pendingRefunds: number;
}

export interface MoveFields {
  providerTradeNo: string | null;
  paidAt: Date | null;
  failure: { code: string; message: string } | null;
  action: NextAction | null;
  expiresAt: Date | null;
  /** Paid by an attempt other than the order's current one: the order's attempt becomes it. */
  attempt?: number;
}

/** What a callback's inbox row records when the plan changes nothing. */
export type QuietOutcome = 'duplicate' | 'ignored' | 'simulated' | 'refund_pending';
/** What a flag is about (a callback's inbox row records it). */
export type FlagOutcome = 'double_payment' | 'conflict' | 'refund_excess' | 'refund_unconfirmed';

export type Plan =
  /** Nothing to write: a repeat, stale news, a simulated payment. */
  | { kind: 'none'; outcome: QuietOutcome; note: string | null }
  /** The news does not fit the order (answered "not accepted" to a provider); `flag` raises attention too. */
  | { kind: 'reject'; outcome: 'unknown_order' | 'account_mismatch' | 'amount_mismatch'; reason: string; flag: string | null }
  /** The merchant asked for something the order's state does not allow. */
  | { kind: 'refuse'; code: 'not_cancellable'; reason: string }
  /** A person must look: attention is raised with `reason`, the status stays. */
  | { kind: 'flag'; outcome: FlagOutcome; reason: string }
  /**
   * The order moves (one transition row, one event). `thenAgain`: the news says more than this move
   * (paid, and partly refunded since): the writer asks the decision again on the moved order.
   */
  | { kind: 'move'; to: OrderStatus; cause: string; fields: MoveFields; thenAgain?: boolean }
  /** A pending order gets new instructions for the buyer (an account issued after create). */
  | { kind: 'instructions'; action: NextAction; expiresAt: Date }
  /**
   * Money went back: the refunded amount becomes `refundedAfter`, the status `to` (null: unchanged),
   * and the merchant hears `payment.refunded`. `from: 'provider'` records a refund paygate did not
   * ask for (made in the provider's own back office) as a refund row of its own.
   */
  | {
      kind: 'refund';
      from: 'merchant' | 'provider';
      amount: number;
      refundedAfter: number;
      to: OrderStatus | null;
      cause: string;
      refundNo: string | null;
      providerRefundNo: string | null;
    };

const TRADE_NO_MAX = 128;

function tradeNoOf(facts: PaymentFacts): string | null {
  return typeof facts.providerTradeNo === 'string' && facts.providerTradeNo !== '' ? facts.providerTradeNo.slice(0, TRADE_NO_MAX) : null;
}

function paidAtOf(facts: PaymentFacts): Date | null {
  return facts.paidAt && !Number.isNaN(facts.paidAt.getTime()) ? facts.paidAt : null;
}

function noFields(): MoveFields {
  return { providerTradeNo: null, paidAt: null, failure: null, action: null, expiresAt: null };
}

/** Attention with this reason is raised once: news repeated (a sweep every 15 minutes) does not raise it again. */
const ATTENTION_REASON_MAX = 500;
function flagOnce(order: Order, outcome: FlagOutcome, reason: string): Plan {
  if (order.attention && order.attentionReason === reason.slice(0, ATTENTION_REASON_MAX)) return { kind: 'none', outcome: 'duplicate', note: reason };
  return { kind: 'flag', outcome, reason };
}

function causeFor(facts: PaymentFacts, source: NewsSource): string {
  const detail = [facts.code, facts.message].filter(Boolean).join(' ');
  const who = source === 'reconcile' ? 'reconciliation: provider reports' : 'provider reported';
  return `${who} ${facts.outcome}${detail ? `: ${detail}` : ''}`;
}

function refundStatus(order: Order, refundedAfter: number): OrderStatus | null {
  const to: OrderStatus = refundedAfter >= order.amount ? 'refunded' : 'partially_refunded';
  return to === order.status ? null : to;
}

export function decide(input: DecideInput): Plan {
  const { order, news, now } = input;
  if (news.kind === 'facts') return decideFacts(input, news.facts, news.reporter);
  if (!order) throw new Error(`news of kind ${news.kind} needs an order`);
  switch (news.kind) {
    case 'created':
      if (news.attempt !== undefined) {
        // Pay again: only the failed order's current attempt, and only while it is still failed.
        if (order.status !== 'failed' || order.attempt !== news.attempt) return { kind: 'none', outcome: 'ignored', note: `attempt ${news.attempt} is not the order's current one, or the order is ${order.status}` };
        if (news.outcome === 'failed') return { kind: 'none', outcome: 'ignored', note: `attempt ${news.attempt} was declined at once: ${news.failure?.code ?? 'declined'}` };
        return {
          kind: 'move',
          to: 'pending',
          cause: `paying again: attempt ${news.attempt} created at the provider`,
          fields: { ...noFields(), providerTradeNo: news.providerTradeNo?.slice(0, TRADE_NO_MAX) ?? null, action: news.action, expiresAt: news.expiresAt },
        };
      }
      // A callback may have moved the order before the provider's answer to create was written.
      if (order.status !== 'created') return { kind: 'none', outcome: 'ignored', note: `the order is already ${order.status}` };
      if (news.outcome === 'failed') {
        const failure = news.failure ?? { code: 'declined', message: '' };
        return { kind: 'move', to: 'failed', cause: `provider declined: ${failure.code} ${failure.message}`, fields: { ...noFields(), failure } };
      }
      return {
        kind: 'move',
        to: 'pending',
        cause: 'created at the provider',
        fields: { ...noFields(), providerTradeNo: news.providerTradeNo?.slice(0, TRADE_NO_MAX) ?? null, action: news.action, expiresAt: news.expiresAt },
      };
    case 'deadline':
      if (!WAITING_STATUSES.includes(order.status) || order.attention) return { kind: 'none', outcome: 'ignored', note: `the order is ${order.status}` };
      return { kind: 'move', to: 'expired', cause: `past its deadline ${order.expiresAt.toISOString()} (${news.how})`, fields: noFields() };
    case 'cancel':
      if (order.status === 'cancelled') return { kind: 'none', outcome: 'duplicate', note: null };
      if (!WAITING_STATUSES.includes(order.status)) {
        return { kind: 'refuse', code: 'not_cancellable', reason: `A ${order.status} payment cannot be cancelled${SETTLED_PAID_STATUSES.includes(order.status) ? '; refund it instead' : ''}` };
      }
      return { kind: 'move', to: 'cancelled', cause: `merchant cancelled${news.reason ? `: ${news.reason}` : ''} (${news.how})`, fields: noFields() };
    case 'refund_succeeded': {
      if (!SETTLED_PAID_STATUSES.includes(order.status)) return flagOnce(order, 'conflict', `Refund ${news.refundNo} succeeded but the order is ${order.status}; check it at the provider`);
      const refundedAfter = order.refundedAmount + news.amount;
      if (refundedAfter > order.amount) return flagOnce(order, 'refund_excess', `Refunds add up to ${refundedAfter}, more than the ${order.amount} paid; check them at the provider`);
      return {
        kind: 'refund',
        from: 'merchant',
        amount: news.amount,
        refundedAfter,
        to: refundStatus(order, refundedAfter),
        cause: `refund ${news.refundNo} of ${news.amount}`,
        refundNo: news.refundNo,
        providerRefundNo: news.providerRefundNo,
      };
    }
    case 'refund_unconfirmed':
      if (order.attention) return { kind: 'none', outcome: 'duplicate', note: null };
      return {
        kind: 'flag',
        outcome: 'refund_unconfirmed',
        reason: `Refund ${news.refundNo} of ${news.amount}: the provider never confirmed it and it cannot be repeated safely; check it at the provider`,
      };
  }
  void now;
  throw new Error('unreachable');
}

function decideFacts(input: DecideInput, facts: PaymentFacts, reporter: { provider: string; account: string }): Plan {
  const { order, now, source } = input;
  if (!order || order.provider !== reporter.provider) {
    return { kind: 'reject', outcome: 'unknown_order', reason: `no ${reporter.provider} order ${facts.orderNo}`, flag: null };
  }
  if (order.account !== reporter.account) {
    return { kind: 'reject', outcome: 'account_mismatch', reason: `order ${order.orderNo} belongs to account ${order.account}, not ${reporter.account}`, flag: null };
  }
  if (facts.currency !== order.currency || facts.amount !== order.amount) {
    const reason = `provider reported ${facts.outcome} for ${facts.amount} ${facts.currency}; the order is ${order.amount} ${order.currency}`;
    const flag = `Amount mismatch: ${reason}`;
    const raise = facts.outcome === 'paid' && !(order.attention && order.attentionReason === flag.slice(0, ATTENTION_REASON_MAX));
    return { kind: 'reject', outcome: 'amount_mismatch', reason, flag: raise ? flag : null };
  }
  // A provider's "test payment" flag (PaymentFacts.simulated): recorded, never money.
  if (facts.simulated && (facts.outcome === 'paid' || facts.outcome === 'refunded')) {
    return { kind: 'none', outcome: 'simulated', note: 'a simulated payment never counts as paid' };
  }
  // News of an earlier attempt, after pay again started another (docs/architecture.md#paying-again):
  // its failure, close or "still waiting" says nothing of the attempt now on. Money it took counts.
  const earlier = facts.attempt !== undefined && facts.attempt !== order.attempt;
  if (earlier && (facts.outcome === 'failed' || facts.outcome === 'closed' || facts.outcome === 'pending')) {
    return { kind: 'none', outcome: 'ignored', note: `news of attempt ${facts.attempt}; the order is on attempt ${order.attempt}` };
  }
  const tradeNo = tradeNoOf(facts);
  const settled = SETTLED_PAID_STATUSES.includes(order.status);
  // News of a different payment (another trade number) for an order already paid, whether that
  // payment is still held or already (partly) refunded: real money twice, never a "duplicate", and
  // never booked against the payment we know. A person decides which one to keep.
  const otherPayment = settled && tradeNo !== null && order.providerTradeNo !== null && tradeNo !== order.providerTradeNo.slice(0, TRADE_NO_MAX);
  const doublePayment = (): Plan => flagOnce(order, 'double_payment', `Second payment ${tradeNo} for an order already paid by ${order.providerTradeNo}: refund one of them`);
  switch (facts.outcome) {
    case 'paid':
      if (settled) {
        if (otherPayment) return doublePayment();
        if (facts.refundedAmount !== undefined && facts.refundedAmount > 0) return decideProviderRefund(input, order, facts, facts.refundedAmount);
        return { kind: 'none', outcome: 'duplicate', note: null };
      }
      return {
        kind: 'move',
        to: 'paid',
        cause: causeFor(facts, source),
        fields: { ...noFields(), providerTradeNo: tradeNo, paidAt: paidAtOf(facts), ...(earlier ? { attempt: facts.attempt } : {}) },
        ...(facts.refundedAmount !== undefined && facts.refundedAmount > 0 ? { thenAgain: true } : {}),
      };
    case 'refunded':
      // Paid and refunded before we heard of the payment (its notify lost): first the money that
      // came (paid), then, asked again, the money that went back.
      if (!settled) {
        return {
          kind: 'move',
          to: 'paid',
          cause: `${causeFor(facts, source)} (so it was paid first)`,
          fields: { ...noFields(), providerTradeNo: tradeNo, paidAt: paidAtOf(facts), ...(earlier ? { attempt: facts.attempt } : {}) },
          thenAgain: true,
        };
      }
      if (otherPayment) return doublePayment();
      return decideProviderRefund(input, order, facts, facts.refundedAmount ?? order.amount);
    case 'pending':
      if (facts.action && order.status === 'pending') {
        const expiresAt = facts.expiresAt && !Number.isNaN(facts.expiresAt.getTime()) ? facts.expiresAt : order.expiresAt;
        const same = JSON.stringify(order.action) === JSON.stringify(facts.action) && order.expiresAt.getTime() === expiresAt.getTime();
        return same ? { kind: 'none', outcome: 'duplicate', note: null } : { kind: 'instructions', action: facts.action, expiresAt };
      }
      if (order.status === 'created') {
        return { kind: 'move', to: 'pending', cause: causeFor(facts, source), fields: { ...noFields(), providerTradeNo: tradeNo, action: facts.action ?? null } };
      }
      // "Still waiting" never reopens an order: only the buyer's pay-again does (failed → pending).
      return { kind: 'none', outcome: order.status === 'pending' ? 'duplicate' : 'ignored', note: null };
    case 'failed':
      if (order.status === 'failed') return { kind: 'none', outcome: 'duplicate', note: null };
      if (order.status === 'created' || order.status === 'pending') {
        return {
          kind: 'move',
          to: 'failed',
          cause: causeFor(facts, source),
          fields: { ...noFields(), providerTradeNo: tradeNo, failure: { code: facts.code ?? 'declined', message: facts.message ?? '' } },
        };
      }
      return { kind: 'none', outcome: 'ignored', note: `order is ${order.status}; a failed report cannot move it` };
    case 'closed': {
      // Closed past the order's deadline is the provider timing it out: expired, never cancelled.
      const to: OrderStatus = order.expiresAt.getTime() <= now.getTime() ? 'expired' : 'cancelled';
      if (order.status === 'cancelled' || order.status === 'expired') return { kind: 'none', outcome: 'duplicate', note: null };
      if (WAITING_STATUSES.includes(order.status)) {
        return { kind: 'move', to, cause: causeFor(facts, source), fields: { ...noFields(), providerTradeNo: tradeNo } };
      }
      return { kind: 'none', outcome: 'ignored', note: `order is ${order.status}; a closed report cannot move it` };
    }
  }
}

/**
 * The provider says `refunded` in all of this payment. What we know: the succeeded refunds (the
 * order's refunded amount) and ours still pending. More than we know of is a refund paygate did not
 * ask for; more than was paid is for a person.
 */
function decideProviderRefund(input: DecideInput, order: Order, facts: PaymentFacts, refundedAtProvider: number): Plan {
  if (refundedAtProvider > order.amount) {
    return flagOnce(order, 'refund_excess', `The provider reports ${refundedAtProvider} refunded of a ${order.amount} payment; check it at the provider`);
  }
  if (refundedAtProvider <= order.refundedAmount) return { kind: 'none', outcome: 'duplicate', note: null };
  const known = order.refundedAmount + input.pendingRefunds;
  // Our own refunds awaiting confirmation account for it: the refund recheck settles them.
  if (refundedAtProvider <= known) return { kind: 'none', outcome: 'refund_pending', note: null };
  const amount = refundedAtProvider - known;
  const refundedAfter = order.refundedAmount + amount;
  return {
    kind: 'refund',
    from: 'provider',
    amount,
    refundedAfter,
    to: refundStatus(order, refundedAfter),
    cause: `${input.source === 'reconcile' ? 'reconciliation: ' : ''}the provider reports ${refundedAtProvider} refunded, ${amount} of it not through paygate`,
    refundNo: null,
    providerRefundNo: facts.providerRefundNo ?? null,
  };
}

/** Whether deciding `news` needs the order's pending refunds (a query the writer makes only then). */
export function needsPendingRefunds(news: News): boolean {
  return news.kind === 'facts' && (news.facts.outcome === 'refunded' || (news.facts.refundedAmount ?? 0) > 0);
}
