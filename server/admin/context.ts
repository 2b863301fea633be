import type Koa from 'koa';
import { randomUUID } from 'node:crypto';
import { errorSummary, isConnectionError } from '../../core/db.ts';
import { GatewayError, type ErrorDetail } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../core/db.ts';
import { isRevoked } from './revoked-sessions.ts';
import type { AdminAuth, AdminSession } from './session.ts';
import { renderErrorPage } from './views/login.ts';
import { page, type Flash, type PageInput } from './views/layout.ts';

export interface AdminState {
  session: AdminSession | null;
  /** This session's CSRF token ('' when signed out). */
  csrf: string;
  /** Cookies carry `Secure`: the request came over TLS, or PAYGATE_PUBLIC_URL is https. */
  secureCookies?: boolean;
  /** PAYGATE_TIME_ZONE: every date shown and every day counted is this zone's. */
  timeZone: string;
}

export type AdminContext = Koa.ParameterizedContext<AdminState>;

export const SESSION_COOKIE = 'paygate_admin';
const FLASH_COOKIE = 'paygate_admin_flash';
const COOKIE_PATH = '/admin';

/** Paths served without a session. */
const PUBLIC_PATHS = new Set(['/admin/login', '/admin/assets/admin.css']);

// Pages carry no script at all; styles come from our own stylesheet; nothing may frame us.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** On every /admin response, errors and redirects included. */
export function securityHeaders(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set({
      'Content-Security-Policy': CSP,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
    await next();
  };
}

/**
 * Behind a TLS-terminating proxy that paygate does not trust (PAYGATE_TRUST_PROXY=false), ctx.secure
 * is false although the browser speaks https: a public URL in https says the same, so the cookies
 * get `Secure` then too (and a browser never sends them over plain http).
 */
export function cookiePolicy(publicUrl: string | undefined): Koa.Middleware<AdminState> {
  const httpsOrigin = typeof publicUrl === 'string' && /^https:/i.test(publicUrl);
  return async (ctx, next) => {
    ctx.state.secureCookies = ctx.secure || httpsOrigin;
    // The cookies module refuses `secure` on a connection it does not see as encrypted.
    if (ctx.state.secureCookies) ctx.cookies.secure = true;
    await next();
  };
}

const secureOf = (ctx: Koa.Context): boolean => ctx.secure || (ctx.state as Partial<AdminState>).secureCookies === true;

export function cookieOptions(ctx: Koa.Context, maxAgeMs: number) {
  return { httpOnly: true, sameSite: 'strict' as const, path: COOKIE_PATH, maxAge: maxAgeMs, secure: secureOf(ctx), overwrite: true };
}

export function clearCookie(ctx: Koa.Context, name: string): void {
  ctx.cookies.set(name, null, { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: secureOf(ctx), overwrite: true });
}

export function userOf(ctx: AdminContext): { name: string; csrf: string } | undefined {
  return ctx.state.session ? { name: ctx.state.session.user, csrf: ctx.state.csrf } : undefined;
}

/** Renders a dashboard page; any flash waiting in its cookie is shown once and cleared. */
export function render(ctx: AdminContext, auth: AdminAuth, input: Omit<PageInput, 'user'>, status = 200): void {
  const flash = input.flash ?? takeFlash(ctx, auth);
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page({ ...input, flash, user: userOf(ctx), timeZone: ctx.state.timeZone }).toString();
}

export function setFlash(ctx: AdminContext, auth: AdminAuth, flash: Flash): void {
  ctx.cookies.set(FLASH_COOKIE, auth.seal('flash', { ...flash, text: flash.text.slice(0, 600) }), cookieOptions(ctx, 60_000));
}

function takeFlash(ctx: AdminContext, auth: AdminAuth): Flash | null {
  const raw = ctx.cookies.get(FLASH_COOKIE);
  if (!raw) return null;
  clearCookie(ctx, FLASH_COOKIE);
  const value = auth.unseal('flash', raw) as Partial<Flash> | undefined;
  return value && typeof value.text === 'string' && (value.kind === 'ok' || value.kind === 'error' || value.kind === 'warn') ? { kind: value.kind, text: value.text } : null;
}

/** Post/redirect/get: actions answer 303 so a reload never repeats them. */
export function seeOther(ctx: Koa.Context, url: string): void {
  ctx.status = 303;
  ctx.redirect(url);
}

/** A return path after login: only somewhere inside the dashboard (no open redirect). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/admin(?:[/?#]|$)/.test(value) && !/[\\\s]/.test(value) && !value.startsWith('//') ? value : '/admin';
}

/**
 * Reads the session (a signed-out one is none: its revocation is in the database, so every process
 * refuses it at once); without one, pages send the browser to the login (with the way back).
 */
export function sessionGate(auth: AdminAuth, deps: { db: Db; now: () => Date }): Koa.Middleware<AdminState> {
  return async (ctx, next) => {
    let session = auth.readSession(ctx.cookies.get(SESSION_COOKIE), deps.now());
    if (session && (await isRevoked(deps.db, session.sid))) session = null;
    ctx.state.session = session;
    ctx.state.csrf = session ? auth.csrfToken(session) : '';
    if (!session && !PUBLIC_PATHS.has(ctx.path)) {
      const back = ctx.method === 'GET' ? safeNext(ctx.originalUrl) : '/admin';
      seeOther(ctx, `/admin/login${back === '/admin' ? '' : `?next=${encodeURIComponent(back)}`}`);
      return;
    }
    await next();
  };
}

/** Every state-changing request of a session carries its CSRF token (the login form has none to carry). */
export function csrfGate(auth: AdminAuth): Koa.Middleware<AdminState> {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.path !== '/admin/login') {
      const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
      if (!ctx.state.session || !auth.checkCsrf(ctx.state.session, body._csrf)) {
        ctx.status = 403;
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = renderErrorPage({
          status: 403,
          title: 'Request refused',
          message: 'This form did not carry a valid security token (CSRF), so nothing was done. Go back, reload the page and try again.',
          details: [{ path: '_csrf', message: body._csrf ? 'does not belong to this session' : 'is missing' }],
          user: userOf(ctx as AdminContext),
        }).toString();
        return;
      }
    }
    await next();
  };
}

