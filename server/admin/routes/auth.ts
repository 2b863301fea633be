import type Router from '@koa/router';
import { randomBytes } from 'node:crypto';
import type { CoreDeps } from '../../../core/deps.ts';
import { viaUntrustedProxy } from '../../peer-address.ts';
import { clearCookie, cookieOptions, safeNext, seeOther, SESSION_COOKIE, type AdminState } from '../context.ts';
import { SESSION_TTL_MS, type AdminAuth } from '../session.ts';
import { revokeSession } from '../revoked-sessions.ts';
import type { LoginThrottle } from '../throttle.ts';
import { renderLogin } from '../views/login.ts';
import { ADMIN_CSS } from '../views/styles.ts';

const REFUSED_TEXT = { address: 'from your address', device: 'from this browser', account: 'for this account', global: 'on this dashboard' } as const;
const REFUSED_LOG = {
  address: 'too many failures from this address',
  device: 'too many failures from this known device',
  account: 'account backing off after failures',
  global: 'too many failures overall',
} as const;

/**
 * A browser that signed in successfully before gets this cookie: sealed (HMAC) under the same key as
 * the session (the installation's secret and the credentials, so a new password forgets every
 * device), long-lived, renewed at each sign-in, kept at sign-out. It lets that browser past the
 * per-account backoff and the global ceiling (server/admin/throttle.ts), which a stranger can trip.
 */
export const DEVICE_COOKIE = 'paygate_admin_device';
export const DEVICE_TTL_MS = 90 * 24 * 60 * 60_000;

interface KnownDevice {
  user: string;
  id: string;
  exp: number;
}

/** The known device's id, or null when the cookie is missing, forged, expired or for another user. */
function knownDevice(auth: AdminAuth, cookie: string | undefined, now: number): string | null {
  const value = auth.unseal('device', cookie) as Partial<KnownDevice> | undefined;
  if (!value || value.user !== auth.username || typeof value.id !== 'string' || typeof value.exp !== 'number' || value.exp <= now) return null;
  return value.id;
}

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
    ctx.body = renderLogin({ next }).toString();
  });

  router.post('/admin/login', (ctx) => {
    const body = ctx.request.body;
    const username = field(body, 'username').slice(0, 200);
    const password = field(body, 'password').slice(0, 1000);
    const next = safeNext(field(body, 'next'));
    const ip = ctx.ip || 'unknown';
    const now = deps.now().getTime();
    // Through a proxy paygate does not trust, ctx.ip is the proxy's, shared by every client: no
    // per-address count then (the account backoff and the global ceiling still hold). "Through a
    // proxy" needs both a forwarding header and a peer that could be our proxy (loopback or a
    // private network): a client from the internet that adds the header is still counted.
    const proxied = viaUntrustedProxy({ trustProxy: ctx.app.proxy, socketAddress: ctx.req.socket.remoteAddress, header: (name) => ctx.get(name) });
    if (proxied && !warnedUntrustedProxy) {
      warnedUntrustedProxy = true;
      deps.logger.warn({ ip }, 'admin sign-in through a proxy paygate does not trust: set PAYGATE_TRUST_PROXY=true so the sign-in throttle can count per client address');
    }
    const client = proxied ? null : ip;
    const device = knownDevice(auth, ctx.cookies.get(DEVICE_COOKIE), now);

    const refusal = throttle.check(client, username, now, device);
    if (refusal) {
      deps.logger.warn({ ip, scope: refusal.scope }, `admin login refused: ${REFUSED_LOG[refusal.scope]}`);
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.ceil(refusal.waitMs / 1000)));
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderLogin({ next, username, flash: { kind: 'error', text: `Too many failed sign-ins ${REFUSED_TEXT[refusal.scope]}. Try again in ${waitText(refusal.waitMs)}.` } }).toString();
      return;
    }
    if (!auth.checkCredentials(username, password)) {
      throttle.fail(client, username, now, device);
      deps.logger.warn({ ip }, 'admin login failed');
      ctx.status = 401;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderLogin({ next, username, flash: { kind: 'error', text: 'Wrong username or password.' } }).toString();
      return;
    }
    throttle.succeed(client, username, device);
    const session = auth.newSession(deps.now());
    ctx.cookies.set(SESSION_COOKIE, auth.seal('session', session), cookieOptions(ctx, SESSION_TTL_MS));
    const known: KnownDevice = { user: session.user, id: device ?? randomBytes(16).toString('base64url'), exp: now + DEVICE_TTL_MS };
    ctx.cookies.set(DEVICE_COOKIE, auth.seal('device', known), cookieOptions(ctx, DEVICE_TTL_MS));
    deps.logger.info({ ip, admin: session.user, knownDevice: device !== null }, 'admin signed in');
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
