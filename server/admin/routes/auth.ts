import type Router from '@koa/router';
import type { CoreDeps } from '../../../core/deps.ts';
import { clearCookie, cookieOptions, safeNext, seeOther, SESSION_COOKIE, type AdminState } from '../context.ts';
import { SESSION_TTL_MS, type AdminAuth } from '../session.ts';
import type { LoginThrottle } from '../throttle.ts';
import { renderLogin } from '../views/login.ts';
import { ADMIN_CSS } from '../views/styles.ts';

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/** The stylesheet, the login form and log-out. */
export function authRoutes(router: Router<AdminState>, deps: CoreDeps, auth: AdminAuth, throttle: LoginThrottle): void {
  router.get('/admin/assets/admin.css', (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = ADMIN_CSS;
  });

  router.get('/admin/login', (ctx) => {
    const next = safeNext(ctx.query.next);
    if (ctx.state.session) return seeOther(ctx, next);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderLogin({ next });
  });

  router.post('/admin/login', (ctx) => {
    const body = ctx.request.body;
    const username = field(body, 'username').slice(0, 200);
    const password = field(body, 'password').slice(0, 1000);
    const next = safeNext(field(body, 'next'));
    const ip = ctx.ip || 'unknown';
    const now = deps.now().getTime();

    const wait = throttle.blockedFor(ip, now);
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60_000);
      deps.logger.warn({ ip }, 'admin login refused: too many failures from this address');
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.ceil(wait / 1000)));
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderLogin({ next, username, flash: { kind: 'error', text: `Too many failed sign-ins from your address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.` } });
      return;
    }
    if (!auth.checkCredentials(username, password)) {
      throttle.fail(ip, now);
      deps.logger.warn({ ip }, 'admin login failed');
      ctx.status = 401;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderLogin({ next, username, flash: { kind: 'error', text: 'Wrong username or password.' } });
      return;
    }
    throttle.succeed(ip);
    const session = auth.newSession(deps.now());
    ctx.cookies.set(SESSION_COOKIE, auth.seal('session', session), cookieOptions(ctx, SESSION_TTL_MS));
    deps.logger.info({ ip, admin: session.user }, 'admin signed in');
    seeOther(ctx, next);
  });

  router.post('/admin/logout', (ctx) => {
    clearCookie(ctx, SESSION_COOKIE);
    deps.logger.info({ admin: ctx.state.session?.user }, 'admin signed out');
    seeOther(ctx, '/admin/login');
  });
}
