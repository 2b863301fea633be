import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import type { CoreDeps } from '../../core/deps.ts';
import { cookiePolicy, csrfGate, htmlErrors, securityHeaders, sessionGate, type AdminState } from './context.ts';
import { actionRoutes } from './routes/actions.ts';
import { authRoutes } from './routes/auth.ts';
import { orderRoutes } from './routes/orders.ts';
import { refundRoutes } from './routes/refund.ts';
import { AdminAuth } from './session.ts';
import { DEFAULT_ADMIN_TIME_ZONE } from './time-zone.ts';
import { LoginThrottle, type LoginThrottleOptions } from './throttle.ts';

export interface AdminOptions {
  username: string;
  password: string;
  /** Sign-in throttle limits (server/admin/throttle.ts DEFAULT_THROTTLE when left out). */
  throttle?: Partial<LoginThrottleOptions>;
}

/**
 * The operators' dashboard under /admin: server-rendered pages, no JavaScript. Every /admin request
 * passes, in order: security headers → HTML error pages → form body → session (else the login page)
 * → CSRF check on every POST but the login → the route. Unknown /admin paths get the dashboard's
 * own 404 page (behind the login too).
 */
export function adminRoutes(deps: CoreDeps & { publicUrl?: string }, options: AdminOptions, secret: string): Router {
  const auth = new AdminAuth(options, secret);
  const throttle = new LoginThrottle(options.throttle);
  const router = new Router<AdminState>();
  // Router middleware runs only when a route matched; the catch-all at the end makes every /admin path match.
  const timeZone = deps.timeZone ?? DEFAULT_ADMIN_TIME_ZONE;
  router.use(
    async (ctx, next) => {
      ctx.state.timeZone = timeZone;
      await next();
    },
    securityHeaders(),
    htmlErrors(deps.logger),
    cookiePolicy(deps.publicUrl),
    bodyParser({ enableTypes: ['form'], formLimit: '32kb' }),
    sessionGate(auth, deps),
    csrfGate(auth),
  );
  authRoutes(router, deps, auth, throttle);
  orderRoutes(router, deps, auth);
  actionRoutes(router, deps, auth);
  refundRoutes(router, deps, auth);
  router.all('/admin{/*rest}', () => {
    // Nothing else answered: htmlErrors renders the dashboard's 404 page.
  });
  return router as unknown as Router;
}
