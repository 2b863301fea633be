import Router from '@koa/router';
import type { CoreDeps } from '../../core/deps.ts';

export interface AdminOptions {
  username: string;
  password: string;
}

/** The operators' dashboard under /admin (filled in by the dashboard work). */
export function adminRoutes(_deps: CoreDeps, _options: AdminOptions): Router {
  return new Router();
}