/** Errors become dashboard pages (never the merchant API's JSON, never a bare 500). */
export function htmlErrors(logger: Logger): Koa.Middleware<AdminState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = renderErrorPage({ status: 404, title: 'Not found', message: `There is no dashboard page at ${ctx.path}.`, user: userOf(ctx as AdminContext) }).toString();
      }
    } catch (err) {
      const { status, title, message, details } = describeError(err, logger, ctx);
      ctx.status = status;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderErrorPage({ status, title, message, details, user: userOf(ctx as AdminContext) }).toString();
    }
  };
}

export interface DescribedError {
  status: number;
  title: string;
  message: string;
  details: ErrorDetail[];
}

/** What an error means to an operator; unexpected ones are logged with an id the page shows. */
export function describeError(err: unknown, logger: Logger, ctx: Koa.Context): DescribedError {
  if (err instanceof GatewayError && err.httpStatus < 500) {
    return { status: err.httpStatus, title: err.httpStatus === 404 ? 'Not found' : 'Not done', message: err.message, details: err.details };
  }
  if (err instanceof GatewayError && err.expose) {
    return { status: err.httpStatus, title: 'Not done', message: err.message, details: err.details };
  }
  const http = err as { status?: number; expose?: boolean; message?: string };
  if (typeof http?.status === 'number' && http.status >= 400 && http.status < 500) {
    const message = http.status === 413 ? 'The form is larger than the dashboard accepts.' : http.expose && http.message ? http.message : 'The request could not be read.';
    return { status: http.status, title: 'Bad request', message, details: [] };
  }
  const errorId = randomUUID();
  if (isConnectionError(err)) {
    logger.error({ errorId, err: errorSummary(err), path: ctx.path }, 'admin: database unavailable');
    return { status: 503, title: 'Database unavailable', message: `The database cannot be reached right now; try again shortly (error id ${errorId}).`, details: [] };
  }
  logger.error({ errorId, err: errorSummary(err), method: ctx.method, path: ctx.path }, 'admin: unexpected error');
  return { status: 500, title: 'Something went wrong', message: `Something went wrong on our side; nothing more is known here (error id ${errorId}, in the logs).`, details: [] };
}
