import Router from '@koa/router';
import { cancelPaymentInput, createPaymentInput, createRefundInput, listPaymentsQuery } from '../../core/api-schemas.ts';
import { createPayment } from '../../core/checkout.ts';
import type { CoreDeps } from '../../core/deps.ts';
import { GatewayError } from '../../core/errors.ts';
import { loadItems } from '../../core/orders.ts';
import { checkoutPath } from '../../core/hosted-checkout.ts';
import { cancelPayment, getPayment, listPayments, toPaymentView, type PaymentView } from '../../core/payments.ts';
import type { BuyerLinks } from './checkout.ts';
import { createRefund, listRefunds } from '../../core/refunds.ts';
import { parseWith } from '../../core/validation.ts';
import type { MerchantState } from '../middleware/auth.ts';

function requireJson(ctx: { is(type: string): string | false | null; request: { length?: number } }): void {
  if (ctx.request.length && !ctx.is('application/json')) {
    throw new GatewayError('unsupported_media_type', 'Send the body as application/json', {
      httpStatus: 415,
      details: [{ path: 'Content-Type', message: 'must be application/json' }],
    });
  }
}

/** The merchant API of docs/architecture.md#merchant-api. Every query is scoped to the authenticated merchant. */
export function paymentRoutes(deps: CoreDeps, links: BuyerLinks): Router<MerchantState> {
  const router = new Router<MerchantState>();
  /**
   * Every payment carries the buyer's signed page: the hosted checkout while the buyer has to
   * choose, the ATM instructions while they hold, the result after.
   */
  const withCheckoutUrl = (ctx: { protocol: string; host: string }, view: PaymentView): PaymentView => {
    return { ...view, checkoutUrl: `${links.publicUrl ?? `${ctx.protocol}://${ctx.host}`}${checkoutPath(links.secret, { id: view.id, expiresAt: new Date(view.expiresAt) })}` };
  };

  router.post('/v1/payments', async (ctx) => {
    requireJson(ctx);
    const input = parseWith(createPaymentInput, ctx.request.body ?? {});
    const order = await createPayment(deps, ctx.state.merchant.id, input);
    ctx.status = 201;
    ctx.body = withCheckoutUrl(ctx, toPaymentView(order, deps.now(), await loadItems(deps.db, order.id)));
  });

  router.get('/v1/payments', async (ctx) => {
    // `?status=&provider=` (empty) means no filter, as in docs/architecture.md#merchant-api.
    const query = parseWith(listPaymentsQuery, Object.fromEntries(Object.entries(ctx.query).filter(([, v]) => v !== '')));
    const page = await listPayments(deps, ctx.state.merchant.id, query);
    ctx.body = { ...page, data: page.data.map((view) => withCheckoutUrl(ctx, view)) };
  });

  router.get('/v1/payments/:id', async (ctx) => {
    ctx.body = withCheckoutUrl(ctx, await getPayment(deps, ctx.state.merchant.id, ctx.params.id!));
  });

  router.post('/v1/payments/:id/cancel', async (ctx) => {
    requireJson(ctx);
    const input = parseWith(cancelPaymentInput, ctx.request.length ? ctx.request.body : undefined);
    ctx.body = await cancelPayment(deps, ctx.state.merchant.id, ctx.params.id!, input?.reason);
  });

  router.post('/v1/payments/:id/refunds', async (ctx) => {
    requireJson(ctx);
    const input = parseWith(createRefundInput, ctx.request.body ?? {});
    const refund = await createRefund(deps, ctx.state.merchant.id, ctx.params.id!, input);
    // 201 once the provider has answered (succeeded or failed); 202 while its answer is unknown.
    ctx.status = refund.status === 'pending' ? 202 : 201;
    ctx.body = refund;
  });

  router.get('/v1/payments/:id/refunds', async (ctx) => {
    ctx.body = { data: await listRefunds(deps, ctx.state.merchant.id, ctx.params.id!) };
  });

  return router;
}
