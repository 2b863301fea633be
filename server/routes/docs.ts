import Router from '@koa/router';
import type { CoreDeps } from '../../core/deps.ts';

/** GET /openapi.json and the page that renders it (filled in by the OpenAPI work). */
export function docsRoutes(_deps: CoreDeps): Router {
  return new Router();
}
