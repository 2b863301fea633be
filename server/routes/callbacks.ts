import Router from '@koa/router';
import type Koa from 'koa';
import { receiveNotify, receiveReturn } from '../../core/callbacks.ts';
import type { CoreDeps } from '../../core/deps.ts';
import type { CallbackRequest, CallbackKind } from '../../core/payment-provider.ts';
import { PAYABLE_STATUSES } from '../../core/state-machine.ts';
import { readRawBody } from '../middleware/raw-body.ts';
import { pickLocale } from '../views/i18n.ts';
import { renderResultPage } from '../views/result-page.ts';
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
export function callbackRoutes(deps: CoreDeps, background: BackgroundTasks): Router {
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
    const payAgainUrl =
      order && PAYABLE_STATUSES.includes(order.status) && order.action?.type === 'redirect' && order.expiresAt > deps.now()
        ? order.action.url
        : null;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderResultPage({
      locale,
      order,
      verified: outcome.verified,
      reported: outcome.reported,
      payAgainUrl,
      refreshUrl: ctx.originalUrl,
    });
  };
  router.get('/callbacks/:provider/:account/return', onReturn);
  router.post('/callbacks/:provider/:account/return', onReturn);

  return router;
}
