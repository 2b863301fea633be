import type Router from '@koa/router';
import { randomBytes } from 'node:crypto';
import { getOrderForAdmin, refundableAmount, refundOrderAsAdmin } from '../../../core/admin-queries.ts';
import { refundNoFor } from '../../../core/refunds.ts';
import type { CoreDeps } from '../../../core/deps.ts';
import { ConflictError, GatewayError, ValidationError } from '../../../core/errors.ts';
import { parseDecimalString } from '../../../core/money.ts';
import type { Order } from '../../../core/orders.ts';
import { seeOther, setFlash, type AdminContext, type AdminState } from '../context.ts';
import type { AdminAuth } from '../session.ts';
import { hidden, inputField } from '../views/confirm.ts';
import { html } from '../../../core/html.ts';
import { money, moneyHtml } from '../views/format.ts';
import { actionKit, formText, optionalReason, orderUrl, type ActionError } from './action-kit.ts';
import { possibleActions } from './orders.ts';

/** How long a reviewed refund may wait for its confirmation. */
const REVIEW_TTL_MS = 30 * 60_000;

/** What the review page hands to the confirmation, sealed: this order, this amount, this session, once. */
interface ReviewToken {
  o: string;
  a: number;
  s: string;
  /** When the review was shown, epoch ms (the refund number carries it). */
  t: number;
  n: string;
}

/**
 * Refunds: form (amount in major units, reason) → review (the exact amount) → confirm. The amount
 * is parsed from its decimal text into integer minor units (core/money.ts), never through a float.
 * A confirmation counts once: a double click or a resent form finds the refund it already made
 * (the refunds table, since the review was shown) or the token in flight here, and stops.
 */
