import { html } from '../../../core/html.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import { createRequestHandler, readBody, readJsonObject, send, sendHtml, sendJson } from '../../simulator-kit/http.ts';
import type { Api } from './api.ts';
import { isOverdue, type SimOrder } from './bank.ts';
import type { SinopacSimulator } from './index.ts';
import { atmDonePage, atmPage, cardPage, indexPage, messagePage, returnForm, type CardForm } from './pages.ts';
import { luhnValid, taipeiStamp, taipeiText } from './util.ts';

/** `{base}Nonce` / `{base}Order` under any of the known base paths (§1, §13.1). */
const API_PATH = /^\/(?:funBIZ(?:-Sbx)?\/)?QPay\.WebAPI\/api\/(Nonce|Order)\/?$/i;
/** Hosted pages, shaped like the sandbox's `QPay.WebPaySite/Bridge/PayCard?TD={TSNo}&TK={uuid}` (§1). */
const PAGE_PATH = /^\/QPay\.WebPaySite\/Bridge\/(PayCard|PayWebATM|PayOTP)\/?$/i;
/** §11: the sandbox's declined test card is not public; this is the simulator's. */
export const DECLINED_CARD = '4000000000000002';

/** ControlError is an HttpError: a control call that cannot be done is answered with its status. */
export function createHandler(sim: SinopacSimulator, api: Api, logger: Logger) {
  return createRequestHandler((req, res, url) => route(sim, api, req, res, url), logger, 'sinopac simulator');
}

