import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../core/logger.ts';
import { parseFormStrict } from '../../kit/index.ts';
import { createRequestHandler, HttpError, readBody, readJsonObject, send, sendHtml, sendJson } from '../../simulator-kit/http.ts';
import { PATHS } from '../codec.ts';
import { cancelAuthorisation, close, queryTradeInfo, type ApiAnswer, type ApiContext } from './api.ts';
import { acceptMpg } from './gateway.ts';
import type { NewebpaySimulator } from './index.ts';
import { CODE_NOT_ISSUED_UNVERIFIED, DECLINE_DEFAULT } from './messages.ts';
import { errorPage, handOffPage, indexPage, outcomePage, tradePage } from './pages.ts';
import type { SimTrade } from './store.ts';

const PAY_PATH = /^\/MPG\/pay\/([0-9a-z]{24})\/?$/;
const NEXT_PATH = /^\/MPG\/next\/([0-9a-z]{24})\/?$/;

/** §10: the HTTP status of NewebPay's MPG error page is UNVERIFIED; the page itself names the code. */
export const ERROR_PAGE_STATUS_UNVERIFIED = 200;

const API: Record<string, (ctx: ApiContext, form: Record<string, string>) => ApiAnswer> = {
  [PATHS.query]: queryTradeInfo,
  [PATHS.cancel]: cancelAuthorisation,
  [PATHS.close]: close,
};

/** A form body; a field named twice is refused as NewebPay could not tell which one was meant. */
function form(text: string): Record<string, string> | null {
  try {
    return parseFormStrict(text);
  } catch {
    return null;
  }
}

export function createHandler(sim: NewebpaySimulator, logger: Logger) {
  return createRequestHandler((req, res, url) => route(sim, req, res, url), logger, 'newebpay simulator');
}

async function route(sim: NewebpaySimulator, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path === PATHS.mpg) {
    if (method !== 'POST') return sendHtml(res, 405, errorPage('405', 'MPG takes a form POST from the buyer\'s browser.'));
    const fields = form(await readBody(req));
    if (!fields) return sendHtml(res, ERROR_PAGE_STATUS_UNVERIFIED, errorPage('MPG03009', '交易失敗 (a field was sent twice)'));
    const trade = acceptMpg({ book: sim.book, now: sim.now(), timestampToleranceSec: sim.timestampToleranceSec }, fields);
    if ('code' in trade) return sendHtml(res, ERROR_PAGE_STATUS_UNVERIFIED, errorPage(trade.code, trade.message));
    // The pay page has its own URL, so a reload shows it again instead of posting the form twice.
    res.writeHead(303, { location: sim.payUrl(trade), 'cache-control': 'no-store' });
    return void res.end();
  }

  const api = API[path];
  if (api) {
    if (method !== 'POST') return sendJson(res, 405, { Status: 'MEM40013', Message: 'Use POST', Result: [] });
    const answer = api(sim.api, form(await readBody(req)) ?? {});
    return send(res, answer.status, answer.contentType, answer.body);
  }

  const pay = PAY_PATH.exec(path);
  if (pay) {
    const trade = sim.book.byPay(pay[1]!);
    if (!trade) return sendHtml(res, 404, errorPage('TRA10021', '查無此筆交易'));
    return payPage(sim, trade, method, req, res);
  }

  const next = NEXT_PATH.exec(path);
  if (next && method === 'GET') {
    const trade = sim.book.byPay(next[1]!);
    const to = url.searchParams.get('to');
    if (!trade || (to !== 'return' && to !== 'customer')) return sendHtml(res, 404, errorPage('TRA10021', '查無此筆交易'));
    return handOff(sim, trade, to, res);
  }

  if (path.startsWith('/_control/')) return control(sim, path.slice('/_control/'.length), url, method, req, res);
  if (path === '/' && method === 'GET') return sendHtml(res, 200, indexPage(sim.book.trades, (t) => sim.payUrl(t)));
  sendJson(res, 404, { error: 'not found' });
}