export function refundRoutes(router: Router<AdminState>, deps: CoreDeps, auth: AdminAuth): void {
  const { confirm, audit, perform } = actionKit(deps, auth);
  // Confirmations being carried out in this process (a double click lands here within milliseconds).
  const inFlight = new Map<string, number>();

  const form = async (ctx: AdminContext, order: Order, values: { amount: string; reason: string }, error: ActionError | null = null, status = 200) => {
    const left = await refundableAmount(deps.db, order);
    confirm(ctx, {
      order,
      heading: 'Refund',
      explain: html`Give money back to the buyer through ${order.provider ?? 'the provider'}. A part of the payment may be refunded; at most ${moneyHtml(left, order.currency)} is left to refund. You will confirm on the next page.`,
      action: `${orderUrl(order)}/refund`,
      fields: html`${hidden('step', 'review')}
${inputField({ name: 'amount', label: `Amount (${order.currency})`, value: values.amount, hint: `In ${order.currency}, not minor units, with a dot for decimals; at most ${money(left, order.currency)}.`, error: error?.details.find((d) => d.path === 'amount'), attrs: html`inputmode="decimal" autocomplete="off" required` })}
${inputField({ name: 'reason', label: 'Reason (optional; sent to the provider)', value: values.reason, error: error?.details.find((d) => d.path === 'reason'), attrs: html`maxlength="500"` })}`,
      submit: { label: 'Review refund' },
      error,
    }, status);
  };

  /** The amount in major units, parsed exactly into minor units, within what is left. */
  async function parse(ctx: AdminContext, order: Order): Promise<{ amount: number; reason?: string }> {
    const rawAmount = formText(ctx, 'amount').trim();
    if (!rawAmount) throw ValidationError.field('amount', 'is required');
    const amount = parseDecimalString(rawAmount, order.currency, 'amount');
    if (amount <= 0) throw ValidationError.field('amount', 'must be more than 0');
    const left = await refundableAmount(deps.db, order);
    if (amount > left) {
      throw new ConflictError('refund_exceeds_payment', `${money(amount, order.currency)} is more than is left to refund (${money(left, order.currency)}).`, [
        { path: 'amount', message: `exceeds what is left to refund (${money(left, order.currency)})` },
      ]);
    }
    return { amount, reason: optionalReason(formText(ctx, 'reason'), 500) };
  }

  function readToken(ctx: AdminContext, order: Order, amount: number): ReviewToken {
    const token = auth.unseal('refund-review', formText(ctx, 'token')) as Partial<ReviewToken> | undefined;
    const now = deps.now().getTime();
    if (!token || token.o !== order.id || token.a !== amount || token.s !== ctx.state.session?.sid || typeof token.t !== 'number' || typeof token.n !== 'string' || now - token.t > REVIEW_TTL_MS) {
      throw ValidationError.field('confirmation', 'is missing, older than 30 minutes or for another amount; review the refund again');
    }
    return token as ReviewToken;
  }

  /** The refund number this confirmation makes its refund under, whichever process takes it. */
  const refundNoOf = (token: ReviewToken) => refundNoFor(`admin-review:${token.n}`, new Date(token.t));

  /** A refund this confirmation already made, if any (another process may have made it). */
  async function alreadyMade(token: ReviewToken): Promise<{ refund_no: string; status: string } | undefined> {
    return (await deps.db('refunds').where({ refund_no: refundNoOf(token) }).first('refund_no', 'status')) as { refund_no: string; status: string } | undefined;
  }

  router.get('/admin/orders/:id/refund', async (ctx) => {
    const order = await getOrderForAdmin(deps.db, ctx.params.id!);
    const q = (k: string, max: number) => (typeof ctx.query[k] === 'string' ? (ctx.query[k] as string).slice(0, max) : '');
    const values = { amount: q('amount', 30), reason: q('reason', 500) };
    if (!possibleActions(deps, order).refund) return form(ctx, order, values, { message: `This payment cannot be refunded through paygate now (it is ${order.status}).`, details: [] }, 409);
    await form(ctx, order, values);
  });

  router.post('/admin/orders/:id/refund', async (ctx) => {
    const order = await getOrderForAdmin(deps.db, ctx.params.id!);
    const values = { amount: formText(ctx, 'amount').slice(0, 30).trim(), reason: formText(ctx, 'reason').slice(0, 600) };
    const back = (e: ActionError, s: number) => form(ctx, order, values, e, s);
    let input: { amount: number; reason?: string };
    let token: ReviewToken | null = null;
    const confirming = formText(ctx, 'step') === 'confirm';
    try {
      input = await parse(ctx, order);
      if (confirming) token = readToken(ctx, order, input.amount);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.httpStatus >= 500) throw err;
      return back({ message: err.message, details: err.details }, err.httpStatus);
    }

    if (!token) {
      const review: ReviewToken = { o: order.id, a: input.amount, s: ctx.state.session!.sid, t: deps.now().getTime(), n: randomBytes(12).toString('base64url') };
      return confirm(ctx, {
        order,
        heading: 'Confirm refund',
        explain: html`Refund <strong data-testid="review-amount">${moneyHtml(input.amount, order.currency)}</strong> of ${moneyHtml(order.amount, order.currency)} to the buyer through ${order.provider ?? 'the provider'}${input.reason ? `, reason “${input.reason}”` : ''}. This cannot be undone.`,
        action: `${orderUrl(order)}/refund`,
        fields: html`${hidden('step', 'confirm')}${hidden('amount', values.amount)}${hidden('reason', input.reason ?? '')}${hidden('token', auth.seal('refund-review', review))}`,
        submit: { label: `Refund ${money(input.amount, order.currency)}`, danger: true },
        secondary: { href: `${orderUrl(order)}/refund?${new URLSearchParams({ amount: values.amount, reason: values.reason }).toString()}`, label: 'Change' },
      });
    }

    const used = (made?: { refund_no: string; status: string }) => {
      setFlash(ctx, auth, { kind: 'warn', text: `This confirmation was already used${made ? ` (refund ${made.refund_no}, ${made.status})` : ''}; nothing more was sent.` });
      seeOther(ctx, orderUrl(order));
    };
    // Claimed here with no await in between the check and the claim: a double click stops at once.
    if (inFlight.has(token.n)) return used();
    inFlight.set(token.n, token.t + REVIEW_TTL_MS);
    try {
      const made = await alreadyMade(token);
      if (made) return used(made);
      await perform(ctx, order, back, async () => {
        // The confirmation's own refund number: a second submit on another process finds it taken.
        const refund = await refundOrderAsAdmin(deps, order.id, input.amount, input.reason, refundNoOf(token)).catch((err: unknown) => {
          if (err instanceof ConflictError && err.code === 'refund_already_made') return null;
          throw err;
        });
        if (!refund) return { kind: 'warn', text: 'This confirmation was already used on another server process; nothing more was sent.' };
        audit(ctx, 'refund', { orderId: order.id, refundNo: refund.refundNo, amount: refund.amount, status: refund.status });
        const amount = money(refund.amount, refund.currency);
        if (refund.status === 'succeeded') return { kind: 'ok', text: `Refunded ${amount} (refund ${refund.refundNo}${refund.providerRefundNo ? `, provider refund no ${refund.providerRefundNo}` : ''}).` };
        if (refund.status === 'failed') return { kind: 'error', text: `The provider refused refund ${refund.refundNo} of ${amount}: ${refund.failure?.code ?? ''} ${refund.failure?.message ?? ''}`.trim() };
        return { kind: 'warn', text: `Refund ${refund.refundNo} of ${amount} was sent, but the provider's answer is not known yet. The amount stays reserved and is checked again automatically.` };
      });
    } finally {
      // A used token stays until its review expires; after that the token itself is refused.
      const now = deps.now().getTime();
      for (const [n, until] of inFlight) if (until < now) inFlight.delete(n);
    }
  });
}
