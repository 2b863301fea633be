import type Router from '@koa/router';
import { cancelOrderAsAdmin, getOrderForAdmin, reconcileOrderNow, replayEventAsAdmin, type ReplayResult } from '../../../core/admin-queries.ts';
import type { CoreDeps } from '../../../core/deps.ts';
import { NotFoundError } from '../../../core/errors.ts';
import type { Order } from '../../../core/orders.ts';
import type { AdminContext, AdminState } from '../context.ts';
import type { AdminAuth } from '../session.ts';
import { inputField } from '../views/confirm.ts';
import { html } from '../../../core/html.ts';
import type { Flash } from '../views/layout.ts';
import { actionKit, formText, optionalReason, orderUrl, type ActionError } from './action-kit.ts';
import { possibleActions } from './orders.ts';

/** Reconcile now, cancel, and replay a merchant event (refunds are in refund.ts). */
export function actionRoutes(router: Router<AdminState>, deps: CoreDeps, auth: AdminAuth): void {
  const { confirm, audit, perform } = actionKit(deps, auth);

  // --- reconcile now -------------------------------------------------------------------------
  const reconcilePage = (ctx: AdminContext, order: Order, error: ActionError | null = null, status = 200) =>
    confirm(ctx, {
      order,
      heading: 'Reconcile now',
      explain: html`Ask <strong>${order.provider ?? '—'}</strong> for this payment's state and apply what it says, as the reconciliation job does. Nothing changes if the provider agrees with our record.`,
      action: `${orderUrl(order)}/reconcile`,
      submit: { label: 'Ask the provider now' },
      error,
    }, status);

  router.get('/admin/orders/:id/reconcile', async (ctx) => reconcilePage(ctx, await getOrderForAdmin(deps.db, ctx.params.id!)));
  router.post('/admin/orders/:id/reconcile', async (ctx) => {
    const order = await getOrderForAdmin(deps.db, ctx.params.id!);
    await perform(ctx, order, (e, s) => reconcilePage(ctx, order, e, s), async () => {
      const r = await reconcileOrderNow(deps, order.id);
      audit(ctx, 'reconcile', { orderId: order.id, reported: r.reported, moved: r.moved, status: r.order.status });
      if (!r.reported) return { kind: 'warn', text: `${order.provider} does not know order ${order.orderNo}; nothing changed.` };
      return r.moved
        ? { kind: 'ok', text: `Reconciled: ${order.provider} reports ${r.reported}; the order moved from ${order.status} to ${r.order.status}.` }
        : { kind: 'ok', text: `Reconciled: ${order.provider} reports ${r.reported}; the order stays ${r.order.status}${r.order.attention && !order.attention ? ' and is now flagged for attention' : ''}.` };
    });
  });

  // --- cancel --------------------------------------------------------------------------------
  const cancelPage = (ctx: AdminContext, order: Order, reason = '', error: ActionError | null = null, status = 200) =>
    confirm(ctx, {
      order,
      heading: 'Cancel payment',
      explain: html`Close the payment at ${order.provider ?? 'the provider'} where it can be closed, then cancel it here, as the merchant API's cancel does. The merchant is told (<span class="mono">payment.cancelled</span>). A payment that lands anyway is kept and flagged.`,
      action: `${orderUrl(order)}/cancel`,
      fields: inputField({ name: 'reason', label: 'Reason (optional, recorded with the cancellation)', value: reason, type: 'textarea', error: error?.details.find((d) => d.path === 'reason'), attrs: html`maxlength="400"` }),
      submit: { label: 'Cancel this payment', danger: true },
      error,
    }, status);

  router.get('/admin/orders/:id/cancel', async (ctx) => {
    const order = await getOrderForAdmin(deps.db, ctx.params.id!);
    if (!possibleActions(deps, order).cancel) return cancelPage(ctx, order, '', { message: `A ${order.status} payment cannot be cancelled.`, details: [] }, 409);
    cancelPage(ctx, order);
  });
  router.post('/admin/orders/:id/cancel', async (ctx) => {
    const order = await getOrderForAdmin(deps.db, ctx.params.id!);
    const raw = formText(ctx, 'reason');
    await perform(ctx, order, (e, s) => cancelPage(ctx, order, raw, e, s), async () => {
      const reason = optionalReason(raw, 400);
      // The cause reaches the merchant in the event: it names the role, not the login (that is in the log).
      const done = await cancelOrderAsAdmin(deps, order.id, 'a paygate operator (dashboard)', reason);
      audit(ctx, 'cancel', { orderId: order.id, reason, status: done.status });
      return { kind: 'ok', text: `Payment ${order.orderNo} is ${done.status}.` };
    });
  });

  // --- replay a merchant event ---------------------------------------------------------------
  const replayPage = async (ctx: AdminContext, order: Order, eventId: string, error: ActionError | null = null, status = 200) => {
    const event = (await deps.db('events').where({ public_id: eventId, order_id: order.id }).first('public_id', 'type', 'delivery_status')) as { public_id: string; type: string; delivery_status: string } | undefined;
    if (!event) throw new NotFoundError('Event');
    confirm(ctx, {
      order,
      heading: 'Replay webhook',
      explain: html`Send event <span class="mono">${event.public_id}</span> (${event.type}, now ${event.delivery_status}) to the merchant's webhook again, now. If the merchant does not answer 2xx, the usual retry schedule starts over.`,
      action: `${orderUrl(order)}/events/${encodeURIComponent(event.public_id)}/replay`,
      submit: { label: 'Send it again' },
      error,
    }, status);
  };

  router.get('/admin/orders/:id/events/:eventId/replay', async (ctx) => replayPage(ctx, await getOrderForAdmin(deps.db, ctx.params.id!), ctx.params.eventId!));
  router.post('/admin/orders/:id/events/:eventId/replay', async (ctx) => {
    const order = await getOrderForAdmin(deps.db, ctx.params.id!);
    const eventId = ctx.params.eventId!;
    await perform(ctx, order, (e, s) => replayPage(ctx, order, eventId, e, s), async () => {
      const r = await replayEventAsAdmin(deps, order.id, eventId);
      audit(ctx, 'replay', { orderId: order.id, eventId, delivery: r.delivery, status: r.attempt?.responseStatus ?? null });
      return replayFlash(eventId, r);
    });
  });
}

function replayFlash(eventId: string, r: ReplayResult): Flash {
  const answer = r.attempt ? (r.attempt.responseStatus !== null ? `HTTP ${r.attempt.responseStatus}` : (r.attempt.error ?? 'no answer')) : '';
  switch (r.delivery) {
    case 'delivered':
      return { kind: 'ok', text: `Event ${eventId} delivered again: the merchant answered ${answer}.` };
    case 'retry':
    case 'failed':
      return { kind: 'warn', text: `Event ${eventId} was sent again but not accepted (${answer}); it will be retried on the usual schedule.` };
    case 'skipped':
      return { kind: 'warn', text: `Event ${eventId} was not sent: the merchant has no webhook URL.` };
    case 'queued':
      return { kind: 'ok', text: `Event ${eventId} is queued again; a worker is delivering it now.` };
    default:
      return { kind: 'warn', text: `Event ${eventId} is queued again; it goes out with the next delivery run.` };
  }
}
