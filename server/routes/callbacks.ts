import Router from '@koa/router';
import type Koa from 'koa';
import { receiveNotify, receiveReturn } from '../../core/callbacks.ts';
import type { CoreDeps } from '../../core/deps.ts';
import type { CallbackRequest, CallbackKind } from '../../core/payment-provider.ts';
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

const CALLBACK_BODY_LIMIT = 256 * 1024;

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

async function toCallbackRequest(ctx: Koa.Context, kind: CallbackKind): Promise<CallbackRequest> {
  const rawBody = ctx.method === 'GET' || ctx.method === 'HEAD' ? '' : await readRawBody(ctx, CALLBACK_BODY_LIMIT);
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
export function callbackRoutes(deps: CoreDeps, background: BackgroundTasks, links: BuyerLinks): Router {
  const router = new Router();

  router.post('/callbacks/:provider/:account/notify', async (ctx) => {
    const request = await toCallbackRequest(ctx, 'notify');
    const result = await receiveNotify(deps, ctx.params.provider!, ctx.params.account!, request);
    if (result.background) background.track(result.background);
    ctx.status = result.reply.status;
    ctx.type = result.reply.contentType;
    ctx.body = result.reply.body;
  });

  const onReturn = async (ctx: Koa.Context) => {
    const request = await toCallbackRequest(ctx, 'return');
    const outcome = await receiveReturn(deps, ctx.params.provider!, ctx.params.account!, request);
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
