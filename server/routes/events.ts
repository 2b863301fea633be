import Router from '@koa/router';
import type { CoreDeps } from '../../core/deps.ts';
import { getEvent, listEvents, listEventsQuery, replayEvent } from '../../core/events.ts';
import { parseWith } from '../../core/validation.ts';
import type { MerchantState } from '../middleware/auth.ts';

/** The merchant's events (docs/architecture.md#events); every query is scoped to the authenticated merchant. */
export function eventRoutes(deps: CoreDeps): Router<MerchantState> {
  const router = new Router<MerchantState>();

  router.get('/v1/events', async (ctx) => {
    // An empty `?type=` means no filter, as for payments.
    const query = parseWith(listEventsQuery, Object.fromEntries(Object.entries(ctx.query).filter(([, v]) => v !== '')));
    ctx.body = await listEvents(deps, ctx.state.merchant.id, query);
  });

  router.get('/v1/events/:id', async (ctx) => {
    ctx.body = await getEvent(deps, ctx.state.merchant.id, ctx.params.id!);
  });

  // No body is needed; the event goes back in the delivery queue, due now.
  router.post('/v1/events/:id/replay', async (ctx) => {
    const event = await replayEvent(deps, ctx.state.merchant.id, ctx.params.id!);
    ctx.status = 202;
    ctx.body = event;
  });

  return router;
}
