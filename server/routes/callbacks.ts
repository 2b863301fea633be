import Router from '@koa/router';
import type Koa from 'koa';
import { receiveNotify, receiveReturn } from '../../core/callbacks.ts';
import type { CoreDeps } from '../../core/deps.ts';
import type { CallbackGuard } from '../../core/callback-guard.ts';
import { GatewayError, NotFoundError } from '../../core/errors.ts';
import type { CallbackRequest, CallbackKind, PaymentProvider } from '../../core/payment-provider.ts';
import { checkoutPath } from '../../core/hosted-checkout.ts';
import { actionUsable } from '../../core/payments.ts';
import type { BuyerLinks } from './checkout.ts';
import { randomBytes } from 'node:crypto';
import { readRawBody } from '../middleware/raw-body.ts';
import { pickLocale } from '../views/i18n.ts';
import { renderInstructionsPage } from '../views/checkout-page.ts';
import { pageHeaders } from '../views/page.ts';
import { payAgainUrlFor, renderResultPage } from '../views/result-page.ts';
import type { BackgroundTasks } from '../background.ts';

/** The body limit of a provider that declares none (PaymentProvider.maxCallbackBytes). */
export const CALLBACK_BODY_LIMIT = 64 * 1024;

/** Headers worth keeping with a raw callback; never cookies or credentials. */
const KEPT_HEADERS = ['content-type', 'user-agent', 'x-forwarded-for', 'x-real-ip', 'x-request-id'];

/**
 * `lang` on a return URL is ours (the result page's language), not the provider's: it is taken out
 * before the provider sees the query, byte for byte otherwise, so it cannot break a signature.
 */
function withoutOwnParams(query: string): string {
  if (!query) return query;
  return query
    .split('&')
    .filter((pair) => !/^lang(=|$)/.test(pair))
    .join('&');
}

async function toCallbackRequest(ctx: Koa.Context, kind: CallbackKind, limitBytes: number): Promise<CallbackRequest> {
  const rawBody = ctx.method === 'GET' || ctx.method === 'HEAD' ? '' : await readRawBody(ctx, limitBytes);
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = ctx.get(name);
    if (value) headers[name] = value.slice(0, 500);
  }
  headers['remote-address'] = ctx.ip;
  return {
    kind,
    httpMethod: ctx.method,
    contentType: ctx.get('content-type'),
    rawBody,
    rawQuery: withoutOwnParams(ctx.querystring),
    headers,
  };
}

/**
 * The unified provider endpoints (DESIGN §5). They know no provider by name: the registry resolves
 * `:provider/:account`, and the provider's adapter reads and answers in its own words.
 */
export function callbackRoutes(deps: CoreDeps, background: BackgroundTasks, links: BuyerLinks, guard: CallbackGuard): Router {
  const router = new Router();

  /**
   * Before anything is read or stored: an address that has run out of failures is answered 429, and
   * an endpoint no account serves is a 404 that costs the sender one. Returns the account's adapter.
   */
  const admit = (ctx: Koa.Context): PaymentProvider | null => {
    const ip = ctx.ip;
    const provider = deps.registry.find(ctx.params.provider!, ctx.params.account!);
    if (!guard.allow(ip)) {
      // Labels only for endpoints that exist: a sender must not mint metric series.
      deps.metrics?.callback(provider ? provider.id : 'unknown', provider ? provider.account : 'unknown', 'throttled');
      ctx.set('Retry-After', String(guard.retryAfterSeconds(ip)));
      throw new GatewayError('too_many_requests', 'Too many requests from this address failed verification; try again later', { httpStatus: 429, expose: true, retryable: true });
    }
    if (!provider) {
      guard.charge(ip);
      throw new NotFoundError('Callback endpoint');
    }
    return provider;
  };

  /** Runs `fn`, charging the sender for a 4xx it causes (malformed, too large, unknown). */
  const charging = async <T>(ctx: Koa.Context, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GatewayError && err.httpStatus >= 400 && err.httpStatus < 500) guard.charge(ctx.ip);
      throw err;
    }
  };

  router.post('/callbacks/:provider/:account/notify', async (ctx) => {
    const provider = admit(ctx)!;
    const ip = ctx.ip;
    const result = await charging(ctx, async () => {
      const request = await toCallbackRequest(ctx, 'notify', provider.maxCallbackBytes ?? CALLBACK_BODY_LIMIT);
      return receiveNotify(deps, ctx.params.provider!, ctx.params.account!, request);
    });
    if (result.background) background.track(result.background);
    void result.judged.then((verified) => {
      if (verified === true) guard.trust(ip);
      else if (verified === false) guard.charge(ip);
    });
    ctx.status = result.reply.status;
    ctx.type = result.reply.contentType;
    ctx.body = result.reply.body;
  });

  const onReturn = async (ctx: Koa.Context) => {
    const provider = admit(ctx)!;
    const outcome = await charging(ctx, async () => {
      const request = await toCallbackRequest(ctx, 'return', provider.maxCallbackBytes ?? CALLBACK_BODY_LIMIT);
      return receiveReturn(deps, ctx.params.provider!, ctx.params.account!, request);
    });
    if (outcome.verified) guard.trust(ctx.ip);
    else guard.charge(ctx.ip);
    const locale = pickLocale(typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined, ctx.get('accept-language'));
    const order = outcome.order;
    const now = deps.now();
    // Refresh through the order's signed link: a provider's POST return cannot be replayed by a link.
    const refreshUrl = order ? `${checkoutPath(links.secret, order)}${ctx.query.lang ? `&lang=${encodeURIComponent(String(ctx.query.lang))}` : ''}` : ctx.originalUrl;
    // A return that brings instructions (an account issued on the provider's page) shows them.
    if (order && order.status === 'pending' && order.action?.type === 'instructions' && actionUsable(order, now)) {
      const nonce = randomBytes(16).toString('base64');
      ctx.set(pageHeaders({ nonce }));
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderInstructionsPage({ locale, order, atm: order.action.atm, refreshUrl, nonce });
      return;
    }
    ctx.set(pageHeaders());
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderResultPage({
      locale,
      order,
      verified: outcome.verified,
      reported: outcome.reported,
      payAgainUrl: payAgainUrlFor(order, now),
      refreshUrl,
    });
  };
  router.get('/callbacks/:provider/:account/return', onReturn);
  router.post('/callbacks/:provider/:account/return', onReturn);

  return router;
}