/** The browser carried on to the shop with the signed fields (§5.2 ReturnURL, §5.3 CustomerURL); NewebPay's own page when the shop gave none. */
function handOff(sim: NewebpaySimulator, trade: SimTrade, to: 'return' | 'customer', res: ServerResponse): void {
  const target = trade.urls[to];
  if (!target) return sendHtml(res, 200, outcomePage(trade, trade.tradeStatus === '2' ? 'bad' : 'good', '交易結果 Result', `TradeStatus ${trade.tradeStatus}`));
  const heading = to === 'customer' ? '取號完成 · Payment details issued' : '交易完成 · Back to the shop';
  sendHtml(res, 200, handOffPage(heading, target, sim.handOffFields(trade, to)));
}

/** /MPG/pay/<id>: the buyer's page; a button acts, then the browser is carried on as NewebPay would. */
async function payPage(sim: NewebpaySimulator, trade: SimTrade, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const self = sim.payUrl(trade);
  if (method === 'GET') return sendHtml(res, 200, tradePage(trade, self));
  if (method !== 'POST') return sendHtml(res, 405, errorPage('405', 'Use GET or POST.'));
  const fields = form(await readBody(req)) ?? {};
  try {
    switch (fields.action) {
      case 'pay':
        await sim.chargeCard(trade, fields.cardNumber || undefined);
        return handOff(sim, trade, 'return', res);
      case 'decline': {
        const card = trade.paymentType === 'CREDIT';
        await sim.fail(trade, card ? DECLINE_DEFAULT : CODE_NOT_ISSUED_UNVERIFIED);
        return handOff(sim, trade, card ? 'return' : 'customer', res);
      }
      case 'issue':
        sim.issueCode(trade);
        return handOff(sim, trade, 'customer', res);
      case 'transfer':
        await sim.settleTransfer(trade);
        res.writeHead(303, { location: self, 'cache-control': 'no-store' });
        return void res.end();
      default:
        throw new HttpError(400, 'Unknown action.');
    }
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return sendHtml(res, err.status, outcomePage(trade, 'bad', '無法執行 Not possible', err.message));
  }
}

const POSTS = ['pay', 'decline', 'renotify', 'issue', 'batch'];

async function control(sim: NewebpaySimulator, action: string, url: URL, method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (method === 'GET') {
    const orderNo = url.searchParams.get('orderNo');
    if (action === 'account') {
      const config = sim.issuedAccountConfig(url.searchParams.get('account') ?? 'default');
      // Simulators never run beside real accounts (core/registry.ts): these are demo keys.
      return config ? sendJson(res, 200, { config }) : sendJson(res, 404, { error: 'no such account: the gateway has not used it' });
    }
    if (action === 'notifications') return sendJson(res, 200, { deliveries: sim.deliveries.filter((d) => !orderNo || d.merchantOrderNo === orderNo) });
    if (POSTS.includes(action)) return sendJson(res, 405, { error: `use POST for ${action}` });
    return sendJson(res, 404, { error: `unknown control ${action}` });
  }
  if (method !== 'POST') return sendJson(res, 405, { error: 'use GET or POST' });
  if (!POSTS.includes(action)) return sendJson(res, 404, { error: `unknown control ${action}` });
  const input = await readJsonObject(req);
  if (!input) return sendJson(res, 400, { error: 'body must be a JSON object' });
  if (action === 'batch') return sendJson(res, 200, { moved: sim.batch() });
  const { orderNo, merchantId, code } = input;
  if (typeof orderNo !== 'string' || !orderNo) return sendJson(res, 400, { error: 'orderNo is required' });
  if (merchantId !== undefined && typeof merchantId !== 'string') return sendJson(res, 400, { error: 'merchantId must be a string' });
  if (code !== undefined && (typeof code !== 'string' || !/^[A-Z0-9]{1,16}$/.test(code))) return sendJson(res, 400, { error: 'code must be a NewebPay code such as MPG05005' });
  const options = { merchantId };
  const result =
    action === 'pay'
      ? await sim.pay(orderNo, options)
      : action === 'decline'
        ? await sim.decline(orderNo, { ...options, code })
        : action === 'issue'
          ? await sim.issue(orderNo, options)
          : await sim.renotify(orderNo, options);
  sendJson(res, 200, result);
}
