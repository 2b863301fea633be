import Router from '@koa/router';
import type { CoreDeps } from '../core/deps.ts';

/** GET /metrics in Prometheus format (filled in by the metrics work). */
export function metricsRoutes(_deps: CoreDeps): Router {
  return new Router();
}
