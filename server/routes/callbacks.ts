import Router from '@koa/router';
import type Koa from 'koa';
import { receiveNotify, receiveReturn } from '../../core/callbacks.ts';
import { canStartAgain } from '../../core/checkout.ts';
import type { CoreDeps } from '../../core/deps.ts';
import type { CallbackGuard, Ticket } from '../../core/callback-guard.ts';
import { awaitingVerification } from '../../core/inbox.ts';
import { GatewayError, NotFoundError } from '../../core/errors.ts';
import type { CallbackRequest, CallbackKind, PaymentProvider } from '../../core/payment-provider.ts';
import { checkoutPath } from '../../core/hosted-checkout.ts';
import { actionUsable } from '../../core/payments.ts';
import type { BuyerLinks } from './checkout.ts';
import { randomBytes } from 'node:crypto';
import { readRawBody } from '../middleware/raw-body.ts';
import { pickLocale } from '../views/i18n.ts';
import { renderInstructionsPage } from '../views/checkout-page.ts';
import { DEFAULT_TIME_ZONE } from '../views/format.ts';
import { findMerchantDisplay } from '../../core/merchants.ts';
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
 * The unified provider endpoints (docs/architecture.md#the-endpoints). They know no provider by name: the registry resolves
 * `:provider/:account`, and the provider's adapter reads and answers in its own words.
 */
export function callbackRoutes(deps: CoreDeps, background: BackgroundTasks, links: BuyerLinks, guard: CallbackGuard): Router {
  const router = new Router();

  /**
   * Behind a proxy paygate does not trust, every request carries the proxy's address: a budget per
   * address would be one bucket shared by everyone (three junk requests would throttle the provider),
   * and trusting it would exempt everyone. Such requests count against the global budget only.
   */
  const shared = (ctx: Koa.Context): boolean => {
    if (ctx.app.proxy) return false;
    const h = ctx.req.headers;
    if (h['x-forwarded-for'] === undefined && h.forwarded === undefined && h['x-real-ip'] === undefined) return false;
    if (guard.firstShared()) {
      deps.logger.error(
        { remoteAddress: ctx.ip },
        'callback requests arrive with forwarding headers but PAYGATE_TRUST_PROXY is off: every client has the proxy\'s address, so the callback budget per address cannot work and only the global one applies; set PAYGATE_TRUST_PROXY=true behind your proxy',
      );
    }
    return true;
  };

  /**
   * Before anything is read or stored: a ticket for the request (a token taken unless the address
   * is trusted), or 429 when the address or everyone together has run out, or the address has too
   * many rows awaiting verification. An endpoint no account serves is a 404 that keeps the token.
   */
  const admit = async (ctx: Koa.Context): Promise<{ provider: PaymentProvider; ticket: Ticket }> => {
    const ip = ctx.ip;
    const isShared = shared(ctx);
    let admission = guard.admit(ip, { shared: isShared });
    if (admission.refused === 'unfinished' && admission.waiting.length > 0) {
      // Rows finished since (by the worker, perhaps in another process) stop counting. With the
      // database away, they all still count: the sender hears 429, not 500.
      const ids = admission.waiting.map((w) => w.rowId!);
      const still = await awaitingVerification(deps, ids).catch(() => new Set(ids));
      for (const waiting of admission.waiting) if (!still.has(waiting.rowId!)) guard.spent(waiting);
      admission = guard.admit(ip, { shared: isShared });
    }
    const provider = deps.registry.find(ctx.params.provider!, ctx.params.account!);
    if (admission.refused) {
      // Labels only for endpoints that exist: a sender must not mint metric series.
      deps.metrics?.callback(provider ? provider.id : 'unknown', provider ? provider.account : 'unknown', 'throttled');
      ctx.set('Retry-After', String(admission.retryAfterSeconds));
      const why = admission.refused === 'unfinished' ? 'Too many callbacks from this address await verification' : 'Too many callback requests failed verification';
      throw new GatewayError('too_many_requests', `${why}; try again later`, { httpStatus: 429, expose: true, retryable: true });
    }
    if (!provider) {
      guard.spent(admission.ticket);
      throw new NotFoundError('Callback endpoint');
    }
    return { provider, ticket: admission.ticket };
  };

  /** Runs `fn`; a request that throws (malformed, too large, a fault) keeps its token spent. */
  const spending = async <T>(ticket: Ticket, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      guard.spent(ticket);
      throw err;
    }
  };

  const onNotify = async (ctx: Koa.Context) => {
    // A GET is a buyer's browser bringing a notify, for the providers whose notify comes that way;
    // any other provider's endpoint takes POST only, and a GET there changes nothing. A HEAD (which
    // the router answers with the GET route) never stores or applies anything, for any provider.
    if (ctx.method !== 'POST') {
      const fromBrowser = deps.registry.find(ctx.params.provider!, ctx.params.account!)?.notifyFrom === 'browser';
      if (ctx.method === 'HEAD' || !fromBrowser) {
        ctx.set('Allow', fromBrowser ? 'GET, POST' : 'POST');
        throw new GatewayError('method_not_allowed', `This callback endpoint takes ${fromBrowser ? 'GET or POST' : 'POST'}`, { httpStatus: 405, expose: true });
      }
    }
    const { provider, ticket } = await admit(ctx);
    const result = await spending(ticket, async () => {
      const request = await toCallbackRequest(ctx, 'notify', provider.maxCallbackBytes ?? CALLBACK_BODY_LIMIT);
      return receiveNotify(deps, ctx.params.provider!, ctx.params.account!, request);
    });
    if (result.background) background.track(result.background);
    // A trusted address's notify skips this (one map lookup was its whole cost), unless its trust is
    // in its second half, when a fresh verified notify renews it.
    if (ticket.wantsVerdict) {
      const rowId = result.rowId;
      void result.judged.then((verdict) => {
        if (verdict === 'news') guard.proved(ticket, { trust: true });
        // The buyer's browser brought it: the token comes back, the address earns no trust.
        else if (verdict === 'proved') guard.proved(ticket, { trust: false });
        else if (verdict === null && rowId !== null) guard.unfinished(ticket, rowId);
        else guard.spent(ticket);
      });
    }
    if (result.reply.headers) ctx.set({ ...result.reply.headers });
    ctx.status = result.reply.status;
    ctx.type = result.reply.contentType;
    ctx.body = result.reply.body;
  };
  router.post('/callbacks/:provider/:account/notify', onNotify);
  router.get('/callbacks/:provider/:account/notify', onNotify);

  const onReturn = async (ctx: Koa.Context) => {
    const { provider, ticket } = await admit(ctx);
    const outcome = await spending(ticket, async () => {
      const request = await toCallbackRequest(ctx, 'return', provider.maxCallbackBytes ?? CALLBACK_BODY_LIMIT);
      return receiveReturn(deps, ctx.params.provider!, ctx.params.account!, request);
    });
    // A return never grants trust (a signed return URL can be replayed by anyone who has it); a
    // first verified one gives its token back, a replayed one (a refreshed page too) keeps it spent.
    if (outcome.verified && !outcome.replayed) guard.proved(ticket, { trust: false });
    else guard.spent(ticket);
    const locale = pickLocale(typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined, ctx.get('accept-language'));
    const order = outcome.order;
    const now = deps.now();
    // Refresh through the order's signed link: a provider's POST return cannot be replayed by a link.
    const refreshUrl = order ? `${checkoutPath(links.secret, order)}${ctx.query.lang ? `&lang=${encodeURIComponent(String(ctx.query.lang))}` : ''}` : ctx.originalUrl;
    // The shop's name, logo and support, and the installation's zone, as on the checkout's pages.
    const shown = { locale, timeZone: deps.timeZone ?? DEFAULT_TIME_ZONE, merchant: order ? ((await findMerchantDisplay(deps.db, order.merchantId)) ?? null) : null };
    // A return that brings instructions (an account issued on the provider's page) shows them.
    if (order && order.status === 'pending' && order.action?.type === 'instructions' && actionUsable(order, now)) {
      const nonce = randomBytes(16).toString('base64');
      ctx.set(pageHeaders({ nonce, merchant: shown.merchant }));
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderInstructionsPage({ ...shown, order, instructions: order.action, refreshUrl, nonce }).toString();
      return;
    }
    const again = order !== null && canStartAgain(deps, order, now);
    // "Pay again" posts to the checkout link, which may answer with a redirect to the provider.
    ctx.set(pageHeaders(again ? { merchant: shown.merchant, formAction: 'any' } : { merchant: shown.merchant }));
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderResultPage({
      ...shown,
      order,
      verified: outcome.verified,
      reported: outcome.reported,
      payAgainUrl: payAgainUrlFor(order, now),
      payAgainPost: again ? refreshUrl : null,
      refreshUrl,
    }).toString();
  };
  router.get('/callbacks/:provider/:account/return', onReturn);
  router.post('/callbacks/:provider/:account/return', onReturn);

  return router;
}
