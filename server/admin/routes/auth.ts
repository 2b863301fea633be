import type Router from '@koa/router';
import type { CoreDeps } from '../../../core/deps.ts';
import { clearCookie, cookieOptions, safeNext, seeOther, SESSION_COOKIE, type AdminState } from '../context.ts';
import { SESSION_TTL_MS, type AdminAuth } from '../session.ts';
import { revokeSession } from '../revoked-sessions.ts';
import type { LoginThrottle } from '../throttle.ts';
import { renderLogin } from '../views/login.ts';
import { ADMIN_CSS } from '../views/styles.ts';

const REFUSED_TEXT = { address: 'from your address', account: 'for this account', global: 'on this dashboard' } as const;
const REFUSED_LOG = { address: 'too many failures from this address', account: 'account backing off after failures', global: 'too many failures overall' } as const;

function waitText(ms: number): string {
  if (ms < 90_000) {
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    return `${seconds} second${seconds === 1 ? '' : 's'}`;
  }
  const minutes = Math.ceil(ms / 60_000);
  return `${minutes} minutes`;
}

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/** The stylesheet, the login form and log-out. */
export function authRoutes(router: Router<AdminState>, deps: CoreDeps, auth: AdminAuth, throttle: LoginThrottle): void {
  let warnedUntrustedProxy = false;
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
    // Through a proxy paygate does not trust, ctx.ip is the proxy's, shared by every client: no
    // per-address count then (the account backoff and the global ceiling still hold).
    const viaUntrustedProxy = !ctx.app.proxy && FORWARDING_HEADERS.some((name) => ctx.get(name) !== '');
    if (viaUntrustedProxy && !warnedUntrustedProxy) {
      warnedUntrustedProxy = true;
      deps.logger.warn({ ip }, 'admin sign-in through a proxy paygate does not trust: set PAYGATE_TRUST_PROXY=true so the sign-in throttle can count per client address');
    }
    const client = viaUntrustedProxy ? null : ip;

    const refusal = throttle.check(client, username, now);
    if (refusal) {
      deps.logger.warn({ ip, scope: refusal.scope }, `admin login refused: ${REFUSED_LOG[refusal.scope]}`);
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.ceil(refusal.waitMs / 1000)));
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderLogin({ next, username, flash: { kind: 'error', text: `Too many failed sign-ins ${REFUSED_TEXT[refusal.scope]}. Try again in ${waitText(refusal.waitMs)}.` } });
      return;
    }
    if (!auth.checkCredentials(username, password)) {
      throttle.fail(client, username, now);
      deps.logger.warn({ ip }, 'admin login failed');
      ctx.status = 401;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderLogin({ next, username, flash: { kind: 'error', text: 'Wrong username or password.' } });
      return;
    }
    throttle.succeed(client, username);
    const session = auth.newSession(deps.now());
    ctx.cookies.set(SESSION_COOKIE, auth.seal('session', session), cookieOptions(ctx, SESSION_TTL_MS));
    deps.logger.info({ ip, admin: session.user }, 'admin signed in');
    seeOther(ctx, next);
  });

  router.post('/admin/logout', async (ctx) => {
    // The CSRF gate let only a live session through; its cookie must die everywhere, copies included.
    if (ctx.state.session) await revokeSession(deps.db, ctx.state.session, deps.now());
    clearCookie(ctx, SESSION_COOKIE);
    deps.logger.info({ admin: ctx.state.session?.user }, 'admin signed out');
    seeOther(ctx, '/admin/login');
  });
}