async function route(sim: SinopacSimulator, api: Api, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';

  const apiMatch = API_PATH.exec(path);
  if (apiMatch) {
    // The bank is unreachable: what a client sees from a load balancer with no healthy backend.
    if (sim.outage) return sendHtml(res, 503, html`<html><body><h1>503 Service Unavailable</h1></body></html>`);
    if (method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
    const body = await readBody(req);
    const keyId = header(req, 'x-keyid');
    const reply = apiMatch[1]!.toLowerCase() === 'nonce' ? api.nonce(keyId, body) : api.order(keyId, body);
    return send(res, reply.status, reply.contentType, reply.body);
  }

  const pageMatch = PAGE_PATH.exec(path);
  if (pageMatch) return page(sim, pageMatch[1]!.toLowerCase(), url, method, req, res);

  if (path.startsWith('/_control/')) return control(sim, path.slice('/_control/'.length), url, method, req, res);
  if (path === '/' && method === 'GET') return sendHtml(res, 200, indexPage(sim.bank.orders));
  sendJson(res, 404, { error: 'not found' });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function page(
  sim: SinopacSimulator,
  kind: string,
  url: URL,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const order = sim.bank.orderByTsNo(url.searchParams.get('TD') ?? '');
  const wanted = kind === 'paycard' ? 'C' : 'A';
  if (!order || order.pageToken !== url.searchParams.get('TK') || order.payType !== wanted) {
    return sendHtml(res, 404, messagePage('Not found', 'This payment link is not valid.'));
  }
  if (method !== 'GET' && method !== 'POST') return sendHtml(res, 405, messagePage('Not allowed', 'Use GET or POST.'));
  const closed = closedReason(order);
  if (closed) return sendHtml(res, closed.status, messagePage('Payment not possible', closed.text));
  if (method === 'GET') {
    if (order.card) return sendHtml(res, 200, cardPage(order));
    return sendHtml(res, 200, atmPage(order, kind === 'paywebatm' ? 'PayWebATM' : 'PayOTP', kind === 'paywebatm' ? order.atm!.webAtmUrl : order.atm!.otpUrl));
  }
  const form = new URLSearchParams(await readBody(req));
  const decline = form.get('action') === 'decline';
  if (order.card) {
    let cardNo: string | undefined;
    if (!decline) {
      const read = readCard(form);
      if ('error' in read) return sendHtml(res, 400, cardPage(order, read));
      cardNo = read.cardNo;
    } else {
      const typed = cardDigits(form);
      cardNo = luhnValid(typed) ? typed : undefined;
    }
    const outcome = decline || cardNo === DECLINED_CARD ? 'F' : 'S';
    const result = await sim.settle(order, outcome, 'page', cardNo);
    const heading = outcome === 'S' ? 'Payment approved' : 'Payment declined';
    return sendHtml(res, 200, returnForm(order.returnUrl, order.shopNo, result.payToken, heading));
  }
  if (!decline && kind === 'payotp' && !/^\d{6}$/.test(form.get('OTP') ?? '')) {
    return sendHtml(res, 400, messagePage('Transfer failed', 'The one-time password must be 6 digits.'));
  }
  const result = await sim.settle(order, decline ? 'F' : 'S', 'page');
  sendHtml(res, 200, atmDonePage(order, result.payToken, result.status === 'S'));
}

function closedReason(order: SimOrder): { status: number; text: string } | null {
  if (order.status !== 'unpaid') return { status: 409, text: `Order ${order.orderNo} is already ${order.status}.` };
  if (isOverdue(order, new Date())) {
    return { status: 410, text: `This payment link expired at ${taipeiText(order.deadline)} (Taipei).` };
  }
  return null;
}

function cardDigits(form: URLSearchParams): string {
  const joined = form.get('CardNo') ?? [1, 2, 3, 4].map((i) => form.get(`CardNo${i}`) ?? '').join('');
  return joined.replace(/[\s-]/g, '');
}

function readCard(form: URLSearchParams): { cardNo: string } | (CardForm & { error: string }) {
  const cardNo = cardDigits(form);
  const expireMM = (form.get('ExpireMM') ?? '').trim();
  const expireYY = (form.get('ExpireYY') ?? '').trim();
  const kept = { cardNo: cardNo.slice(0, 19), expireMM: expireMM.slice(0, 2), expireYY: expireYY.slice(0, 2) };
  if (!luhnValid(cardNo)) return { ...kept, error: 'The card number is not valid.' };
  const month = Number(expireMM);
  if (!/^\d{2}$/.test(expireMM) || month < 1 || month > 12 || !/^\d{2}$/.test(expireYY)) {
    return { ...kept, error: 'The expiry date must be MM / YY.' };
  }
  const now = taipeiStamp(new Date());
  if (`20${expireYY}${expireMM}` < now.slice(0, 6)) return { ...kept, error: 'The card has expired.' };
  if (!/^\d{3,4}$/.test((form.get('CVV2') ?? '').trim())) return { ...kept, error: 'The CVV must be 3 or 4 digits.' };
  return { cardNo };
}

async function control(
  sim: SinopacSimulator,
  action: string,
  url: URL,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const posts = ['pay', 'decline', 'renotify', 'outage', 'backend'];
  if (method === 'GET') {
    const orderNo = url.searchParams.get('orderNo');
    if (action === 'account') {
      const config = sim.issuedAccountConfig(url.searchParams.get('account') ?? 'default');
      // Simulators never run beside real accounts (core/registry.ts): these are demo keys.
      return config ? sendJson(res, 200, { config }) : sendJson(res, 404, { error: 'no such account: the gateway has not used it' });
    }
    if (action === 'orders') {
      return sendJson(res, 200, { outage: sim.outage, backendUrlDown: sim.backendUrlDown, orders: sim.orders.filter((o) => !orderNo || o.orderNo === orderNo) });
    }
    if (action === 'deliveries') {
      return sendJson(res, 200, { deliveries: sim.deliveries.filter((d) => !orderNo || d.orderNo === orderNo) });
    }
    if (posts.includes(action)) return sendJson(res, 405, { error: `use POST for ${action}` });
    return sendJson(res, 404, { error: `unknown control ${action}` });
  }
  if (method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' });
  if (!posts.includes(action)) return sendJson(res, 404, { error: `unknown control ${action}` });
  // A body that cannot be read (too large, aborted) is answered as not a JSON object too.
  const input = await readJsonObject(req).catch(() => undefined);
  if (!input) return sendJson(res, 400, { error: 'body must be a JSON object' });
  if (action === 'outage' || action === 'backend') {
    if (typeof input.down !== 'boolean') return sendJson(res, 400, { error: 'down must be true or false' });
    if (action === 'outage') sim.setOutage(input.down);
    else sim.setBackendUrlDown(input.down);
    return sendJson(res, 200, { outage: sim.outage, backendUrlDown: sim.backendUrlDown });
  }
  const { orderNo, shopNo } = input;
  if (typeof orderNo !== 'string' || !orderNo) return sendJson(res, 400, { error: 'orderNo is required' });
  if (shopNo !== undefined && typeof shopNo !== 'string') return sendJson(res, 400, { error: 'shopNo must be a string' });
  const result =
    action === 'pay'
      ? await sim.pay(orderNo, shopNo)
      : action === 'decline'
        ? await sim.decline(orderNo, shopNo)
        : await sim.renotify(orderNo, shopNo);
  sendJson(res, 200, result);
}
