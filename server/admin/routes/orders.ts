import type Router from '@koa/router';
import { refundableAmount } from '../../../core/admin-queries.ts';
import type { CoreDeps } from '../../../core/deps.ts';
import { NotFoundError, ValidationError } from '../../../core/errors.ts';
import type { Order } from '../../../core/orders.ts';
import { ORDER_STATUSES } from '../../../core/state-machine.ts';
import { render, type AdminState } from '../context.ts';
import { encodeCursor, listUrl, PAGE_SIZES, parseListQuery, rawValues } from '../filters.ts';
import { dailyFigures } from '../queries/figures.ts';
import { countOpenWork, listAdminOrders, listMerchantNames, type AdminOrderPage } from '../queries/orders.ts';
import { loadTimeline } from '../queries/timeline.ts';
import type { AdminAuth } from '../session.ts';
import { addDays, dateIn, daysBetween } from '../time-zone.ts';
import { renderOrder } from '../views/order.ts';
import { renderOrders } from '../views/orders.ts';
import { renderOverview } from '../views/overview.ts';

/** Which actions make sense for an order now (the services check again when they run). */
export function possibleActions(deps: CoreDeps, order: Order): { reconcile: boolean; cancel: boolean; refund: boolean; replay: boolean } {
  const provider = order.provider ? deps.registry.find(order.provider, order.account) : undefined;
  return {
    reconcile: Boolean(provider),
    cancel: ['created', 'pending', 'failed'].includes(order.status),
    refund:
      Boolean(provider?.refund && provider.capabilities.has('refund')) &&
      !(provider?.refundMethods && order.method !== null && !provider.refundMethods.includes(order.method)) &&
      ['paid', 'partially_refunded'].includes(order.status),
    replay: true,
  };
}

export function orderRoutes(router: Router<AdminState>, deps: CoreDeps, auth: AdminAuth): void {
  router.get('/admin', async (ctx) => {
    const days = ctx.query.days === '30' ? 30 : 14;
    const zone = ctx.state.timeZone;
    const today = dateIn(deps.now().getTime(), zone);
    const dayList = daysBetween(addDays(today, -(days - 1)), today, zone);
    const boundaries = [...dayList.map((d) => d.start), dayList[dayList.length - 1]!.end];
    const [figures, openWork] = await Promise.all([dailyFigures(deps.db, boundaries), countOpenWork(deps.db)]);
    // A provider refusing an account's keys (core/provider-health.ts) stops its payments: say so first.
    const alerts = deps.registry.credentials.rejected().map((h) => ({
      kind: 'error' as const,
      text: `Provider ${h.provider} account ${h.account}: the provider refuses its credentials (${h.reason ?? 'no reason given'}). Its payments answer provider_misconfigured until a probe succeeds: fix the keys in PAYGATE_CONFIG and restart.`,
    }));
    render(ctx, auth, { title: 'Overview', nav: 'overview', alerts, body: renderOverview({ days: dayList, zone, figures, openWork }) });
  });

  router.get('/admin/orders', async (ctx) => {
    const query = ctx.query as Record<string, unknown>;
    const providers = [...new Set(deps.registry.list().map((a) => a.provider))].sort();
    const merchants = await listMerchantNames(deps.db);
    const common = { statuses: ORDER_STATUSES, providers, merchants, pageSizes: PAGE_SIZES, zone: ctx.state.timeZone };
    let parsed;
    try {
      parsed = parseListQuery(query, ctx.state.timeZone);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const body = renderOrders({ ...common, values: rawValues(query), result: null, errors: err.details, links: { newer: null, older: null, first: null } });
      return render(ctx, auth, { title: 'Orders', nav: 'orders', body }, 400);
    }
    const result: AdminOrderPage = await listAdminOrders(deps.db, parsed.filter, parsed.page);
    const paged = Boolean(parsed.page.after || parsed.page.before);
    const links = {
      first: paged ? listUrl(parsed.values) : null,
      newer: result.newer ? listUrl(parsed.values, { before: encodeCursor(result.newer) }) : null,
      older: result.older ? listUrl(parsed.values, { after: encodeCursor(result.older) }) : null,
    };
    render(ctx, auth, { title: 'Orders', nav: 'orders', body: renderOrders({ ...common, values: parsed.values, result, errors: [], links }) });
  });

  router.get('/admin/orders/:id', async (ctx) => {
    const timeline = await loadTimeline(deps.db, ctx.params.id!);
    if (!timeline) throw new NotFoundError('Order');
    const order = timeline.order;
    const can = possibleActions(deps, order);
    const refundable = can.refund ? await refundableAmount(deps.db, order) : 0;
    render(ctx, auth, { title: `Order ${order.orderNo}`, nav: 'orders', body: renderOrder({ timeline, can: { ...can, refund: can.refund && refundable > 0 }, refundable, zone: ctx.state.timeZone }) });
  });
}
