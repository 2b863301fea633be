import type { Order } from '../../core/orders.ts';
import { PAYABLE_STATUSES } from '../../core/state-machine.ts';
import type { PaymentOutcome } from '../../core/payment-provider.ts';
import { DEFAULT_TIME_ZONE, formatDateTime, formatMoney } from './format.ts';
import { html, joinHtml, safeHref, unsafeRaw, type SafeHtml } from '../../core/html.ts';
import { backLinks, type PageContext } from './checkout-page.ts';
import { failureReason, t, type MessageKey } from './i18n.ts';
import { pageShell } from './page.ts';

export interface ResultPageInput extends PageContext {
  order: Order | null;
  verified: boolean;
  reported: PaymentOutcome | null;
  /** A link that restarts payment (seed 002's pay-again), when the order can still be paid. */
  payAgainUrl: string | null;
  /**
   * Where a "pay again" button posts (`again=<the order's attempt>`) when paying again is a new attempt at the provider
   * (core/checkout.ts#startAgain): the order's signed checkout link. Unset or null otherwise.
   */
  payAgainPost?: string | null;
  refreshUrl: string;
}

type Tone = 'good' | 'bad' | 'neutral';

/**
 * Pay-again for a failed order: the provider's own page again (a card page that takes another try),
 * while the order can still be paid.
 */
export function payAgainUrlFor(order: Order | null, now: Date): string | null {
  return order && PAYABLE_STATUSES.includes(order.status) && order.action?.type === 'redirect' && order.expiresAt > now ? order.action.url : null;
}

/**
 * What the page says. A settled order speaks for itself. While the order still waits, a verified
 * return (signed by the provider, or confirmed by asking it) may say more: it is shown, never stored.
 */
function statusOf(input: ResultPageInput): { key: MessageKey; tone: Tone; hint: MessageKey | null; shown: string } {
  const order = input.order;
  if (!order) return { key: 'status_unknown', tone: 'neutral', hint: 'unknown_hint', shown: 'unknown' };
  const waiting = order.status === 'created' || order.status === 'pending';
  const shown = waiting && input.verified && input.reported ? REPORTED[input.reported] : order.status;
  switch (shown) {
    case 'paid':
      return { key: 'status_paid', tone: 'good', hint: waiting ? 'reported_paid_hint' : null, shown };
    case 'partially_refunded':
    case 'refunded':
      return { key: 'status_refunded', tone: 'neutral', hint: null, shown };
    case 'failed':
      return { key: 'status_failed', tone: 'bad', hint: null, shown };
    case 'cancelled':
      return { key: 'status_cancelled', tone: 'bad', hint: null, shown };
    case 'expired':
      // No provider was ever chosen: there is nothing to refresh for, only a new order to place.
      return { key: 'status_expired', tone: 'bad', hint: order.provider === null ? 'expired_unchosen_hint' : null, shown };
    default:
      return { key: 'status_pending', tone: 'neutral', hint: 'pending_hint', shown: 'pending' };
  }
}

const REPORTED: Record<PaymentOutcome, string> = {
  paid: 'paid',
  failed: 'failed',
  pending: 'pending',
  closed: 'cancelled',
  refunded: 'refunded',
};

const TONES: Record<Tone, { fg: string; bg: string; icon: string }> = {
  good: { fg: '#0b6b2e', bg: '#e6f4ea', icon: '✓' },
  bad: { fg: '#a11a1a', bg: '#fdecea', icon: '✕' },
  neutral: { fg: '#5a4a00', bg: '#fff8e1', icon: '…' },
};

/** Seed 002's result page: order number, outcome in colour, and the way on. Display only. */
export function renderResultPage(input: ResultPageInput): SafeHtml {
  const { locale, order } = input;
  const status = statusOf(input);
  const tone = TONES[status.tone];
  const timeZone = input.timeZone ?? DEFAULT_TIME_ZONE;
  const at = order ? (order.paidAt ?? order.updatedAt) : null;
  const rows = order && at
    ? html`<dl class="facts">
        <dt>${t(locale, 'orderNo')}</dt><dd data-testid="order-no">${order.orderNo}</dd>
        <dt>${t(locale, 'amount')}</dt><dd data-testid="amount">${formatMoney(order.amount, order.currency, locale)}</dd>
        <dt>${t(locale, 'time')}</dt><dd><time datetime="${at.toISOString()}" data-testid="time">${formatDateTime(at, locale, timeZone)}</time></dd>
      </dl>`
    : '';
  const actions: SafeHtml[] = [];
  // A new attempt (a provider that never takes a trade twice) replaces the old action's link.
  const againPost = input.payAgainPost ?? null;
  const payAgain = againPost ? null : safeHref(input.payAgainUrl);
  if (order && status.shown === 'failed' && payAgain) actions.push(html`<a class="button primary" href="${payAgain}">${t(locale, 'payAgain')}</a>`);
  if (order && status.shown === 'failed' && againPost) {
    actions.push(html`<form method="post" action="${againPost}"><input type="hidden" name="again" value="${String(order.attempt)}"><button type="submit" class="button primary">${t(locale, 'payAgain')}</button></form>`);
  }
  if (order && (status.tone === 'neutral' || status.hint === 'reported_paid_hint')) actions.push(html`<a class="button" href="${input.refreshUrl}">${t(locale, 'refresh')}</a>`);

  const css = unsafeRaw(`
  .status { display: flex; gap: .75rem; align-items: center; padding: 1rem; border-radius: 10px; color: ${tone.fg}; background: ${tone.bg}; font-size: 1.25rem; font-weight: 600; }
  .status .icon { font-size: 1.5rem; }
  nav.actions:empty { display: none; }
`, 'constant CSS; the colours come from TONES');
  const body = html`<h1 class="status" role="status" data-status="${status.shown}"><span class="icon" aria-hidden="true">${tone.icon}</span>${t(locale, status.key)}</h1>
  ${status.hint ? html`<p class="hint">${t(locale, status.hint)}</p>` : ''}
  ${order && status.shown === 'failed' && order.failure ? html`<p class="hint" data-testid="failure-reason">${t(locale, 'failure_reason')}: ${failureReason(locale, order.failure)}</p>` : ''}
  ${order && status.shown === 'failed' && !payAgain && !againPost ? html`<p class="hint" data-testid="no-retry">${t(locale, 'failed_no_retry_hint')}</p>` : ''}
  ${order?.simulated ? html`<p class="hint simulated" data-testid="simulated">${t(locale, 'simulatedNote')}</p>` : ''}
  ${rows}
  <nav class="actions">${joinHtml(actions, '\n    ')}</nav>
  ${order ? backLinks(locale, order) : ''}`;
  return pageShell({ locale, title: t(locale, 'title'), body, css, merchant: order ? input.merchant : null });
}
