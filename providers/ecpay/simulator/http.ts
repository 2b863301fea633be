import { html } from '../../../core/html.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import { createRequestHandler, readBody, readJsonObject, send, sendHtml, sendJson } from '../../simulator-kit/http.ts';
import { parseForm } from '../codec.ts';
import { doAction, queryCardTrade, queryPaymentInfo, queryTradeInfo, type ApiAnswer, type ApiContext } from './api.ts';
import { acceptCheckout, CODE_BAD_MAC } from './checkout.ts';
import type { EcpaySimulator } from './index.ts';
import { errorPage, indexPage } from './pages.ts';
import { payPage } from './pay-page.ts';

const PAY_PATH = /^\/pay\/([0-9a-z]{24})\/?$/;

/** §3.6: the HTTP status of ECPay's error page is UNVERIFIED; the page itself says what went wrong. */
export const ERROR_PAGE_STATUS_UNVERIFIED = 200;

const API: Record<string, (ctx: ApiContext, form: Record<string, string>) => ApiAnswer> = {
  '/Cashier/QueryTradeInfo/V5': queryTradeInfo,
  '/Cashier/QueryPaymentInfo': queryPaymentInfo,
  '/CreditDetail/QueryTrade/V2': queryCardTrade,
  '/CreditDetail/DoAction': doAction,
};

export function createHandler(sim: EcpaySimulator, logger: Logger) {
  return createRequestHandler((req, res, url) => route(sim, req, res, url), logger, 'ecpay simulator');
}

async function route(sim: EcpaySimulator, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path === '/Cashier/AioCheckOut/V5') {
    if (method !== 'POST') return sendHtml(res, 405, errorPage('405', 'AioCheckOut takes a form POST from the buyer\'s browser.'));
    const form = parseForm(await readBody(req));
    if (!form) return sendHtml(res, ERROR_PAGE_STATUS_UNVERIFIED, errorPage(CODE_BAD_MAC, 'CheckMacValue Error. (a field was sent twice)'));
    const order = acceptCheckout(sim.book, form, sim.now());
    if ('code' in order) return sendHtml(res, ERROR_PAGE_STATUS_UNVERIFIED, errorPage(order.code, order.message));
    // The pay page gets its own URL, so a reload shows it again instead of posting the form twice.
    res.writeHead(303, { location: sim.payUrl(order), 'cache-control': 'no-store' });
    return void res.end();
  }

  const api = API[path];
  if (api) {
    if (sim.outage) return sendHtml(res, 503, html`<html><body><h1>503 Service Unavailable</h1></body></html>`);
    if (method !== 'POST') return sendHtml(res, 405, errorPage('405', 'Use POST.'));
    const answer = api(sim.api, parseForm(await readBody(req)) ?? {});
    return send(res, answer.status, answer.contentType, answer.body);
  }

  const pay = PAY_PATH.exec(path);
  if (pay) {
    const order = sim.book.byPay(pay[1]!);
    if (!order) return sendHtml(res, 404, errorPage('10200047', 'Cant not find the trade data.'));
    return payPage(sim, order, method, req, res, url);
  }

  if (path.startsWith('/_control/')) return control(sim, path.slice('/_control/'.length), url, method, req, res);
  if (path === '/' && method === 'GET') return sendHtml(res, 200, indexPage(sim.book.orders, (o) => sim.payUrl(o)));
  sendJson(res, 404, { error: 'not found' });
}

const POSTS = ['pay', 'decline', 'issue', 'simulate-paid', 'abandon', 'renotify', 'autoclose', 'outage', 'notify-down'];

async function control(sim: EcpaySimulator, action: string, url: URL, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (method === 'GET') {
    const orderNo = url.searchParams.get('orderNo');
    if (action === 'account') {
      const config = sim.issuedAccountConfig(url.searchParams.get('account') ?? 'default');
      // Simulators never run beside real accounts (core/registry.ts): these are demo keys.
      return config ? sendJson(res, 200, { config }) : sendJson(res, 404, { error: 'no such account: the gateway has not used it' });
    }
    if (action === 'orders') return sendJson(res, 200, { outage: sim.outage, orders: sim.orders.filter((o) => !orderNo || o.merchantTradeNo === orderNo) });
    if (action === 'notifications') return sendJson(res, 200, { deliveries: sim.deliveries.filter((d) => !orderNo || d.merchantTradeNo === orderNo) });
    if (POSTS.includes(action)) return sendJson(res, 405, { error: `use POST for ${action}` });
    return sendJson(res, 404, { error: `unknown control ${action}` });
  }
  if (method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' });
  if (!POSTS.includes(action)) return sendJson(res, 404, { error: `unknown control ${action}` });
  const input = await readJsonObject(req);
  if (!input) return sendJson(res, 400, { error: 'body must be a JSON object' });
  if (action === 'outage' || action === 'notify-down') {
    if (typeof input.down !== 'boolean') return sendJson(res, 400, { error: 'down must be true or false' });
    if (action === 'outage') sim.setOutage(input.down);
    else sim.setNotifyDown(input.down);
    return sendJson(res, 200, { [action === 'outage' ? 'outage' : 'notifyDown']: input.down });
  }
  if (action === 'autoclose') return sendJson(res, 200, { closed: sim.autoClose() });
  const { orderNo, merchantId, bank } = input;
  if (typeof orderNo !== 'string' || !orderNo) return sendJson(res, 400, { error: 'orderNo is required' });
  if (merchantId !== undefined && typeof merchantId !== 'string') return sendJson(res, 400, { error: 'merchantId must be a string' });
  if (bank !== undefined && typeof bank !== 'string') return sendJson(res, 400, { error: 'bank must be a string' });
  const options = { merchantId };
  const result =
    action === 'pay'
      ? await sim.pay(orderNo, options)
      : action === 'decline'
        ? await sim.decline(orderNo, options)
        : action === 'issue'
          ? await sim.issue(orderNo, { ...options, bank })
          : action === 'simulate-paid'
            ? await sim.simulate(orderNo, options)
            : action === 'abandon'
              ? sim.abandonOrder(orderNo, options)
              : await sim.renotify(orderNo, options);
  sendJson(res, 200, result);
}
