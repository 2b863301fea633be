import Router from '@koa/router';
import type { CoreDeps } from '../../core/deps.ts';

/** The buyer's hosted pages: /checkout/:orderId (filled in by the checkout work). */
export function checkoutRoutes(_deps: CoreDeps, _linkSecret: string): Router {
  return new Router();
}
