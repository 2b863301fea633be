import { html } from '../../../core/html.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import { createRequestHandler, readBody, readJsonObject, sendHtml, sendJson } from '../../simulator-kit/http.ts';
import { handleGateway, mergeParams, type GatewayContext } from './gateway.ts';
import type { AlipaySimulator } from './index.ts';
import { cancelledPage, cashierPage, closedPage, errorPage, indexPage, paidPage } from './pages.ts';
import type { SimTrade } from './trades.ts';
import { redirect } from './util.ts';

const CASHIER_PATH = /^\/cashier\/([0-9a-f]{24})\/?$/;

export function createHandler(sim: AlipaySimulator, ctx: GatewayContext, logger: Logger) {
  return createRequestHandler((req, res, url) => route(sim, ctx, req, res, url), logger, 'alipay simulator');
}

async function route(sim: AlipaySimulator, ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path === '/gateway.do') {
    // Alipay is unreachable: what a client sees from a load balancer with no healthy backend.
    if (sim.outage) return sendHtml(res, 503, html`<html><body><h1>503 Service Unavailable</h1></body></html>`);
    if (method !== 'GET' && method !== 'POST') return sendHtml(res, 405, errorPage('http.method-not-allowed', 'Use GET or POST.'));
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    const raw = method === 'POST' ? await readBody(req) : '';
    // The SDK sends form bodies; anything else (JSON, multipart) carries no parameters the gateway reads here.
    const body = new URLSearchParams(type === '' || type.startsWith('application/x-www-form-urlencoded') ? raw : '');
    return handleGateway(ctx, mergeParams(url.searchParams, body), res);
  }

  const cashier = CASHIER_PATH.exec(path);
  if (cashier) {
    const trade = sim.book.byCashierId(cashier[1]!);
    if (!trade) return sendHtml(res, 404, errorPage('TRADE_NOT_FOUND', '收银台链接无效 (unknown cashier link)'));
    return cashierRoute(sim, trade, method, req, res);
  }

  if (path.startsWith('/_control/')) return control(sim, path.slice('/_control/'.length), url, method, req, res);
  if (path === '/' && method === 'GET') return sendHtml(res, 200, indexPage(sim.book.trades, (t) => sim.cashierUrl(t)));
  sendJson(res, 404, { error: 'not found' });
}

async function cashierRoute(sim: AlipaySimulator, trade: SimTrade, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (method !== 'GET' && method !== 'POST') return sendHtml(res, 405, errorPage('http.method-not-allowed', 'Use GET or POST.'));
  sim.refresh(trade);
  if (trade.status === 'TRADE_SUCCESS' || trade.status === 'TRADE_FINISHED') return sendHtml(res, 200, closedPage(trade, '该订单已支付 · Already paid'));
  if (trade.status === 'TRADE_CLOSED') return sendHtml(res, 200, closedPage(trade, '交易已关闭 · This trade is closed'));
  const action = sim.cashierUrl(trade);
  if (method === 'GET') return sendHtml(res, 200, cashierPage(trade, action));

  const form = new URLSearchParams(await readBody(req));
  if (form.get('action') === 'cancel') {
    sim.cancelAtCashier(trade);
    const back = trade.quitUrl ?? origin(trade.returnUrl);
    return sendHtml(res, 200, cancelledPage(trade, back));
  }
  const buyer = (form.get('buyer') ?? '').trim();
  if (!buyer || buyer.length > 100) return sendHtml(res, 400, cashierPage(trade, action, '请输入支付宝账号 · Enter an Alipay account.'));
  // The notify goes out in the background; the browser is redirected at once, so notify and return race as in life (§4).
  const paid = sim.payTrade(trade, buyer, 0);
  void paid.first;
  if (paid.returnUrl) return redirect(res, paid.returnUrl);
  sendHtml(res, 200, paidPage(trade));
}

function origin(url: string | null): string | null {
  if (!url) return null;
  try {
    return `${new URL(url).origin}/`;
  } catch {
    return null;
  }
}

/** GET /_control/account: an issued account's demo config (simulators never run beside real accounts). */
function accountRoute(res: ServerResponse, config: object | undefined): void {
  if (!config) return sendJson(res, 404, { error: 'no such account: the gateway has not used it' });
  sendJson(res, 200, { config });
}

const POSTS = ['pay', 'decline', 'renotify', 'finish', 'expire', 'outage'];

async function control(sim: AlipaySimulator, action: string, url: URL, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (method === 'GET') {
    const orderNo = url.searchParams.get('orderNo');
    if (action === 'account') return accountRoute(res, sim.issuedAccountConfig(url.searchParams.get('account') ?? 'default'));
    if (action === 'trades') return sendJson(res, 200, { outage: sim.outage, trades: sim.trades.filter((t) => !orderNo || t.outTradeNo === orderNo) });
    if (action === 'notifications') {
      return sendJson(res, 200, { deliveries: sim.deliveries.filter((d) => !orderNo || d.outTradeNo === orderNo) });
    }
    if (POSTS.includes(action)) return sendJson(res, 405, { error: `use POST for ${action}` });
    return sendJson(res, 404, { error: `unknown control ${action}` });
  }
  if (method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' });
  if (!POSTS.includes(action)) return sendJson(res, 404, { error: `unknown control ${action}` });
  // A body that cannot be read (too large, aborted) keeps its own HttpError status.
  const input = await readJsonObject(req);
  if (!input) return sendJson(res, 400, { error: 'body must be a JSON object' });
  if (action === 'outage') {
    if (typeof input.down !== 'boolean') return sendJson(res, 400, { error: 'down must be true or false' });
    sim.setOutage(input.down);
    return sendJson(res, 200, { outage: sim.outage });
  }
  const { orderNo, appId, buyer, notifyDelayMs } = input;
  if (typeof orderNo !== 'string' || !orderNo) return sendJson(res, 400, { error: 'orderNo is required' });
  if (appId !== undefined && typeof appId !== 'string') return sendJson(res, 400, { error: 'appId must be a string' });
  const options = { appId };
  if (action === 'pay') {
    if (buyer !== undefined && (typeof buyer !== 'string' || !buyer.trim())) return sendJson(res, 400, { error: 'buyer must be a non-empty string' });
    if (notifyDelayMs !== undefined && (typeof notifyDelayMs !== 'number' || !(notifyDelayMs >= 0))) {
      return sendJson(res, 400, { error: 'notifyDelayMs must be a number ≥ 0' });
    }
    return sendJson(res, 200, await sim.pay(orderNo, { ...options, buyer: buyer?.trim(), notifyDelayMs }));
  }
  const result =
    action === 'decline'
      ? await sim.decline(orderNo, options)
      : action === 'renotify'
        ? await sim.renotify(orderNo, options)
        : action === 'finish'
          ? await sim.finish(orderNo, options)
          : await sim.expire(orderNo, options);
  sendJson(res, 200, result);
}
